//! Guard rails: every way a guest or its input can go wrong, what the host core makes of it, and what the main job
//! (`boundary --wasm`) prints. Each case observes a real outcome and compares it with the expected one; the table
//! in `host/README.md`'s "Guard rails" section is generated from the same cases, and the test fails when the two
//! differ. After a deliberate change, `BOUNDARY_BLESS=1 cargo test --release guard_rails` rewrites that table.

use crate::support::{memoryless_abi, mutated_wat, quiet_options};
use boundary_host::guest::export;
use boundary_host::wasmtime::{self, Trap};
use boundary_host::{
    EngineProfile, Error, Grown, GuestComponent, GuestModule, HostOptions, MemoryError, TABLE_ELEMENT_BYTES, TrapKind,
    WasmHost,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The body of `just_add` in the ABI fixture, which most cases replace.
const JUST_ADD: &str =
    "(func (export \"just_add\") (param i64 i64) (result i64)\n    (i64.add (local.get 0) (local.get 1)))";

/// The ABI fixture with `just_add`'s body replaced, and `extra` (types, tables, imports) inserted before the memory.
fn abi_with_just_add(body: &str, extra: &str) -> String {
    let just_add = format!("(func $just_add (export \"just_add\") (param i64 i64) (result i64)\n    {body})");
    let memory = "(memory (export \"memory\") 1)";
    mutated_wat(&[(JUST_ADD, &just_add), (memory, &format!("{extra}\n  {memory}"))])
}

fn fixture_file(name: &str, contents: &[u8]) -> PathBuf {
    crate::support::fixture_file("guard-rails", name, contents)
}

fn load(text: &str, profile: EngineProfile, options: HostOptions) -> GuestModule {
    GuestModule::from_wat("guard.wat", text, profile, options).unwrap()
}

/// The variant of an error, as `Error::Name`.
fn variant(err: &Error) -> String {
    let debug = format!("{err:?}");
    let end = debug.find([' ', '(', '{']).unwrap_or(debug.len());
    format!("`Error::{}`", &debug[..end])
}

/// What `boundary --quiet --wasm PATH ARGS...` did, checked to be bad input: exit status 2, exactly one line on
/// stderr starting with `error:` and containing `needle`, no panic or backtrace.
fn main_job(path: &Path, args: &[&str], needle: &str) -> String {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_boundary"))
        .args(["--quiet", "--wasm", path.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    match crate::support::bad_input_line(&out, needle) {
        Ok(()) => {
            let flags = if args.is_empty() { String::new() } else { format!(" (`{}`)", args.join(" ")) };
            format!("exit 2, one line{flags}")
        }
        Err(e) => format!("UNEXPECTED: {e}"),
    }
}

/// A guard-rail case: what goes wrong, and the observed outcome in the host core and in the main job.
struct Case {
    what: &'static str,
    observe: fn() -> Observed,
    expected_core: &'static str,
    expected_main: &'static str,
}

struct Observed {
    core: String,
    main: String,
}

fn observed(core: impl Into<String>, main: impl Into<String>) -> Observed {
    Observed { core: core.into(), main: main.into() }
}

// 1. Bytes that are not a module.

fn file_error(name: &str, bytes: &[u8]) -> Observed {
    let path = fixture_file(name, bytes);
    let err = GuestModule::from_file(&path, EngineProfile::Cranelift, quiet_options()).unwrap_err();
    let names_file = err.to_string().contains(path.to_str().unwrap());
    let core = if names_file { format!("{}, naming the file", variant(&err)) } else { format!("{err:?}") };
    observed(core, main_job(&path, &[], path.to_str().unwrap()))
}

fn random_bytes() -> Observed {
    // A fixed xorshift stream: random-looking, the same every run.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    file_error("random.wasm", &bytes)
}

fn truncated_module() -> Observed {
    let whole = boundary_host::guest::QUIET_WASM;
    file_error("truncated.wasm", &whole[..whole.len() / 2])
}

fn empty_file() -> Observed {
    file_error("empty.wasm", b"")
}

// 2. and 3. Modules that do not fit the host.

fn wat_error(name: &str, text: &str, detail: impl Fn(&Error) -> Option<String>) -> Observed {
    let path = fixture_file(name, text.as_bytes());
    let err = GuestModule::from_file(&path, EngineProfile::Cranelift, quiet_options()).unwrap_err();
    let core = detail(&err).map_or_else(|| format!("{err:?}"), |d| format!("{}: {d}", variant(&err)));
    let needle = err.to_string();
    observed(core, main_job(&path, &[], &needle))
}

fn missing_memory() -> Observed {
    let text = mutated_wat(&[("(memory (export \"memory\") 1)", "(memory 1)")]);
    wat_error("no-memory.wat", &text, |e| match e {
        Error::MissingExport { export, kind, .. } => Some(format!("`{export}` ({kind})")),
        _ => None,
    })
}

fn missing_function() -> Observed {
    let mut names = Vec::new();
    let mut last = None;
    for f in export::REQUIRED {
        let text = mutated_wat(&[(&format!("(export \"{}\")", f.name), "(export \"renamed\")")]);
        let err = GuestModule::from_wat("guard.wat", &text, EngineProfile::Cranelift, quiet_options()).unwrap_err();
        if let Error::MissingExport { export, .. } = &err
            && export == f.name
        {
            names.push(f.name);
        }
        last = Some(text);
    }
    let named = if names.len() == export::REQUIRED.len() {
        format!("each of the {} required exports named", names.len())
    } else {
        format!("only {names:?} named")
    };
    let path = fixture_file("no-export.wat", last.unwrap().as_bytes());
    let main = main_job(&path, &[], export::REQUIRED.last().unwrap().name);
    observed(format!("`Error::MissingExport`, {named}"), main)
}

fn wrong_signature() -> Observed {
    let text = mutated_wat(&[(JUST_ADD, "(func (export \"just_add\") (param i32 i64) (result i64) (local.get 1))")]);
    wat_error("wrong-signature.wat", &text, |e| match e {
        Error::WrongSignature { export, expected, found, .. } => {
            Some(format!("`{export}`, expected {expected}, found {found}"))
        }
        _ => None,
    })
}

fn unknown_import() -> Observed {
    let text = mutated_wat(&[("(memory", "(import \"env\" \"host_explode\" (func))\n  (memory")]);
    wat_error("unknown-import.wat", &text, |e| match e {
        Error::UnknownImport { import_module, field, .. } => Some(format!("`{import_module}::{field}`")),
        _ => None,
    })
}

fn memory_kind(name: &str, memory: &str, detail: fn(&Error) -> Option<String>) -> Observed {
    wat_error(name, &memoryless_abi(memory), detail)
}

fn unsupported(e: &Error) -> Option<String> {
    match e {
        Error::UnsupportedMemory { reason, .. } => Some(reason.clone()),
        _ => None,
    }
}

/// A compile error whose message names `what` (this build of wasmtime has the proposal off).
fn compile_naming(e: &Error, what: &str) -> Option<String> {
    match e {
        Error::Compile { message, .. } if message.contains(what) => Some(format!("naming {what}")),
        _ => None,
    }
}

fn memory64() -> Observed {
    memory_kind("memory64.wat", "(memory (export \"memory\") i64 17)", unsupported)
}

fn two_memories() -> Observed {
    memory_kind("two-memories.wat", "(memory (export \"memory\") 17) (memory 1)", unsupported)
}

fn shared_memory() -> Observed {
    memory_kind("shared.wat", "(memory (export \"memory\") 17 17 shared)", |e| compile_naming(e, "shared memories"))
}

fn small_pages() -> Observed {
    memory_kind("pagesize.wat", "(memory (export \"memory\") 65536 (pagesize 1))", |e| compile_naming(e, "page size"))
}

// 4. Guest traps.

/// Each trap: a `just_add` body that raises it, extra module items it needs, and the code it must surface as.
const TRAPS: &[(&str, &str, &str, Trap)] = &[
    ("unreachable", "unreachable", "", Trap::UnreachableCodeReached),
    ("out-of-bounds load", "(i64.load (i32.const -8))", "", Trap::MemoryOutOfBounds),
    (
        "integer divide by zero",
        "(i64.div_s (local.get 0) (i64.sub (local.get 1) (local.get 1)))",
        "",
        Trap::IntegerDivisionByZero,
    ),
    ("integer overflow", "(i64.div_s (i64.const -9223372036854775808) (i64.const -1))", "", Trap::IntegerOverflow),
    ("invalid conversion", "(i64.trunc_f64_s (f64.const nan))", "", Trap::BadConversionToInteger),
    ("stack overflow", "(call $just_add (local.get 0) (local.get 1))", "", Trap::StackOverflow),
    (
        "indirect call to null",
        "(call_indirect (type $returns_i64) (i32.const 0))",
        "(type $returns_i64 (func (result i64)))\n  (table 1 funcref)",
        Trap::IndirectCallToNull,
    ),
];

/// The trap of one `TRAPS` entry under every engine profile, and through the main job.
fn trap(index: usize) -> Observed {
    let (name, body, extra, code) = TRAPS[index];
    let text = abi_with_just_add(body, extra);
    let mut wrong = Vec::new();
    for &profile in EngineProfile::ALL {
        let mut host = load(&text, profile, quiet_options()).instantiate().unwrap();
        match host.just_add(15, 27) {
            Err(Error::Trap { trap: TrapKind::Wasm(got), .. }) if got == code => {}
            other => wrong.push(format!("{profile}: {other:?}")),
        }
    }
    let core = if wrong.is_empty() {
        format!("`TrapKind::Wasm(Trap::{code:?})` under all {} profiles", EngineProfile::ALL.len())
    } else {
        format!("wrong under {wrong:?}")
    };
    let path = fixture_file(&format!("trap-{}.wat", name.replace(' ', "-")), text.as_bytes());
    observed(core, main_job(&path, &[], "trapped"))
}

// 5. A guest that never returns.

const SPIN: &str = "(loop $forever (br $forever))\n    unreachable";

/// After a runaway call was stopped, the host carries on: a fresh instance answers.
fn carries_on(host: &mut WasmHost) -> &'static str {
    let discarded = matches!(host.just_add(1, 1), Err(Error::StoreDiscarded { .. }));
    let after_reset = host.reset().is_ok() && host.simple_add(15, 27).ok() == Some(42);
    if discarded && after_reset { "; a fresh instance then answers" } else { "; the host did NOT carry on" }
}

fn runaway_fuel() -> Observed {
    const FUEL: u64 = 1_000_000;
    let text = abi_with_just_add(SPIN, "");
    let options = HostOptions { fuel: FUEL, ..quiet_options() };
    let guest = load(&text, EngineProfile::Fuel, options);
    // Deterministic: every run stops at the same instruction, with the whole budget spent.
    let mut spent = Vec::new();
    let mut codes = Vec::new();
    let mut host = guest.instantiate().unwrap();
    for _ in 0..2 {
        host.reset().unwrap();
        let before = host.store().get_fuel().unwrap();
        codes.push(host.just_add(15, 27).err().and_then(|e| e.trap_code()));
        spent.push(before - host.store().get_fuel().unwrap());
    }
    let core = if codes.iter().all(|c| *c == Some(Trap::OutOfFuel)) && spent == [FUEL, FUEL] {
        format!(
            "`TrapKind::Wasm(Trap::OutOfFuel)` after exactly its {FUEL} units of fuel, every run{}",
            carries_on(&mut host)
        )
    } else {
        format!("codes {codes:?}, fuel spent {spent:?}")
    };
    let path = fixture_file("runaway-fuel.wat", text.as_bytes());
    observed(core, main_job(&path, &["--profile", "fuel", "--fuel", "1000000"], "fuel"))
}

fn runaway_epoch() -> Observed {
    const DEADLINE: Duration = Duration::from_millis(100);
    /// Generous: the deadline is 100 ms; this only guards against "never".
    const BOUND: Duration = Duration::from_secs(10);
    let text = abi_with_just_add(SPIN, "");
    let mut host = load(&text, EngineProfile::Epoch, quiet_options()).instantiate().unwrap();
    let started = Instant::now();
    let result = host.with_deadline(DEADLINE, |h| h.just_add(15, 27));
    let took = started.elapsed();
    let core = match result {
        Ok(Err(e)) if e.trap_code() == Some(Trap::Interrupt) && took >= DEADLINE && took < BOUND => format!(
            "`TrapKind::Wasm(Trap::Interrupt)` once a {} ms deadline passes (well within {} s){}",
            DEADLINE.as_millis(),
            BOUND.as_secs(),
            carries_on(&mut host)
        ),
        other => format!("{other:?} after {took:?}"),
    };
    let path = fixture_file("runaway-epoch.wat", text.as_bytes());
    observed(core, main_job(&path, &["--profile", "epoch", "--timeout", "0.1"], "interrupt"))
}

fn runaway_other_profiles() -> Observed {
    let text = abi_with_just_add(SPIN, "");
    let mut host = load(&text, EngineProfile::Cranelift, quiet_options()).instantiate().unwrap();
    let core = match host.with_deadline(Duration::from_millis(100), |h| h.just_add(15, 27)) {
        Err(Error::NoDeadline { profile }) => {
            format!("`Error::NoDeadline` for `{profile}` and the other profiles: their code cannot be interrupted")
        }
        other => format!("{other:?}"),
    };
    let path = fixture_file("runaway.wat", text.as_bytes());
    // The same outcome under each: shown once, with the profile as `P`.
    let mut main: Vec<String> = ["cranelift", "winch", "pulley"]
        .iter()
        .map(|p| {
            let seen = main_job(&path, &["--profile", p, "--timeout", "0.5"], "did not finish within 0.5 s");
            seen.replace(&format!("--profile {p} "), "--profile P ")
        })
        .collect();
    main.dedup();
    observed(core, main.join(" / "))
}

fn runaway_start() -> Observed {
    let memory = "(memory (export \"memory\") 1)";
    let text = mutated_wat(&[(memory, &format!("{memory}\n  (func $spin (loop $l (br $l)))\n  (start $spin)"))]);
    let guest = load(&text, EngineProfile::Epoch, quiet_options());
    let core = match guest.instantiate_with_deadline(Duration::from_millis(100)) {
        Err(Error::StartTrapped { trap: TrapKind::Wasm(Trap::Interrupt), .. }) => {
            "`Error::StartTrapped` with `Trap::Interrupt` (`GuestModule::instantiate_with_deadline`, `epoch` profile)"
                .to_string()
        }
        other => format!("{other:?}"),
    };
    let path = fixture_file("runaway-start.wat", text.as_bytes());
    let epoch = main_job(&path, &["--profile", "epoch", "--timeout", "0.5"], "the start function");
    let other = main_job(&path, &["--profile", "winch", "--timeout", "0.5"], "instantiating");
    observed(core, format!("{epoch} / {other}"))
}

fn blocked_in_host_call() -> Observed {
    let sleep = "(i32.store (i32.const 2064) (i32.const 1))
    (i64.store (i32.const 2072) (i64.const 3600000000000))
    (drop (call $poll (i32.const 2048) (i32.const 4096) (i32.const 1) (i32.const 8192)))
    (i64.const 42)";
    let import =
        "(import \"wasi_snapshot_preview1\" \"poll_oneoff\" (func $poll (param i32 i32 i32 i32) (result i32)))";
    let text = abi_with_just_add(sleep, import);
    let path = fixture_file("sleeping.wat", text.as_bytes());
    let main = main_job(&path, &["--profile", "epoch", "--timeout", "0.5"], "did not stop when interrupted");
    observed("(no deadline in the core: an epoch check cannot reach host code)", main)
}

// 6. A guest that grows memory without bound.

/// `just_add` grows memory a page at a time, touching every 4 KiB of each new page so that it is resident, until
/// growth fails; it returns the number of pages it ended with.
const GROW_FOREVER: &str = "(local $p i32)
    (block $full
      (loop $grow
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $p (i32.mul (i32.sub (memory.size) (i32.const 1)) (i32.const 65536)))
        (loop $touch
          (i32.store8 (local.get $p) (i32.const 1))
          (local.set $p (i32.add (local.get $p) (i32.const 4096)))
          (br_if $touch (i32.rem_u (local.get $p) (i32.const 65536))))
        (br $grow)))
    (i64.extend_i32_u (memory.size))";

const CAP_MIB: usize = 64;

fn capped(trap_on_grow_failure: bool) -> HostOptions {
    HostOptions { max_memory: Some(CAP_MIB << 20), trap_on_grow_failure, ..quiet_options() }
}

fn grow_fails() -> Observed {
    let text = abi_with_just_add(GROW_FOREVER, "");
    let mut host = load(&text, EngineProfile::Cranelift, capped(false)).instantiate().unwrap();
    let pages = host.just_add(0, 0);
    let core = match pages {
        Ok(p) if p as usize * 65536 == CAP_MIB << 20 && host.memory_size() == CAP_MIB << 20 => {
            format!("the guest's `memory.grow` returns -1 at the {CAP_MIB} MiB cap; it carries on with {p} pages")
        }
        other => format!("{other:?}, memory {} bytes", host.memory_size()),
    };
    let path = fixture_file("grow-forever.wat", text.as_bytes());
    observed(core, main_job(&path, &["--max-memory", "64"], "memory"))
}

fn grow_traps() -> Observed {
    let text = abi_with_just_add(GROW_FOREVER, "");
    let mut host = load(&text, EngineProfile::Cranelift, capped(true)).instantiate().unwrap();
    let core = match host.just_add(0, 0) {
        Err(Error::Trap { trap: TrapKind::MemoryLimit(limit), .. })
            if limit.limit == CAP_MIB << 20 && host.memory_size() == CAP_MIB << 20 =>
        {
            format!("`TrapKind::MemoryLimit` when growth would pass the {CAP_MIB} MiB cap{}", carries_on(&mut host))
        }
        other => format!("{other:?}"),
    };
    observed(core, "(as above: the main job traps on growth past `--max-memory`)")
}

/// The peak resident memory of this process, in bytes (Linux: `VmHWM`), and the current (`VmRSS`).
fn resident() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

const CHILD_VARIABLE: &str = "BOUNDARY_GUARD_RAILS_CHILD";

/// Run in a child process of its own (see `peak_memory`), so that no other test's memory is counted.
#[test]
#[ignore = "run by `guard_rails` in a child process"]
fn peak_memory_child() {
    if std::env::var_os(CHILD_VARIABLE).is_none() {
        return;
    }
    let text = abi_with_just_add(GROW_FOREVER, "");
    let mut host = load(&text, EngineProfile::Cranelift, capped(false)).instantiate().unwrap();
    let (_, before) = resident().unwrap();
    let pages = host.just_add(0, 0).unwrap();
    let (peak, _) = resident().unwrap();
    println!("guard-rails-measure: pages={pages} before={before} peak={peak}");
}

fn peak_memory() -> Observed {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "guard_rails::peak_memory_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_VARIABLE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let marker = "guard-rails-measure: ";
    let measure = stdout.lines().find_map(|l| l.find(marker).map(|at| &l[at + marker.len()..]));
    let value = |name: &str| -> Option<u64> {
        measure?.split(' ').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    };
    let (Some(pages), Some(before), Some(peak)) = (value("pages"), value("before"), value("peak")) else {
        return observed(
            format!("the child printed no measurement: {stdout} {}", String::from_utf8_lossy(&out.stderr)),
            "",
        );
    };
    let grew_mib = peak.saturating_sub(before) as f64 / (1 << 20) as f64;
    eprintln!("guard rails: peak resident memory grew by {grew_mib:.1} MiB under a {CAP_MIB} MiB cap");
    // The guest touched every page it got, so the growth is real and shows up; and it stops at the cap, not at
    // the 4 GiB the guest asked for.
    let cap = CAP_MIB as f64;
    let core = if pages as usize * 65536 == CAP_MIB << 20 && grew_mib > cap * 0.75 && grew_mib < cap + 32.0 {
        format!(
            "peak resident memory grows by the cap (between {} and {} MiB), not by the 4 GiB asked for",
            cap * 0.75,
            cap + 32.0
        )
    } else {
        format!("pages {pages}, peak resident memory grew by {grew_mib:.1} MiB")
    };
    observed(core, "(as above)")
}

// 7. Host functions that fail.

/// The ABI fixture whose `just_add` calls the host function `test::name` first, loaded with that function defined.
fn with_failing_host_func(name: &str) -> WasmHost {
    let text = abi_with_just_add(
        "(call $failing)\n    (i64.add (local.get 0) (local.get 1))",
        &format!("(import \"test\" \"{name}\" (func $failing))"),
    );
    let profile = EngineProfile::Cranelift;
    let engine = profile.engine().unwrap();
    let guest = GuestModule::load_with_linker(
        "guard.wat".to_string(),
        text.as_bytes(),
        true,
        profile,
        &engine,
        quiet_options(),
        |linker| {
            linker.func_wrap("test", "fails", || -> wasmtime::Result<()> {
                Err(wasmtime::format_err!("the host refused"))
            })?;
            linker.func_wrap("test", "panics", || -> wasmtime::Result<()> {
                panic!("a host function panicked on purpose")
            })?;
            Ok(())
        },
    )
    .unwrap();
    guest.instantiate().unwrap()
}

fn host_func_error() -> Observed {
    let mut host = with_failing_host_func("fails");
    let core = match host.just_add(15, 27) {
        Err(Error::Trap { trap: TrapKind::Host(message), .. }) if message.contains("the host refused") => {
            format!("`TrapKind::Host` with the function's error{}", carries_on(&mut host))
        }
        other => format!("{other:?}"),
    };
    observed(core, "not reachable: the main job's host functions never fail")
}

fn host_func_panic() -> Observed {
    let mut host = with_failing_host_func("panics");
    let core = match host.just_add(15, 27) {
        Err(Error::Trap { trap: TrapKind::HostPanic(message), .. }) if message.contains("on purpose") => {
            format!("`TrapKind::HostPanic` with the panic's message, caught at the call{}", carries_on(&mut host))
        }
        other => format!("{other:?}"),
    };
    observed(core, "not reachable: the main job's host functions never panic")
}

// 8. Calls after a trap.

fn call_after_trap() -> Observed {
    let text = abi_with_just_add("unreachable", "");
    let mut host = load(&text, EngineProfile::Cranelift, quiet_options()).instantiate().unwrap();
    let first = host.just_add(15, 27);
    let later = host.simple_add(1, 1);
    let core = match (&first, &later) {
        (Err(Error::Trap { .. }), Err(Error::StoreDiscarded { export })) if export == "just_add" => {
            format!("every later call is `Error::StoreDiscarded` naming `{export}`{}", carries_on(&mut host))
        }
        _ => format!("{first:?}, then {later:?}"),
    };
    observed(core, "exit 2 at the first trap, one line (case 4)")
}

// 9. A hostile pointer to the guest static.

fn hostile_pointer() -> Observed {
    // The fixture's memory is one page; the main job grows it by one more for pattern 3 before pattern 4, where
    // 65534 is in bounds but misaligned.
    let pointers = [
        (-1i64, "-1"),
        (i32::MAX as i64 - 3, "2 GiB, past the end"),
        (65534, "2 bytes before the end"),
        (1025, "1025, misaligned"),
    ];
    let mut outcomes = Vec::new();
    let mut main = Vec::new();
    for (ptr, name) in pointers {
        let text = mutated_wat(&[(
            "(func (export \"get_plugin_shared_value_ptr\") (result i32)\n    (i32.const 1024))",
            &format!("(func (export \"get_plugin_shared_value_ptr\") (result i32)\n    (i32.const {ptr}))"),
        )]);
        let mut host = load(&text, EngineProfile::Cranelift, quiet_options()).instantiate().unwrap();
        let offset = ptr as u32 as usize;
        let outcome = match host.plugin_shared_value_offset() {
            Err(Error::Memory(MemoryError { offset: o, len: 4, memory_size: m })) if o == offset && m == 65536 => {
                "`MemoryError`"
            }
            Err(Error::MisalignedPointer { offset: o, align: 4, .. }) if o == offset => "`Error::MisalignedPointer`",
            other => return observed(format!("{name}: {other:?}"), ""),
        };
        outcomes.push(format!("{name}: {outcome}"));
        let path = fixture_file(&format!("hostile-{ptr}.wat"), text.as_bytes());
        let one = main_job(&path, &[], "pattern 4");
        if !main.contains(&one) {
            main.push(one);
        }
    }
    observed(outcomes.join("; "), main.join(" / "))
}

/// Under every profile, what `observe` makes of the host core's outcome, the same for all, or the first that
/// differs with its profile.
fn same_under_every_profile(observe: impl Fn(EngineProfile) -> String) -> String {
    let first = observe(EngineProfile::ALL[0]);
    for &profile in &EngineProfile::ALL[1..] {
        let seen = observe(profile);
        if seen != first {
            return format!("{first} under {}, but under {profile}: {seen}", EngineProfile::ALL[0]);
        }
    }
    format!("{first} under all {} profiles", EngineProfile::ALL.len())
}

fn table_grows_forever() -> Observed {
    let text = crate::hostile::table_bomb();
    let core = same_under_every_profile(|profile| {
        let mut host = load(&text, profile, capped(true)).instantiate().unwrap();
        match host.just_add(0, 0) {
            Err(Error::Trap { trap: TrapKind::MemoryLimit(l), .. }) if l.grown == Grown::Table => {
                format!("`TrapKind::MemoryLimit` for the table ({} bytes an element)", TABLE_ELEMENT_BYTES)
            }
            other => format!("{other:?}"),
        }
    });
    let path = fixture_file("table-bomb.wat", text.as_bytes());
    observed(core, main_job(&path, &["--max-memory", "64"], "--max-memory 64"))
}

fn exceptions_kept_forever() -> Observed {
    let text = crate::support::exception_bomb(crate::support::BombIn::JustAdd);
    let (held, refused) = ("`TrapKind::MemoryLimit` for the GC heap", "refused at load, named");
    let observe = |profile: EngineProfile| match GuestModule::from_wat("guard.wat", &text, profile, capped(true)) {
        Err(Error::Compile { message, .. }) if message.contains(&format!("engine profile `{profile}`")) => {
            refused.to_string()
        }
        Ok(guest) => match guest.instantiate().unwrap().just_add(0, 0) {
            Err(Error::Trap { trap: TrapKind::MemoryLimit(l), .. }) if l.grown == Grown::GcHeap => held.to_string(),
            other => format!("{other:?}"),
        },
        Err(other) => format!("{other:?}"),
    };
    // Winch is the one profile without exception handling; every other one holds the GC heap inside the budget.
    let odd: Vec<String> = EngineProfile::ALL
        .iter()
        .map(|&profile| (profile, observe(profile), if profile.runs_exceptions() { held } else { refused }))
        .filter(|(_, seen, expected)| seen != expected)
        .map(|(profile, seen, _)| format!("under {profile}: {seen}"))
        .collect();
    let with = EngineProfile::ALL.iter().filter(|p| p.runs_exceptions()).count();
    let core = if odd.is_empty() {
        format!(
            "{held} under the {with} profiles with exception handling; `winch` refuses it at load, naming itself and the feature"
        )
    } else {
        odd.join("; ")
    };
    let path = fixture_file("exception-bomb.wat", text.as_bytes());
    observed(core, main_job(&path, &["--max-memory", "64"], "the GC heap (of exception objects)"))
}

fn component_memories_together() -> Observed {
    let text = crate::hostile::component_with_several_memories();
    let core = same_under_every_profile(|profile| {
        let guest = GuestComponent::from_wat("memories.wat", &text, profile, capped(true)).unwrap();
        match guest.instantiate() {
            Err(Error::OverBudget { .. }) => "`Error::OverBudget` for 81 MiB of memories, 40 MiB or less each".into(),
            other => format!("{:?}", other.map(|_| "instantiated")),
        }
    });
    let path = fixture_file("memories.wat", text.as_bytes());
    observed(core, main_job(&path, &["--abi", "component", "--max-memory", "64"], "--max-memory 64"))
}

fn gc_array_refused() -> Observed {
    let text = crate::hostile::gc_array();
    let core =
        same_under_every_profile(|profile| match GuestModule::from_wat("gc.wat", &text, profile, capped(true)) {
            Err(Error::Compile { message, .. }) if message.contains("without the gc feature") => {
                "`Error::Compile`: wasm GC is off".to_string()
            }
            other => format!("{:?}", other.map(|_| "loaded")),
        });
    let path = fixture_file("gc-array.wat", text.as_bytes());
    observed(core, main_job(&path, &["--max-memory", "64"], "without the gc feature"))
}

fn component_list_past_memory() -> Observed {
    let parts = crate::support::ComponentParts {
        batch_result: Some(
            "(i32.store (i32.const 32) (i32.const -65536)) (i32.store (i32.const 36) (i32.const 8)) (i32.const 32)",
        ),
        ..Default::default()
    };
    let text = crate::support::world_component(&parts);
    let core = same_under_every_profile(|profile| {
        let mut host =
            GuestComponent::from_wat("list.wat", &text, profile, quiet_options()).unwrap().instantiate().unwrap();
        let points = [boundary_host::component::WitPoint { x: 1, y: 2 }];
        match host.point_add_batch(&points, &points) {
            Err(Error::Trap { trap: TrapKind::Abi(m), .. }) if m.contains("list pointer/length out of bounds") => {
                "`TrapKind::Abi` naming the list".to_string()
            }
            other => format!("{other:?}"),
        }
    });
    let path = fixture_file("list-past-memory.wat", text.as_bytes());
    observed(core, main_job(&path, &["--abi", "component"], "broke the canonical ABI"))
}

fn hostile_name() -> Observed {
    let name = "x\\0a[host] pattern 1 passed\\1b]0;t\\07";
    let text = mutated_wat(&[(
        "(memory (export \"memory\") 1)",
        &format!("(import \"{name}\" \"f\" (func))\n  (memory (export \"memory\") 1)"),
    )]);
    let core = match GuestModule::from_wat("name.wat", &text, EngineProfile::Cranelift, quiet_options()) {
        Err(e @ Error::UnknownImport { .. }) if !e.to_string().chars().any(char::is_control) => {
            "`Error::UnknownImport`, the name's control characters escaped (`\\u{a}`)".to_string()
        }
        other => format!("{other:?}"),
    };
    let path = fixture_file("hostile-name.wat", text.as_bytes());
    observed(core, main_job(&path, &[], "\\u{1b}"))
}

/// Every case, in README's order.
const CASES: &[Case] = &[
    Case {
        what: "1. random bytes",
        observe: random_bytes,
        expected_core: "`Error::NotWasm`, naming the file",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "1. a truncated module",
        observe: truncated_module,
        expected_core: "`Error::Compile`, naming the file",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "1. an empty file",
        observe: empty_file,
        expected_core: "`Error::NotWasm`, naming the file",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "2. no `memory` export",
        observe: missing_memory,
        expected_core: "`Error::MissingExport`: `memory` (a memory)",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "2. a required function export missing",
        observe: missing_function,
        expected_core: "`Error::MissingExport`, each of the 5 required exports named",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "2. an export with the wrong signature",
        observe: wrong_signature,
        expected_core: "`Error::WrongSignature`: `just_add`, expected a function (i64, i64) -> i64, found a function (i32, i64) -> i64",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "3. an import the host does not provide",
        observe: unknown_import,
        expected_core: "`Error::UnknownImport`: `env::host_explode`",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "3. a 64-bit memory (memory64)",
        observe: memory64,
        expected_core: "`Error::UnsupportedMemory`: its `memory` is a 64-bit memory (memory64), whose pointers do not fit the ABI's i32",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "3. two linear memories",
        observe: two_memories,
        expected_core: "`Error::UnsupportedMemory`: it has 2 linear memories; the host drives one, so that every guest pointer means `memory`",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "3. a shared memory",
        observe: shared_memory,
        expected_core: "`Error::Compile`: naming shared memories",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "3. pages other than 64 KiB",
        observe: small_pages,
        expected_core: "`Error::Compile`: naming page size",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "4. trap: unreachable",
        observe: || trap(0),
        expected_core: "`TrapKind::Wasm(Trap::UnreachableCodeReached)` under all 9 profiles",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "4. trap: out-of-bounds load",
        observe: || trap(1),
        expected_core: "`TrapKind::Wasm(Trap::MemoryOutOfBounds)` under all 9 profiles",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "4. trap: integer divide by zero",
        observe: || trap(2),
        expected_core: "`TrapKind::Wasm(Trap::IntegerDivisionByZero)` under all 9 profiles",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "4. trap: integer overflow",
        observe: || trap(3),
        expected_core: "`TrapKind::Wasm(Trap::IntegerOverflow)` under all 9 profiles",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "4. trap: invalid conversion to integer",
        observe: || trap(4),
        expected_core: "`TrapKind::Wasm(Trap::BadConversionToInteger)` under all 9 profiles",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "4. trap: stack overflow",
        observe: || trap(5),
        expected_core: "`TrapKind::Wasm(Trap::StackOverflow)` under all 9 profiles",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "4. trap: indirect call to null",
        observe: || trap(6),
        expected_core: "`TrapKind::Wasm(Trap::IndirectCallToNull)` under all 9 profiles",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "5. infinite loop, `fuel` profile",
        observe: runaway_fuel,
        expected_core: "`TrapKind::Wasm(Trap::OutOfFuel)` after exactly its 1000000 units of fuel, every run; a fresh instance then answers",
        expected_main: "exit 2, one line (`--profile fuel --fuel 1000000`)",
    },
    Case {
        what: "5. infinite loop, `epoch` profile",
        observe: runaway_epoch,
        expected_core: "`TrapKind::Wasm(Trap::Interrupt)` once a 100 ms deadline passes (well within 10 s); a fresh instance then answers",
        expected_main: "exit 2, one line (`--profile epoch --timeout 0.1`)",
    },
    Case {
        what: "5. infinite loop, every other profile",
        observe: runaway_other_profiles,
        expected_core: "`Error::NoDeadline` for `cranelift` and the other profiles: their code cannot be interrupted",
        expected_main: "exit 2, one line (`--profile P --timeout 0.5`)",
    },
    Case {
        what: "5. infinite loop in the start function",
        observe: runaway_start,
        expected_core: "`Error::StartTrapped` with `Trap::Interrupt` (`GuestModule::instantiate_with_deadline`, `epoch` profile)",
        expected_main: "exit 2, one line (`--profile epoch --timeout 0.5`) / exit 2, one line (`--profile winch --timeout 0.5`)",
    },
    Case {
        what: "5. a guest blocked in a host call (an hour's WASI sleep)",
        observe: blocked_in_host_call,
        expected_core: "(no deadline in the core: an epoch check cannot reach host code)",
        expected_main: "exit 2, one line (`--profile epoch --timeout 0.5`)",
    },
    Case {
        what: "6. unbounded `memory.grow`, store limit set to fail growth",
        observe: grow_fails,
        expected_core: "the guest's `memory.grow` returns -1 at the 64 MiB cap; it carries on with 1024 pages",
        expected_main: "exit 2, one line (`--max-memory 64`)",
    },
    Case {
        what: "6. unbounded `memory.grow`, store limit set to trap",
        observe: grow_traps,
        expected_core: "`TrapKind::MemoryLimit` when growth would pass the 64 MiB cap; a fresh instance then answers",
        expected_main: "(as above: the main job traps on growth past `--max-memory`)",
    },
    Case {
        what: "6. the host's memory while the guest grows and touches every page",
        observe: peak_memory,
        expected_core: "peak resident memory grows by the cap (between 48 and 96 MiB), not by the 4 GiB asked for",
        expected_main: "(as above)",
    },
    Case {
        what: "6. unbounded `table.grow` (16M elements at a time)",
        observe: table_grows_forever,
        expected_core: "`TrapKind::MemoryLimit` for the table (16 bytes an element) under all 9 profiles",
        expected_main: "exit 2, one line (`--max-memory 64`)",
    },
    Case {
        what: "6. a component with three memories of 1, 40 and 40 MiB",
        observe: component_memories_together,
        expected_core: "`Error::OverBudget` for 81 MiB of memories, 40 MiB or less each under all 9 profiles",
        expected_main: "exit 2, one line (`--abi component --max-memory 64`)",
    },
    Case {
        what: "6. exceptions caught and kept without end (an exception bomb)",
        observe: exceptions_kept_forever,
        expected_core: "`TrapKind::MemoryLimit` for the GC heap under the 8 profiles with exception handling; `winch` refuses it at load, naming itself and the feature",
        expected_main: "exit 2, one line (`--max-memory 64`)",
    },
    Case {
        what: "6. a 1 GiB wasm GC array",
        observe: gc_array_refused,
        expected_core: "`Error::Compile`: wasm GC is off under all 9 profiles",
        expected_main: "exit 2, one line (`--max-memory 64`)",
    },
    Case {
        what: "7. a host function returns an error",
        observe: host_func_error,
        expected_core: "`TrapKind::Host` with the function's error; a fresh instance then answers",
        expected_main: "not reachable: the main job's host functions never fail",
    },
    Case {
        what: "7. a host function panics",
        observe: host_func_panic,
        expected_core: "`TrapKind::HostPanic` with the panic's message, caught at the call; a fresh instance then answers",
        expected_main: "not reachable: the main job's host functions never panic",
    },
    Case {
        what: "8. calls after a trap",
        observe: call_after_trap,
        expected_core: "every later call is `Error::StoreDiscarded` naming `just_add`; a fresh instance then answers",
        expected_main: "exit 2 at the first trap, one line (case 4)",
    },
    Case {
        what: "9. the guest static's pointer made hostile",
        observe: hostile_pointer,
        expected_core: "-1: `MemoryError`; 2 GiB, past the end: `MemoryError`; 2 bytes before the end: `MemoryError`; 1025, misaligned: `Error::MisalignedPointer`",
        expected_main: "exit 2, one line",
    },
    Case {
        what: "10. a component returns a list past the end of its memory",
        observe: component_list_past_memory,
        expected_core: "`TrapKind::Abi` naming the list under all 9 profiles",
        expected_main: "exit 2, one line (`--abi component`)",
    },
    Case {
        what: "11. an import named with a newline and a terminal escape",
        observe: hostile_name,
        expected_core: "`Error::UnknownImport`, the name's control characters escaped (`\\u{a}`)",
        expected_main: "exit 2, one line",
    },
];

const BEGIN: &str = "<!-- guard-rails table: generated by host/cli/tests/suite/guard_rails.rs -->";
const END: &str = "<!-- end of guard-rails table -->";

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("README.md")
}

