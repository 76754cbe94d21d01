//! Serving a request on a plugin instance, phase by phase, and checking its output against the request's
//! expectations.

use super::load::PluginInstance;
use super::request::{
    Arg, Expectation, InputBytes, Length, Locate, Request, SizedArg, Slot, Source, generated_byte, shown,
};
use super::values::{integer_val, number_val, signed, unsigned, zero};
use crate::error::{Error, escape_controls};
use crate::memory::checked_range;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::{Duration, Instant};
use wasmtime::{Val, ValType};

/// The most bytes of a guest's error message the host reads.
const ERROR_TEXT_BYTES: usize = 4096;

/// Why a request did not give an output to check.
#[derive(Debug)]
pub enum Failure {
    /// The guest misbehaved: it trapped, ran out of time or memory, or broke the request's rules (an allocator
    /// returning 0 or a pointer past memory, an output past memory, a string without its NUL).
    Guest(Error),
    /// The plugin said the request failed: a status other than success, or a null output pointer; with its error
    /// message when the request says where to find it.
    Reported(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Guest(e) => write!(f, "{e}"),
            Failure::Reported(why) => f.write_str(why),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Guest(e)
    }
}

/// How long each phase of one request took.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases {
    /// The allocator's calls for the inputs and out-slots.
    pub alloc: Duration,
    /// Copying the inputs into guest memory (and zeroing the out-slots).
    pub copy_in: Duration,
    /// The call itself.
    pub call: Duration,
    /// Finding the output and copying it out.
    pub copy_out: Duration,
    /// The frees: the output's, then the inputs' and out-slots'.
    pub free: Duration,
}

impl Phases {
    pub const NAMES: [&'static str; 5] = ["alloc", "copy_in", "call", "copy_out", "free"];

    /// The phases in the order of [`Phases::NAMES`].
    pub fn each(&self) -> [Duration; 5] {
        [self.alloc, self.copy_in, self.call, self.copy_out, self.free]
    }

    pub fn total(&self) -> Duration {
        self.each().iter().sum()
    }
}

/// Where an input or out-slot was put in guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub ptr: u32,
    /// The bytes it takes there (an input's NUL included).
    pub size: u32,
}

/// What one request gave.
#[derive(Debug, Clone)]
pub struct Served {
    /// The output's bytes (empty when the request has no output).
    pub output: Vec<u8>,
    /// Where the output was in guest memory.
    pub output_at: Option<Placed>,
    /// Where each input and each out-slot was put (inputs first).
    pub placed: Vec<Placed>,
    /// The call's results ([`value_text`] writes one as a log does).
    pub results: Vec<Val>,
    pub phases: Phases,
}

/// The guest broke the request's rules.
fn broke(instance: &PluginInstance, message: String) -> Failure {
    Failure::Guest(Error::BrokeRequest { module: instance.plugin.name.clone(), message })
}

/// The bytes of input `index` of `request`: given, or generated.
pub fn input_bytes(request: &Request, index: usize) -> Vec<u8> {
    match &request.inputs[index].bytes {
        InputBytes::Given(bytes) => bytes.clone(),
        InputBytes::Generated { size, seed } => (0..*size).map(|i| generated_byte(*seed, i)).collect(),
    }
}

