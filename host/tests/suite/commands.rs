//! WASI commands run by a request's `[command]`: `_start` on an instance of its own, with the request's arguments,
//! environment and stdin and nothing else of the host's; its stdout, bounded, is the output; its exit status is
//! checked; a command flooding stdout, spinning or taking memory ends with one error naming why.

use crate::support::{fixture_file, quiet_options};
use boundary_host::guest::COMMAND_WASM;
use boundary_host::plugin::{Failure, Plugin, Request, check};
use boundary_host::{EngineProfile, Error, HostOptions, TrapKind, Wasm};
use std::path::Path;
use std::time::Duration;

fn command_wasm() -> Wasm {
    Wasm { name: "command_guest.wasm".into(), bytes: COMMAND_WASM.to_vec(), is_text: false }
}

fn request(text: &str) -> Request {
    Request::parse(text, Path::new(env!("CARGO_TARGET_TMPDIR"))).unwrap()
}

fn load(text: &str, profile: EngineProfile, options: HostOptions) -> Plugin {
    Plugin::load(&command_wasm(), profile, options, &request(text)).unwrap()
}

/// Runs the command once on a fresh instance.
fn run(text: &str, profile: EngineProfile) -> Result<Vec<u8>, Failure> {
    let plugin = load(text, profile, quiet_options());
    let mut instance = plugin.instantiate()?;
    instance.serve(&[]).map(|served| served.output)
}

#[test]
fn stdin_reaches_the_command_and_its_stdout_is_the_output_under_every_profile() {
    let text = "[command]\nargs = [\"upper\"]\nstdin = { text = \"boundary\\n\" }\n[expect]\ntext = \"BOUNDARY\\n\"\n";
    for &profile in EngineProfile::ALL {
        let output = run(text, profile).unwrap_or_else(|e| panic!("{profile}: {e}"));
        assert_eq!(output, b"BOUNDARY\n", "{profile}");
        assert!(check(&request(text), &output).iter().all(|c| c.failed.is_none()), "{profile}");
    }
}

#[test]
fn the_command_sees_its_arguments_and_environment_and_nothing_inherited() {
    assert!(std::env::vars().next().is_some(), "the test process has an environment to leak");
    let args = run("[command]\nargs = [\"args\", \"one two\", \"\"]\n", EngineProfile::Cranelift).unwrap();
    assert_eq!(args, b"one two\n\n");
    let env = run("[command]\nargs = [\"env\"]\n", EngineProfile::Cranelift).unwrap();
    assert_eq!(env, b"", "no environment is inherited");
    let env = run("[command]\nargs = [\"env\"]\nenv = { B = \"2\", A = \"1\" }\n", EngineProfile::Cranelift).unwrap();
    assert_eq!(env, b"A=1\nB=2\n");
}

#[test]
fn no_directory_is_seen_unless_preopened_and_then_read_only() {
    let dir = fixture_file("command-preopen", "hello.txt", b"hello from the host\n").parent().unwrap().to_path_buf();
    let err = run("[command]\nargs = [\"cat\", \"hello.txt\"]\n", EngineProfile::Cranelift).unwrap_err();
    assert!(err.to_string().contains("exited with status 70"), "{err}");
    let preopen = format!("preopen = {{ dir = {:?} }}\n", dir.display().to_string());
    let cat = format!("[command]\nargs = [\"cat\", \"hello.txt\"]\n{preopen}");
    assert_eq!(run(&cat, EngineProfile::Cranelift).unwrap(), b"hello from the host\n");
    let ls = format!("[command]\nargs = [\"ls\", \".\"]\n{preopen}");
    assert!(String::from_utf8(run(&ls, EngineProfile::Cranelift).unwrap()).unwrap().lines().any(|l| l == "hello.txt"));
    let write = format!("[command]\nargs = [\"write\", \"made.txt\"]\n{preopen}");
    let said = String::from_utf8(run(&write, EngineProfile::Cranelift).unwrap()).unwrap();
    assert!(said.starts_with("could not write"), "{said}");
    assert!(!dir.join("made.txt").exists(), "the guest wrote into a read-only directory");
    let elsewhere = format!(
        "[command]\nargs = [\"cat\", \"hello.txt\"]\npreopen = {{ dir = {:?}, as = \"/data\" }}\n",
        dir.display().to_string()
    );
    let err = run(&elsewhere, EngineProfile::Cranelift).unwrap_err();
    assert!(err.to_string().contains("exited with status 70"), "seen at /data, not at .: {err}");
}

#[test]
fn an_exit_status_other_than_the_expected_one_is_a_reported_failure() {
    let err = run("[command]\nargs = [\"exit\", \"3\"]\n", EngineProfile::Cranelift).unwrap_err();
    assert!(matches!(&err, Failure::Reported(why) if why.contains("status 3") && why.contains("expects 0")), "{err}");
    assert!(run("[command]\nargs = [\"exit\", \"3\"]\nexit = 3\n", EngineProfile::Cranelift).is_ok());
    let err = run("[command]\nargs = [\"exit\", \"0\"]\nexit = 3\n", EngineProfile::Cranelift).unwrap_err();
    assert!(err.to_string().contains("status 0"), "{err}");
}

#[test]
fn stdout_of_exactly_max_stdout_bytes_is_kept_and_one_more_ends_the_command() {
    assert_eq!(run("[command]\nargs = [\"args\", \"x\"]\nmax_stdout = 2\n", EngineProfile::Cranelift).unwrap(), b"x\n");
    let err = run("[command]\nargs = [\"args\", \"xy\"]\nmax_stdout = 2\n", EngineProfile::Cranelift).unwrap_err();
    assert!(matches!(err, Failure::Guest(Error::Trap { trap: TrapKind::StdoutLimit(2), .. })), "{err}");
}