#[test]
fn guard_rails() {
    let mut table = String::from("| case | host core | main job, `boundary --wasm` |\n|---|---|---|\n");
    let mut wrong = Vec::new();
    for case in CASES {
        let seen = (case.observe)();
        if seen.core != case.expected_core {
            wrong.push(format!(
                "{}: host core\n  expected: {}\n  observed: {}",
                case.what, case.expected_core, seen.core
            ));
        }
        if seen.main != case.expected_main {
            wrong.push(format!(
                "{}: main job\n  expected: {}\n  observed: {}",
                case.what, case.expected_main, seen.main
            ));
        }
        table.push_str(&format!("| {} | {} | {} |\n", case.what, seen.core, seen.main));
    }
    assert!(wrong.is_empty(), "guard rails changed:\n{}", wrong.join("\n"));

    let path = readme_path();
    let readme = std::fs::read_to_string(&path).unwrap();
    let section = readme.find(BEGIN).zip(readme.find(END)).map(|(b, e)| (b + BEGIN.len(), e));
    let Some((begin, end)) = section else { panic!("README lacks the markers {BEGIN:?} and {END:?}") };
    let generated = format!("\n{table}");
    if readme[begin..end] != generated {
        if std::env::var_os("BOUNDARY_BLESS").is_some() {
            std::fs::write(&path, format!("{}{generated}{}", &readme[..begin], &readme[end..])).unwrap();
        } else {
            panic!(
                "host/README.md's guard-rails table is out of date; run `BOUNDARY_BLESS=1 cargo test --release guard_rails`:\n{generated}"
            );
        }
    }
}
