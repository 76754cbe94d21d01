//! Checking a compiled module against the guest ABI ([`crate::guest`]) before anything runs: its imports of the
//! `env` functions, its exports and their signatures, and its linear memory. Whatever the host cannot drive
//! safely is refused here with an error that names it, so a module that loads can be driven.

use crate::error::{Error, escape_controls};
use crate::guest::{self, AbiFunc, AbiType, export, import};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::{ExternType, FuncType, MemoryType, Module, ModuleExport, ValType};

/// The WASI reactor initialiser: called once after instantiation when a module exports it.
pub(crate) const INITIALIZE: AbiFunc = AbiFunc { name: "_initialize", params: &[], results: &[] };

/// The only page size the host drives: it reserves memory (pattern 3) and reports sizes in wasm pages of 64 KiB.
const PAGE_SIZE: u64 = guest::WASM_PAGE as u64;

fn abi_type(ty: &ValType) -> Option<AbiType> {
    match ty {
        ValType::I32 => Some(AbiType::I32),
        ValType::I64 => Some(AbiType::I64),
        _ => None,
    }
}

fn matches_abi(ty: &FuncType, want: &AbiFunc) -> bool {
    let same = |have: &mut dyn ExactSizeIterator<Item = ValType>, want: &[AbiType]| {
        have.len() == want.len() && have.zip(want).all(|(h, w)| abi_type(&h) == Some(*w))
    };
    same(&mut ty.params(), want.params) && same(&mut ty.results(), want.results)
}

fn func_type_text(ty: &FuncType) -> String {
    guest::signature_text(ty.params(), ty.results())
}

fn extern_kind(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "a function",
        ExternType::Global(_) => "a global",
        ExternType::Table(_) => "a table",
        ExternType::Memory(_) => "a memory",
        ExternType::Tag(_) => "a tag",
    }
}

/// Every import of one of the `env` host functions must have its exact signature, named in the error if not.
/// Whether every other import is provided (WASI preview1, an embedder's own functions) is the linker's to say,
/// and [`link_error`] names what it lacks.
pub(crate) fn check_imports(name: &str, module: &Module) -> Result<(), Error> {
    for imp in module.imports() {
        if imp.module() != import::MODULE {
            continue;
        }
        let Some(want) = import::ALL.iter().find(|f| f.name == imp.name()) else { continue };
        let matches = match imp.ty() {
            ExternType::Func(ty) => matches_abi(&ty, want),
            _ => false,
        };
        if !matches {
            let found = match imp.ty() {
                ExternType::Func(ty) => format!("a function {}", func_type_text(&ty)),
                other => extern_kind(&other).to_string(),
            };
            return Err(Error::WrongImportSignature {
                module: name.to_string(),
                import_module: escape_controls(imp.module()).into_owned(),
                field: escape_controls(imp.name()).into_owned(),
                expected: format!("a function {}", want.signature()),
                found,
            });
        }
    }
    Ok(())
}

/// The error for a failed link: the import the linker lacks, by name, or the linker's own message.
pub(crate) fn link_error(name: &str, e: wasmtime::Error) -> Error {
    match e.downcast_ref::<wasmtime::UnknownImportError>() {
        Some(unknown) => Error::UnknownImport {
            module: name.to_string(),
            import_module: escape_controls(unknown.module()).into_owned(),
            field: escape_controls(unknown.name()).into_owned(),
            hint: match unknown.ty() {
                ExternType::Func(_) => " (`--foreign-imports trap` defines such functions to trap when called)",
                _ => "",
            },
        },
        None => Error::Instantiate { module: name.to_string(), message: crate::error::one_line(&e) },
    }
}

/// The host drives one 32-bit, unshared linear memory with 64 KiB pages: every guest pointer is a `u32` offset
/// into it. Anything else is refused, because the host would read and write the wrong bytes (a 64-bit memory's
/// pointers do not fit the ABI's `i32`; with two memories the exported one need not be the one the guest's
/// pointers point into; with other page sizes the host's reservations are the wrong size), or could not do so
/// safely (a shared memory changes under the host's copies, from other threads).
pub(crate) fn check_memory(name: &str, module: &Module, ty: &MemoryType) -> Result<(), Error> {
    let refuse = |reason: String| Err(Error::UnsupportedMemory { module: name.to_string(), reason });
    if let Some(reason) = memory_type_refusal(ty) {
        return refuse(reason);
    }
    let imported = module.imports().filter(|i| matches!(i.ty(), ExternType::Memory(_))).count();
    let memories = imported + module.resources_required().num_memories as usize;
    if memories > 1 {
        return refuse(format!(
            "it has {memories} linear memories; the host drives one, so that every guest pointer means `memory`"
        ));
    }
    Ok(())
}

/// Why the host will not drive a memory of type `ty`, if it will not. (This build of wasmtime has the threads and
/// custom-page-sizes proposals off, so a module with a shared memory or other pages does not even compile; the
/// check stands for builds that turn them on.)
fn memory_type_refusal(ty: &MemoryType) -> Option<String> {
    if ty.is_64() {
        Some("its `memory` is a 64-bit memory (memory64), whose pointers do not fit the ABI's i32".into())
    } else if ty.is_shared() {
        Some("its `memory` is shared (threads): other threads could change it under the host".into())
    } else if ty.page_size() != PAGE_SIZE {
        Some(format!("its `memory` has {}-byte pages; the host drives 64 KiB pages", ty.page_size()))
    } else {
        None
    }
}

