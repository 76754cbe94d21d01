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

pub mod build_info;
#[cfg(feature = "cpp-host")]
pub mod cpp;
pub mod error;
pub mod guest;
pub mod host;
pub mod memory;
pub mod oracle;
pub mod patterns;
pub mod profile;
#[cfg(feature = "inject-slowdown")]
pub mod slowdown;

pub use error::{Error, MemoryError, MemoryLimitExceeded, TrapKind};
pub use guest::Point;
pub use host::{GuestModule, GuestOutput, HostCalls, HostFuncStyle, HostOptions, HostState, MemoryLimit, WasmHost};
pub use memory::{GuestMemory, GuestPtr, guest_offset};
pub use profile::EngineProfile;
/// The wasmtime this core is built on, so dependents use the very same version.
pub use wasmtime;