impl PluginInstance {
    /// Serves the request once, with `inputs` as the inputs' bytes (in the request's order; see
    /// [`input_bytes`]): allocates and copies in every input, allocates every out-slot, makes the call, finds the
    /// output and copies it out, frees. Times each phase.
    pub fn serve(&mut self, inputs: &[Vec<u8>]) -> Result<Served, Failure> {
        let request = std::sync::Arc::clone(&self.plugin.request);
        if let Some(command) = &request.command {
            return self.run_command(command.exit);
        }
        let mut phases = Phases::default();
        let mut placed: Vec<Placed> = Vec::with_capacity(request.inputs.len() + request.outs.len());

        // Allocate.
        let started = Instant::now();
        for (index, input) in request.inputs.iter().enumerate() {
            let bytes = inputs.get(index).map_or(0, Vec::len);
            let size = bytes + usize::from(input.nul);
            let size = u32::try_from(size).map_err(|_| {
                broke(self, format!("input `{}` of {size} bytes does not fit a 32-bit memory", input.name))
            })?;
            let ptr = match input.at {
                Some(at) => at as u32,
                None => self.allocate(size, &format!("input `{}`", input.name))?,
            };
            placed.push(Placed { ptr, size });
        }
        for slot in &request.outs {
            let ptr = self.allocate(slot.size, &format!("out-slot `{}`", slot.name))?;
            placed.push(Placed { ptr, size: slot.size });
        }
        phases.alloc = started.elapsed();

        // Copy in.
        let started = Instant::now();
        for (index, input) in request.inputs.iter().enumerate() {
            let at = placed[index];
            let bytes: &[u8] = inputs.get(index).map_or(&[], Vec::as_slice);
            let (memory, store) = self.memory_mut();
            let written = memory.write_bytes(&mut *store, at.ptr as usize, bytes).and_then(|()| {
                if input.nul { memory.write(&mut *store, at.ptr as usize + bytes.len(), &0u8) } else { Ok(()) }
            });
            if let Err(e) = written {
                let whose = if input.at.is_some() { "the request's `at`" } else { "the allocator's pointer" };
                return Err(broke(self, format!("input `{}` does not fit at {whose} {:#x}: {e}", input.name, at.ptr)));
            }
        }
        for (index, slot) in request.outs.iter().enumerate() {
            let at = placed[request.inputs.len() + index];
            let zeros = [0u8; 64];
            let (memory, store) = self.memory_mut();
            if let Err(e) = memory.write_bytes(store, at.ptr as usize, &zeros[..slot.size as usize]) {
                return Err(broke(
                    self,
                    format!("out-slot `{}` at the allocator's pointer {:#x}: {e}", slot.name, at.ptr),
                ));
            }
        }
        phases.copy_in = started.elapsed();

        // Call.
        let ty = self.plugin.export_type(&request.call.export).cloned().expect("the call's export was checked");
        let params: Vec<ValType> = ty.params().collect();
        let mut args = Vec::with_capacity(params.len());
        for (arg, param) in request.call.args.iter().zip(&params) {
            args.push(match arg {
                Arg::Number(n) => number_val(*n, param).map_err(|why| broke(self, why))?,
                Arg::Ptr(slot) => integer_val(placed[slot_index(&request, *slot)].ptr, param),
                Arg::Len(slot) => {
                    let len = match slot {
                        Slot::Input(i) => inputs.get(*i).map_or(0, Vec::len) as u32,
                        Slot::Out(i) => request.outs[*i].size,
                    };
                    integer_val(len, param)
                }
            });
        }
        let mut results: Vec<Val> = ty.results().map(|r| zero(&r)).collect();
        let started = Instant::now();
        self.call(&request.call.export, &args, &mut results)?;
        phases.call = started.elapsed();

        // Copy out.
        let started = Instant::now();
        if let Some((source, ok)) = &request.call.status {
            let status = self.source(&request, source, &results, &placed)?;
            let status = signed_source(status, source, &results);
            if status != *ok {
                let why = format!("`{}` returned status {status} (success is {ok})", request.call.export);
                return Err(Failure::Reported(self.with_error_text(&request, &results, &placed, why)));
            }
        }
        let mut output = Vec::new();
        let mut output_at = None;
        if let Some(out) = &request.output {
            let (ptr, len) = self.locate(&request, &out.locate, &results, &placed)?;
            let Some(len) = len else {
                let why = format!("`{}` returned a null output pointer", request.call.export);
                return Err(Failure::Reported(self.with_error_text(&request, &results, &placed, why)));
            };
            let size = self.memory_size();
            if let Err(e) = checked_range(ptr as usize, len as usize, size) {
                return Err(broke(self, format!("the output ({len} bytes at {ptr:#x}) does not lie in memory: {e}")));
            }
            output = vec![0u8; len as usize];
            let (memory, store) = self.memory();
            memory.read_bytes(store, ptr as usize, &mut output).map_err(Error::from)?;
            output_at = Some(Placed { ptr, size: len });
        }
        phases.copy_out = started.elapsed();

        // Free.
        let started = Instant::now();
        if let (Some(out), Some(at)) = (&request.output, output_at)
            && let Some(free) = &out.free
        {
            self.free(&free.export, &free.args, at)?;
        }
        if let Some(free) = request.allocator.as_ref().and_then(|a| a.free.as_ref()) {
            for (index, input) in request.inputs.iter().enumerate() {
                if input.free {
                    self.free(&free.export, &free.args, placed[index])?;
                }
            }
            for index in 0..request.outs.len() {
                self.free(&free.export, &free.args, placed[request.inputs.len() + index])?;
            }
        }
        phases.free = started.elapsed();

        Ok(Served { output, output_at, placed, results, phases })
    }

