//! The embedding core of the boundary harness: engine profiles, the guest's ABI, a checked host for the
//! guest, and bounds-checked memory I/O.
//!
//! ```no_run
//! use boundary_host::{EngineProfile, GuestModule, HostOptions};
//! # fn main() -> Result<(), boundary_host::Error> {
//! let guest = GuestModule::quiet_guest(EngineProfile::Cranelift, HostOptions::default())?;
//! let mut host = guest.instantiate()?;
//! assert_eq!(host.just_add(15, 27)?, 42);
//! # Ok(())
//! # }
//! ```
//!
//! Where things are: [`profile`] makes every `wasmtime::Config`; [`guest`] names the ABI; `module.rs` loads a
//! guest ([`GuestModule`]) and `abi_check.rs` refuses what the host cannot drive; `instance.rs` is the instance
//! and its guarded calls ([`WasmHost`]), `exports.rs` its exports typed once; `state.rs` the host state and host functions; [`memory`] the bounds-checked
//! copies; [`patterns`] the five patterns every host is checked with. [`component`] is the same guest as a
//! component: its loading, its host, and its form of the five patterns. [`plugin`] serves a request file's request
//! to a module of any ABI that takes bytes through its own allocator.

mod abi_check;
pub mod build_info;
mod call;
pub mod command;
pub mod component;
pub mod console;
mod deadline;
pub mod error;
mod exports;
pub mod guest;
pub mod imports;
mod input;
mod instance;
pub mod limits;
pub mod memory;
mod module;
#[cfg(feature = "wasi")]
pub mod output;
pub mod patterns;
pub mod plugin;
pub mod profile;
pub mod settings;
#[cfg(feature = "inject-slowdown")]
pub mod slowdown;
mod state;
pub mod watchdog;

pub use component::{ComponentHost, GuestComponent, LinkedComponent};
pub use error::{Error, Grown, HostFunctionError, MemoryError, MemoryLimitExceeded, TrapKind, escape_controls};
pub use guest::Point;
pub use guest::WASM_PAGE;
pub use imports::ForeignImports;
pub use input::Wasm;
pub use instance::{WasmHost, static_offset};
pub use limits::Limits;
pub use memory::{GuestMemory, GuestPtr, guest_offset};
pub use module::GuestModule;
pub use profile::EngineProfile;
pub use state::{GuestOutput, HostCalls, HostFuncStyle, HostOptions, HostState, MemoryLimit, TABLE_ELEMENT_BYTES};
/// The wasmtime this core is built on, so dependents use the very same version.
pub use wasmtime;