/// Export positions resolved once per module, so instantiating never looks a name up.
#[derive(Clone)]
pub(crate) struct ExportIndices {
    pub memory: ModuleExport,
    pub initialize: Option<ModuleExport>,
    pub just_add: ModuleExport,
    pub simple_add: ModuleExport,
    pub trigger_host_calls: ModuleExport,
    pub point_add: ModuleExport,
    pub get_plugin_shared_value_ptr: ModuleExport,
    pub read_plugin_shared_value: Option<ModuleExport>,
    pub nop: Option<ModuleExport>,
    pub point_add_batch: Option<ModuleExport>,
    pub call_host_n: Option<ModuleExport>,
    pub checksum_bytes: Option<ModuleExport>,
    pub fill_bytes: Option<ModuleExport>,
    /// Set once an instance of this module has had every export above typed with `Func::typed`, the checked way:
    /// from then on the same exports of its other instances are typed without the check (`exports.rs`). Private:
    /// only [`ExportIndices::mark_types_proven`] sets it, and only `Exports::resolve` calls that.
    types_proven: Arc<AtomicBool>,
}

impl ExportIndices {
    /// Whether an instance of this module has had every export typed with wasmtime's check.
    pub(crate) fn types_proven(&self) -> bool {
        self.types_proven.load(Ordering::Acquire)
    }

    /// Records that every export was typed with wasmtime's check: `exports.rs` types them without the check from
    /// then on.
    ///
    /// # Safety
    ///
    /// Every export of an instance of this module must have been typed by `exports::typed` with the types of
    /// `Exports`' fields.
    pub(crate) unsafe fn mark_types_proven(&self) {
        self.types_proven.store(true, Ordering::Release);
    }

    /// Checks the module's exports against the ABI: the memory and every required function must be there with
    /// the right type, and optional functions, where present, must have the right signature.
    pub(crate) fn check(name: &str, module: &Module) -> Result<Self, Error> {
        let missing =
            |export: &str, kind| Error::MissingExport { module: name.to_string(), export: export.to_string(), kind };
        let wrong = |export: &str, expected: String, found: String| Error::WrongSignature {
            module: name.to_string(),
            export: export.to_string(),
            expected,
            found,
        };
        let memory = match module.get_export(guest::MEMORY) {
            Some(ExternType::Memory(ty)) => {
                check_memory(name, module, &ty)?;
                module.get_export_index(guest::MEMORY)
            }
            Some(other) => return Err(wrong(guest::MEMORY, "a memory".into(), extern_kind(&other).into())),
            None => None,
        };
        let memory = memory.ok_or_else(|| missing(guest::MEMORY, "a memory"))?;
        let optional = |f: &AbiFunc| -> Result<Option<ModuleExport>, Error> {
            let found = match module.get_export(f.name) {
                None => return Ok(None),
                Some(ExternType::Func(ty)) if matches_abi(&ty, f) => return Ok(module.get_export_index(f.name)),
                Some(ExternType::Func(ty)) => format!("a function {}", func_type_text(&ty)),
                Some(other) => extern_kind(&other).to_string(),
            };
            Err(wrong(f.name, format!("a function {}", f.signature()), found))
        };
        let required = |f: &AbiFunc| optional(f)?.ok_or_else(|| missing(f.name, "a function"));
        Ok(ExportIndices {
            memory,
            initialize: optional(&INITIALIZE)?,
            just_add: required(&export::JUST_ADD)?,
            simple_add: required(&export::SIMPLE_ADD)?,
            trigger_host_calls: required(&export::TRIGGER_HOST_CALLS)?,
            point_add: required(&export::POINT_ADD)?,
            get_plugin_shared_value_ptr: required(&export::GET_PLUGIN_SHARED_VALUE_PTR)?,
            read_plugin_shared_value: optional(&export::READ_PLUGIN_SHARED_VALUE)?,
            nop: optional(&export::NOP)?,
            point_add_batch: optional(&export::POINT_ADD_BATCH)?,
            call_host_n: optional(&export::CALL_HOST_N)?,
            checksum_bytes: optional(&export::CHECKSUM_BYTES)?,
            fill_bytes: optional(&export::FILL_BYTES)?,
            types_proven: Arc::new(AtomicBool::new(false)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::memory_type_refusal;
    use wasmtime::MemoryType;

    #[test]
    fn every_memory_type_but_a_plain_32_bit_one_is_refused() {
        assert_eq!(memory_type_refusal(&MemoryType::new(17, None)), None);
        let refused = |ty: &MemoryType| memory_type_refusal(ty).unwrap_or_default();
        assert!(refused(&MemoryType::new64(17, None)).contains("64-bit"));
        assert!(refused(&MemoryType::shared(17, 17)).contains("shared"));
        let small_pages = MemoryType::builder().min(17).page_size_log2(0).build().unwrap();
        assert!(refused(&small_pages).contains("1-byte pages"));
    }
}
