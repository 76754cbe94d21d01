//! What `--invoke NAME[=ARGS]` says before the export's type is known: the export's name, and its arguments as
//! written; and how an integer argument is read, for a core export and a component's scalar alike.

use boundary_host::escape_controls;
use boundary_host::plugin::{Expectation, Request};

/// One `--invoke NAME` or `--invoke NAME=ARGS` request. For a core export ARGS are comma-separated numbers, one per
/// parameter; for a component's, WAVE values (the value syntax of wasmtime's tooling), so they are kept as written
/// until the export's type says how to read them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvokeSpec {
    pub name: String,
    /// The text after the first `=`, if there is one.
    pub args: Option<String>,
    /// What the results, written in WAVE, must be: a request file's `[expect]` for its `[invoke]`. The trial call
    /// checks them.
    pub expect: Vec<Expectation>,
    /// Whether a request file's `[invoke]` gave it, rather than `--invoke`: what messages point the user at.
    pub from_request: bool,
}

impl InvokeSpec {
    /// Parses `NAME` or `NAME=ARGS` (empty NAME is an error; `NAME=` means zero args given explicitly). The name ends
    /// at the first `=`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, args) = match text.split_once('=') {
            None => (text, None),
            Some((name, args)) => (name, Some(args.to_string())),
        };
        if name.is_empty() {
            let shown = escape_controls(text);
            return Err(format!("--invoke {shown}: the export name is empty (write NAME or NAME=ARGS)"));
        }
        Ok(InvokeSpec { name: name.to_string(), args, expect: Vec::new(), from_request: false })
    }

    /// The export a request file's `[invoke]` calls, with the request's expectations of its results.
    pub fn requested(request: &Request) -> Option<Self> {
        let invoke = request.invoke.as_ref()?;
        let (name, args, expect) = (invoke.export.clone(), invoke.args.clone(), request.expect.clone());
        Some(InvokeSpec { name, args, expect, from_request: true })
    }

    /// How the user asked for the call, for messages: `--invoke TEXT`, or the request's `[invoke]` of the export.
    pub fn given_as(&self) -> String {
        if self.from_request {
            format!("the request's [invoke] of `{}`", self.shown())
        } else {
            format!("`--invoke {}`", escape_controls(&self.text()))
        }
    }

    /// Where the user gives the export's arguments: `--invoke NAME=ARGS`, or the request's `[invoke]` `args`.
    pub fn where_args_go(&self) -> String {
        if self.from_request {
            "the request's [invoke] `args`".to_string()
        } else {
            format!("`--invoke {}=ARGS`", self.shown())
        }
    }

    /// The arguments as a comma-separated list, each trimmed (`None` when none were given, empty for `NAME=`): how a
    /// core export's arguments are written. An empty argument in a list is an error.
    pub fn listed_args(&self) -> Result<Option<Vec<String>>, String> {
        let Some(text) = &self.args else { return Ok(None) };
        if text.trim().is_empty() {
            return Ok(Some(Vec::new()));
        }
        let args: Vec<String> = text.split(',').map(|arg| arg.trim().to_string()).collect();
        if let Some(blank) = args.iter().position(String::is_empty) {
            return Err(format!("--invoke {}: argument {} is empty", escape_controls(&self.text()), blank + 1));
        }
        Ok(Some(args))
    }

    /// The request as the user writes it: `NAME` or `NAME=ARGS`.
    pub fn text(&self) -> String {
        match &self.args {
            None => self.name.clone(),
            Some(args) => format!("{}={args}", self.name),
        }
    }

    /// A name safe for a benchmark id: the export name with every char outside [A-Za-z0-9_.-] replaced by '_'.
    pub fn id_name(&self) -> String {
        let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        self.name.chars().map(|c| if keep(c) { c } else { '_' }).collect()
    }

    /// The export's name as it may appear in a one-line message.
    pub(super) fn shown(&self) -> String {
        escape_controls(&self.name).into_owned()
    }
}

/// `text` as the bit pattern of a `bits`-wide integer, in the low bits: decimal within the type's range (negative
/// only when `signed`), or `0x` hex of at most `bits` bits, taken as the bit pattern (so `0xffffffff` is -1 as an
/// i32), which is how a wasm integer's value is usually written when its sign does not matter.
pub(crate) fn parse_integer_bits(text: &str, bits: u32, signed: bool) -> Option<u64> {
    let all_ones = (1u128 << bits) - 1;
    if let Some(digits) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        // `from_str_radix` would take a sign after the prefix too; `0x-1` is no way to write a number.
        if !digits.starts_with(|c: char| c.is_ascii_hexdigit()) {
            return None;
        }
        let value = u128::from_str_radix(digits, 16).ok()?;
        // Fits in `bits` bits, so no bit is lost.
        return (value <= all_ones).then_some(value as u64);
    }
    let value: i128 = text.parse().ok()?;
    let (min, max) = if signed { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) } else { (0, all_ones as i128) };
    // In range, so the low `bits` bits of the two's complement are the value itself.
    (min..=max).contains(&value).then_some((value as u128 & all_ones) as u64)
}

pub(crate) const INTEGER_FORMS: &str = "a decimal integer (negative allowed) or 0x-hex";
pub(crate) const FLOAT_FORMS: &str = "a decimal number such as 2.5, 1e-3, inf or nan";