    /// Runs a WASI command's `_start`, once per instance: its stdout is the output, and an exit status other than
    /// `exit` is a failure the plugin reports. Phases: `call` is `_start`, `copy_out` taking its stdout.
    fn run_command(&mut self, exit: i32) -> Result<Served, Failure> {
        if self.command_ran {
            return Err(Failure::Guest(Error::CommandRan { module: self.plugin.name.clone() }));
        }
        self.command_ran = true;
        let mut phases = Phases::default();
        let started = Instant::now();
        let status = match self.call(crate::command::START, &[], &mut []) {
            Ok(()) => 0,
            Err(Error::Trap { trap: crate::TrapKind::Exit(status), .. }) => status,
            Err(e) => return Err(Failure::Guest(e)),
        };
        phases.call = started.elapsed();
        let started = Instant::now();
        let output = self.take_output().unwrap_or_default();
        phases.copy_out = started.elapsed();
        if status != exit {
            let mut why = format!("the command exited with status {status}; the request expects {exit}");
            if !output.is_empty() {
                why.push_str(&format!(" (its stdout: {})", shown(&output)));
            }
            return Err(Failure::Reported(why));
        }
        Ok(Served { output, output_at: None, placed: Vec::new(), results: Vec::new(), phases })
    }

    /// Allocates `size` bytes through the request's allocator; a null pointer for a non-empty allocation breaks
    /// the request's rules.
    fn allocate(&mut self, size: u32, what: &str) -> Result<u32, Failure> {
        let request = std::sync::Arc::clone(&self.plugin.request);
        let allocator = request.allocator.as_ref().expect("a request that allocates has an allocator");
        let ty = self.plugin.export_type(&allocator.alloc).cloned().expect("the allocator was checked");
        let args = sized_vals(&allocator.alloc_args, &ty, Placed { ptr: 0, size })
            .map_err(|why| broke(self, format!("`{}`: {why}", allocator.alloc)))?;
        let mut results: Vec<Val> = ty.results().map(|r| zero(&r)).collect();
        self.call(&allocator.alloc, &args, &mut results)?;
        let ptr = results.first().and_then(unsigned).unwrap_or(0);
        let ptr = u32::try_from(ptr).map_err(|_| {
            broke(self, format!("allocator `{}` returned {ptr:#x} for {what}, past a 32-bit memory", allocator.alloc))
        })?;
        if ptr == 0 && size > 0 {
            return Err(broke(self, format!("allocator `{}` returned 0 for {what} ({size} bytes)", allocator.alloc)));
        }
        let memory_size = self.memory_size();
        if let Err(e) = checked_range(ptr as usize, size as usize, memory_size) {
            let name = &allocator.alloc;
            return Err(broke(self, format!("allocator `{name}` returned {ptr:#x} for {what}: {e}")));
        }
        Ok(ptr)
    }

    fn free(&mut self, export: &str, args: &[SizedArg], at: Placed) -> Result<(), Failure> {
        let ty = self.plugin.export_type(export).cloned().expect("every free was checked");
        let args = sized_vals(args, &ty, at).map_err(|why| broke(self, format!("`{export}`: {why}")))?;
        let mut results: Vec<Val> = ty.results().map(|r| zero(&r)).collect();
        self.call(export, &args, &mut results)?;
        Ok(())
    }

