//! Real plugins: a request to a module of any ABI that takes bytes through its own allocator, described by a
//! request file ([`Request`], `request.rs`) instead of Rust. [`Plugin`] is the module loaded and checked against
//! the request (every export it names is there with numeric parameters, the memory is one the host drives);
//! [`PluginInstance`] is one instance, which serves the request as many times as asked ([`PluginInstance::serve`]),
//! phase by phase: allocate, copy in, call, copy out, free. Every call into the guest goes through the core's one
//! call guard, every access to its memory through the core's one bounds rule.
//!
//! What can go wrong is told apart ([`Failure`]): the guest trapping or breaking the request's rules (an allocator
//! returning 0 or a pointer past memory, an output past memory, a string without its NUL) is the guest
//! misbehaving; the plugin saying it failed (a status other than success, a null output pointer) is a failed
//! request; an output that does not match the request's expectations is a wrong output ([`check`]).

pub mod differential;
mod load;
mod request;
mod run;
mod values;

pub use crate::command::{Command, DEFAULT_MAX_STDOUT, MAX_STDIN_BYTES, MAX_STDOUT_LIMIT, Preopen, START};
pub use load::{Plugin, PluginInstance, import_stubs};
pub use request::{
    Allocator, Arg, Call, Expectation, Free, Import, Input, InputBytes, Invoke, Length, Locate, MAX_INPUT_BYTES,
    Number, OutSlot, Output, Request, RequestError, SizedArg, Slot, Source, generated_byte, shown,
};
pub use run::{Check, Failure, Phases, Placed, Served, check, check_expectations, input_bytes};
pub use values::value_text;