#[test]
fn a_module_without_a_command_s_entry_point_is_refused_naming_it() {
    let refused = |text: &str, needle: &str| {
        let wasm = Wasm::wat("entry.wat", text);
        let err = Plugin::load(&wasm, EngineProfile::Cranelift, quiet_options(), &request("[command]\n")).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    };
    let memory = "(memory (export \"memory\") 1)";
    refused(&format!("(module {memory} (func (export \"_start\") (param i32)))"), "a WASI command's entry point");
    refused(&format!("(module {memory} (func (export \"_start\") (result i32) (i32.const 0)))"), "() -> ()");
    refused(&format!("(module {memory} (func (export \"_initialize\")))"), "so it is a reactor");
    refused(&format!("(module {memory})"), "the entry point of a WASI command");
}

#[test]
fn a_command_runs_once_per_instance() {
    let plugin = load("[command]\nargs = [\"args\", \"x\"]\n", EngineProfile::Cranelift, quiet_options());
    let mut instance = plugin.instantiate().unwrap();
    assert_eq!(instance.serve(&[]).unwrap().output, b"x\n");
    let again = instance.serve(&[]).unwrap_err();
    assert!(matches!(&again, Failure::Guest(Error::CommandRan { .. })), "{again}");
    assert!(again.to_string().contains("once per instance"), "{again}");
    assert_eq!(plugin.instantiate().unwrap().serve(&[]).unwrap().output, b"x\n", "a new instance runs it again");
}

#[test]
fn a_command_flooding_stdout_ends_at_its_bound_under_every_profile() {
    for &profile in EngineProfile::ALL {
        let err = run("[command]\nargs = [\"flood\"]\nmax_stdout = 4096\n", profile).unwrap_err();
        match &err {
            Failure::Guest(Error::Trap { export, trap: TrapKind::StdoutLimit(4096) }) => assert_eq!(export, "_start"),
            other => panic!("{profile}: {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("more than 4096 bytes to stdout") && !text.contains('\n'), "{profile}: {text}");
    }
}

#[test]
fn a_spinning_command_ends_at_its_deadline_and_a_growing_one_at_the_budget() {
    let plugin = load("[command]\nargs = [\"spin\"]\n", EngineProfile::Epoch, quiet_options());
    let mut instance = plugin.instantiate().unwrap();
    let err = instance.with_deadline(Duration::from_millis(200), |i| i.serve(&[])).unwrap().unwrap_err();
    assert!(err.to_string().contains("deadline passed"), "{err}");
    let options = HostOptions { max_memory: Some(32 << 20), trap_on_grow_failure: true, ..quiet_options() };
    let plugin = load("[command]\nargs = [\"grow\"]\n", EngineProfile::Cranelift, options);
    let err = plugin.instantiate().unwrap().serve(&[]).unwrap_err();
    assert!(matches!(&err, Failure::Guest(e) if e.is_memory_limit()), "{err}");
    // Without the trap, `memory.grow` fails and the guest's allocator aborts: a trap of its own.
    let options = HostOptions { max_memory: Some(32 << 20), ..quiet_options() };
    let plugin = load("[command]\nargs = [\"grow\"]\n", EngineProfile::Cranelift, options);
    let err = plugin.instantiate().unwrap().serve(&[]).unwrap_err();
    assert!(
        matches!(&err, Failure::Guest(e) if e.trap_code() == Some(boundary_host::wasmtime::Trap::UnreachableCodeReached)),
        "{err}"
    );
}

#[test]
fn a_bad_command_table_is_named() {
    let bad = |text: &str, needle: &str| {
        let err = Request::parse(text, Path::new("/")).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
    };
    bad("[command]\n[call]\nexport = \"f\"\n", "more than one of [call], [command] and [invoke]");
    bad("module = \"m.wasm\"\n", "needs [call]");
    bad("[command]\n[[input]]\nname = \"a\"\ntext = \"x\"\nat = 0\n", "[[input]] do not apply");
    bad("[command]\nmax_stdout = 0\n", "max_stdout = 0");
    bad("[command]\nargs = [\"a\\u0000b\"]\n", "NUL");
    bad("[command]\nenv = { \"A=B\" = \"c\" }\n", "not a name");
    bad("[command]\nstdin = { text = \"a\", hex = \"00\" }\n", "exactly one");
    bad("[command]\npreopen = { dir = \"/no/such/dir\" }\n", "/no/such/dir");
    bad("[command]\nsteps = 1\n", "steps");
    bad("[command]\nexit = 126\n", "0 to 125");
    bad("[command]\nexit = -1\n", "0 to 125");
}

#[test]
fn a_command_request_written_back_reads_the_same() {
    let dir = fixture_file("command-preopen", "hello.txt", b"hello from the host\n").parent().unwrap().to_path_buf();
    let text = format!(
        "[command]\nprogram = \"p\"\nargs = [\"upper\", \"x y\"]\nenv = {{ K = \"v\" }}\nstdin = {{ hex = \"00ff\" }}\n\
         exit = 2\nmax_stdout = 100\npreopen = {{ dir = {:?}, as = \"/d\" }}\n[expect]\ntext = \"X\"\n",
        dir.display().to_string()
    );
    let first = request(&text);
    let again = Request::parse(&first.to_toml(None, &[]), Path::new("/elsewhere")).unwrap();
    assert_eq!(again.command, first.command);
    assert_eq!(again.call, first.call);
}