    /// The value `source` stands for, after the call that gave `results`.
    fn source(
        &mut self,
        request: &Request,
        source: &Source,
        results: &[Val],
        placed: &[Placed],
    ) -> Result<u64, Failure> {
        match source {
            Source::Result(index) => results
                .get(*index)
                .and_then(unsigned)
                .ok_or_else(|| broke(self, format!("`{}` has no integer result {index}", request.call.export))),
            Source::SlotPtr(index) => Ok(u64::from(placed[request.inputs.len() + index].ptr)),
            Source::Value(index) => {
                let at = placed[request.inputs.len() + index];
                let (memory, store) = self.memory();
                let value = match at.size {
                    8 => memory.read::<u64>(store, at.ptr as usize),
                    _ => memory.read::<u32>(store, at.ptr as usize).map(u64::from),
                };
                value.map_err(|e| broke(self, format!("out-slot `{}`: {e}", request.outs[*index].name)))
            }
            Source::Export(name) => {
                let ty = self.plugin.export_type(name).cloned().expect("the export was checked");
                let mut out: Vec<Val> = ty.results().map(|r| zero(&r)).collect();
                self.call(name, &[], &mut out)?;
                Ok(out.first().and_then(unsigned).unwrap_or(0))
            }
        }
    }

    /// A value that must be a 32-bit pointer or length.
    fn source_u32(
        &mut self,
        request: &Request,
        source: &Source,
        results: &[Val],
        placed: &[Placed],
        what: &str,
    ) -> Result<u32, Failure> {
        let value = self.source(request, source, results, placed)?;
        u32::try_from(value).map_err(|_| broke(self, format!("{what} is {value:#x}, past a 32-bit memory")))
    }

    /// Where the output is: its pointer, and its length (`None` for a null pointer, which the plugin gives for a
    /// failure).
    fn locate(
        &mut self,
        request: &Request,
        locate: &Locate,
        results: &[Val],
        placed: &[Placed],
    ) -> Result<(u32, Option<u32>), Failure> {
        let (ptr, len) = match locate {
            Locate::PtrLen { ptr, len } => {
                let ptr = self.source_u32(request, ptr, results, placed, "the output's pointer")?;
                if ptr == 0 {
                    return Ok((0, None));
                }
                let len = match len {
                    Length::Nul => self.nul_length(ptr, "the output")?,
                    Length::From(source) => self.source_u32(request, source, results, placed, "the output's length")?,
                };
                (ptr, len)
            }
            Locate::Packed { from, ptr_high } => {
                let value = self.source(request, from, results, placed)?;
                let (high, low) = ((value >> 32) as u32, value as u32);
                if *ptr_high { (high, low) } else { (low, high) }
            }
            Locate::Pair(from) => {
                let at =
                    self.source_u32(request, from, results, placed, "the address of the output's pointer and length")?;
                if at == 0 {
                    return Ok((0, None));
                }
                let (memory, store) = self.memory();
                let pair = memory.read::<[u32; 2]>(store, at as usize);
                let [ptr, len] = pair.map_err(|e| broke(self, format!("the output's pointer and length: {e}")))?;
                (u32::from_le(ptr), u32::from_le(len))
            }
        };
        if ptr == 0 && len > 0 {
            return Ok((0, None));
        }
        Ok((ptr, Some(len)))
    }

    /// The length of the NUL-terminated string at `ptr`.
    fn nul_length(&mut self, ptr: u32, what: &str) -> Result<u32, Failure> {
        let (memory, store) = self.memory();
        let data = memory.raw().data(store);
        let found = data.get(ptr as usize..).and_then(|rest| rest.iter().position(|b| *b == 0));
        match found {
            Some(len) => Ok(len as u32),
            None => {
                let size = data.len();
                Err(broke(self, format!("{what} at {ptr:#x} has no NUL before the end of memory ({size} bytes)")))
            }
        }
    }

