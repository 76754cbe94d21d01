//! The main job on a plugin (`boundary run --request FILE`): the request served once, under the chosen profile,
//! each step under its deadline, with a readable log (the bytes in, the call, the bytes out, the checks).
//!
//! Exit status: 0 when every expectation holds (or the request has none: then the log says the output was not
//! checked), 1 when the output is wrong or the plugin reported a failure, 2 on bad input or a guest that
//! misbehaves (a trap, a step past its deadline, memory past the limit, a rule of the request broken).

use crate::report;
use boundary_benches::ops::invoke::{ComponentInvoke, InvokeSpec, wave_text};
use boundary_host::console::{self, host_err, host_out};
use boundary_host::limits::Deadline;
use boundary_host::plugin::{self, Failure, Phases, Plugin, Request, shown};
use boundary_host::{Error, HostOptions, LinkedComponent, Wasm, escape_controls};
use std::process::ExitCode;

const EXIT_FAILED: u8 = 1;
const EXIT_MISBEHAVED: u8 = 2;

/// Serves `request` on `wasm` once and says how it went.
pub fn run(
    request: &Request,
    wasm: &Wasm,
    profile: boundary_host::EngineProfile,
    options: HostOptions,
    deadlines: &Deadline,
    quiet: bool,
    error_text: &dyn Fn(&Error) -> String,
) -> ExitCode {
    let say = |line: std::fmt::Arguments<'_>| {
        if !quiet {
            host_out(format_args!("[host] {line}"));
        }
    };
    let refused = |line: String| {
        console::finish();
        report::error(&line);
        host_err(format_args!("error: {line}"));
        report::exit(EXIT_MISBEHAVED)
    };
    let misbehaved = |what: &str, e: &Error| refused(format!("{what}: {}", error_text(e)));
    if request.invoke.is_some() {
        let ends = Ends { say: &say, refused: &refused, error_text };
        return run_invoke(request, wasm, profile, options, deadlines, &ends);
    }
    let plugin = match deadlines.compile_step(&wasm.name, || Plugin::load(wasm, profile, options, request)) {
        Ok(plugin) => plugin,
        Err(e) => {
            console::finish();
            let line = error_text(&e);
            report::error(&line);
            host_err(format_args!("error: {line}"));
            return report::exit(EXIT_MISBEHAVED);
        }
    };
    say(format_args!("loaded {} under engine profile `{profile}` ({})", plugin.name(), profile.summary()));
    let what = format!("instantiating {}", wasm.name);
    let instantiated = deadlines.guest_step(&what, || match deadlines.interrupt {
        Some(timeout) => plugin.instantiate_with_deadline(timeout),
        None => plugin.instantiate(),
    });
    let mut instance = match instantiated {
        Ok(instance) => instance,
        Err(e) => return misbehaved(&what, &e),
    };
    let inputs: Vec<Vec<u8>> = (0..request.inputs.len()).map(|i| plugin::input_bytes(request, i)).collect();
    let what = format!("the request `{}`", escape_controls(&request.call_text()));
    let served = deadlines.guest_step(&what, || match deadlines.interrupt {
        Some(timeout) => {
            instance.with_deadline(timeout, |instance| instance.serve(&inputs)).unwrap_or_else(|e| Err(e.into()))
        }
        None => instance.serve(&inputs),
    });
    let served = match served {
        Ok(served) => served,
        Err(Failure::Guest(e)) => return misbehaved(&what, &e),
        Err(Failure::Reported(why)) => {
            console::finish();
            report::check("request", "served".to_string(), "failed", Some(escape_controls(&why).into_owned()));
            report::summary("request failed: the plugin reported a failure");
            host_out(format_args!("[host] the request FAILED: {}", escape_controls(&why)));
            host_out(format_args!("request failed: the plugin reported a failure"));
            return report::exit(EXIT_FAILED);
        }
    };
    for (index, input) in request.inputs.iter().enumerate() {
        let at = served.placed[index];
        let how = match input.at {
            Some(_) => "placed at the request's offset".to_string(),
            None => format!("allocated by `{}`", request.allocator.as_ref().map_or("", |a| a.alloc.as_str())),
        };
        let nul = if input.nul { " and a NUL" } else { "" };
        say(format_args!(
            "input `{}`: {} byte(s){nul} at {:#x}, {how}: {}",
            input.name,
            inputs[index].len(),
            at.ptr,
            shown(&inputs[index])
        ));
    }
    for (index, slot) in request.outs.iter().enumerate() {
        let at = served.placed[request.inputs.len() + index];
        say(format_args!("out-slot `{}`: {} byte(s) at {:#x}", slot.name, slot.size, at.ptr));
    }
    if let Some(command) = &request.command {
        let argv: Vec<String> = command.argv(plugin.program_name()).iter().map(|a| shown(a.as_bytes())).collect();
        let env: Vec<String> = command.env.iter().map(|(k, v)| shown(format!("{k}={v}").as_bytes())).collect();
        say(format_args!("environment: [{}] (nothing inherited)", env.join(", ")));
        match &command.preopen {
            Some(p) => say(format_args!(
                "directory: {} seen read-only at {}",
                escape_controls(&p.dir.display().to_string()),
                shown(p.guest.as_bytes())
            )),
            None => say(format_args!("directory: none")),
        }
        say(format_args!("stdin: {} byte(s): {}", command.stdin.len(), shown(&command.stdin)));
        let (start, exit) = (plugin::START, command.exit);
        say(format_args!("ran `{start}` with argv [{}]: exit status {exit}, as expected", argv.join(", ")));
        say(format_args!("stdout: {} byte(s): {}", served.output.len(), shown(&served.output)));
    } else {
        let results: Vec<String> = served.results.iter().map(plugin::value_text).collect();
        let results = if results.is_empty() { "()".to_string() } else { results.join(", ") };
        say(format_args!("called {} -> {results}", escape_controls(&request.call_text())));
        match served.output_at {
            Some(at) => {
                say(format_args!("output: {} byte(s) at {:#x}: {}", served.output.len(), at.ptr, shown(&served.output)))
            }
            None => say(format_args!("the request names no output")),
        }
    }
    if request.command.is_some() {
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
        let (run, taken) = (us(served.phases.call), us(served.phases.copy_out));
        say(format_args!("phases: `_start` {run:.1} us, stdout taken {taken:.1} us"));
    } else {
        say(format_args!("phases: {}", phases_text(&served.phases)));
    }
    checked(&plugin::check(request, &served.output), "output", &say)
}