    /// `why`, with the guest's error message after it when the request says where it is.
    fn with_error_text(&mut self, request: &Request, results: &[Val], placed: &[Placed], why: String) -> String {
        let Some((ptr, len)) = request.output.as_ref().and_then(|o| o.error.clone()) else { return why };
        let text = (|| -> Result<Vec<u8>, Failure> {
            let ptr = self.source_u32(request, &ptr, results, placed, "the error message's pointer")?;
            if ptr == 0 {
                return Ok(b"(none: a null pointer)".to_vec());
            }
            let len = match &len {
                Length::Nul => self.nul_length(ptr, "the error message")?,
                Length::From(source) => {
                    self.source_u32(request, source, results, placed, "the error message's length")?
                }
            };
            let len = (len as usize).min(ERROR_TEXT_BYTES);
            let mut bytes = vec![0u8; len];
            let (memory, store) = self.memory();
            memory.read_bytes(store, ptr as usize, &mut bytes).map_err(Error::from)?;
            Ok(bytes)
        })();
        match text {
            Ok(bytes) => format!("{why}: {}", escape_controls(&String::from_utf8_lossy(&bytes))),
            Err(e) => format!("{why} (its error message could not be read: {e})"),
        }
    }
}

/// A status read as a signed number when it is a result (an `i32` of -1 is -1).
fn signed_source(value: u64, source: &Source, results: &[Val]) -> i64 {
    match source {
        Source::Result(index) => results.get(*index).and_then(signed).unwrap_or(value as i64),
        _ => value as i64,
    }
}

fn slot_index(request: &Request, slot: Slot) -> usize {
    match slot {
        Slot::Input(i) => i,
        Slot::Out(i) => request.inputs.len() + i,
    }
}

/// An allocator's or a free's arguments for what is at `at`.
fn sized_vals(args: &[SizedArg], ty: &wasmtime::FuncType, at: Placed) -> Result<Vec<Val>, String> {
    args.iter()
        .zip(ty.params())
        .map(|(arg, param)| match arg {
            SizedArg::Number(n) => number_val(*n, &param),
            SizedArg::Len => Ok(integer_val(at.size, &param)),
            SizedArg::Ptr => Ok(integer_val(at.ptr, &param)),
        })
        .collect()
}

/// One expectation and whether the output met it (with what was found, when not).
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub expectation: Expectation,
    pub failed: Option<String>,
}

/// The output checked against every expectation of the request.
pub fn check(request: &Request, output: &[u8]) -> Vec<Check> {
    check_expectations(&request.expect, output)
}

/// `output` against each of `expect`, in order.
pub fn check_expectations(expect: &[Expectation], output: &[u8]) -> Vec<Check> {
    expect
        .iter()
        .map(|expectation| {
            let failed = match expectation {
                Expectation::Equals(bytes) if output != bytes.as_slice() => Some(difference(bytes, output)),
                Expectation::Sha256(digest) => {
                    let found: [u8; 32] = Sha256::digest(output).into();
                    (found != *digest).then(|| format!("its SHA-256 is {}", hex(&found)))
                }
                Expectation::NonEmpty if output.is_empty() => Some("it is empty".to_string()),
                Expectation::StartsWith(prefix) if !output.starts_with(prefix) => {
                    Some(format!("it starts with {}", shown(&output[..output.len().min(prefix.len().max(16))])))
                }
                Expectation::Contains(part) if !contains(output, part) => Some("it does not".to_string()),
                Expectation::Len(len) if output.len() as u64 != *len => Some(format!("it is {} byte(s)", output.len())),
                _ => None,
            };
            Check { expectation: expectation.clone(), failed }
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where two outputs first differ, for a message.
fn difference(expected: &[u8], found: &[u8]) -> String {
    let at = expected.iter().zip(found).position(|(a, b)| a != b).unwrap_or(expected.len().min(found.len()));
    format!(
        "it is {} byte(s) and differs from byte {at}: {} where {} was expected",
        found.len(),
        shown(&found[at..found.len().min(at + 32)]),
        shown(&expected[at..expected.len().min(at + 32)])
    )
}