/// Logs and reports each check of what the request gave (`what`: its output, or a component's results), and ends
/// the run: exit status 0 when every check passed or there was none, 1 when one failed.
fn checked(checks: &[plugin::Check], what: &str, say: &dyn Fn(std::fmt::Arguments<'_>)) -> ExitCode {
    let mut failed = 0;
    for check in checks {
        let name = format!("the {what} {}", check.expectation);
        match &check.failed {
            None => {
                report::check("request", name, "passed", None);
                say(format_args!("checked: the {what} {}", check.expectation))
            }
            Some(found) => {
                report::check("request", name, "failed", Some(escape_controls(found).into_owned()));
                failed += 1;
                host_out(format_args!(
                    "[host] check FAILED: the {what} {}: {}",
                    check.expectation,
                    escape_controls(found)
                ));
            }
        }
    }
    console::finish();
    if checks.is_empty() {
        let were = if what.ends_with('s') { "were" } else { "was" };
        let summary = format!("request served; its {what} {were} not checked (the request has no [expect])");
        report::check("request", format!("the {what}"), "not checked", Some("the request has no [expect]".into()));
        report::summary(&summary);
        host_out(format_args!("{summary}"));
        return report::exit(0);
    }
    let summary = format!("request served: {} check(s) passed, {failed} failed", checks.len() - failed);
    report::summary(&summary);
    host_out(format_args!("{summary}"));
    report::exit(if failed == 0 { 0 } else { EXIT_FAILED })
}

/// How a run says what it did, and ends on bad input or a misbehaving guest (one `error:` line, exit status 2).
struct Ends<'a> {
    say: &'a dyn Fn(std::fmt::Arguments<'_>),
    refused: &'a dyn Fn(String) -> ExitCode,
    error_text: &'a dyn Fn(&Error) -> String,
}

/// A component's request (`[invoke]`): its export called once with the request's WAVE arguments, its results (in
/// WAVE) checked against the request's `[expect]`. Exit status as for a plugin's request.
fn run_invoke(
    request: &Request,
    wasm: &Wasm,
    profile: boundary_host::EngineProfile,
    options: HostOptions,
    deadlines: &Deadline,
    ends: &Ends<'_>,
) -> ExitCode {
    let (say, bad, error_text) = (ends.say, ends.refused, ends.error_text);
    let Some(spec) = InvokeSpec::requested(request) else { return bad("the request has no [invoke]".into()) };
    // The request's policy for imports the host does not provide, with the command line's, as for a core plugin.
    let options = HostOptions { foreign_imports: options.foreign_imports.or(request.foreign_imports), ..options };
    let linked = deadlines.compile_step(&wasm.name, || {
        let engine = profile.engine()?;
        LinkedComponent::load(wasm.name.clone(), &wasm.bytes, wasm.is_text, profile, &engine, options)
    });
    let linked = match linked {
        Ok(linked) => linked,
        Err(e) => return bad(error_text(&e)),
    };
    say(format_args!(
        "loaded the component {} under engine profile `{profile}` ({})",
        linked.name(),
        profile.summary()
    ));
    let what = format!("instantiating {}", wasm.name);
    // Under `epoch` the guest is interrupted at the deadline itself; the watchdog is the deadline of the others.
    let instantiated = deadlines.guest_step(&what, || match deadlines.interrupt {
        Some(timeout) => linked.instantiate_with_deadline(timeout),
        None => linked.instantiate(),
    });
    let (mut store, instance) = match instantiated {
        Ok(instantiated) => instantiated,
        Err(e) => return bad(format!("{what}: {}", error_text(&e))),
    };
    let what = format!("the request `{}`", request.call_text());
    let prepared = deadlines.guest_step(&what, || match deadlines.interrupt {
        Some(timeout) => linked
            .within_deadline(&mut store, timeout, |store| ComponentInvoke::prepare(store, &instance, &spec))
            .unwrap_or_else(|e| Err(error_text(&e))),
        None => ComponentInvoke::prepare(&mut store, &instance, &spec),
    });
    let call = match prepared {
        Ok(call) => call,
        Err(why) => return bad(why),
    };
    say(format_args!("called {}: {} -> {}", call.call_text(), call.signature(), call.results_text()));
    let results = wave_text(call.results());
    checked(&plugin::check_expectations(&request.expect, results.as_bytes()), "results", say)
}

/// The phases of one request, as the log shows them.
fn phases_text(phases: &Phases) -> String {
    let parts: Vec<String> = Phases::NAMES
        .iter()
        .zip(phases.each())
        .map(|(name, took)| format!("{name} {:.1} us", took.as_secs_f64() * 1e6))
        .collect();
    parts.join(", ")
}
