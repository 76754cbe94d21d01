//! What a live instance touches of its linear memory, found from the module alone, for any module: the density runs
//! (`requests.rs`) write one byte into each of these pages of every instance they keep, so that resident memory per
//! instance holds the guest pages a real instance holds, not only wasmtime's bookkeeping.
//!
//! A module built by LLVM (Rust, C) for wasm32 has its shadow stack pointer in a mutable global (`__stack_pointer`,
//! global 0), its statics in active data segments at constant offsets, and its heap after them (`__heap_base`,
//! exported by some builds). The pages found are:
//!
//! 1. the stack's top page: the page just below the initial stack pointer, which a call's first frame writes;
//! 2. every page an active data segment of the exported memory initialises;
//! 3. the heap's first page: at `__heap_base` if the module exports it, else at `__data_end`, else where the highest
//!    data segment ends (where the heap begins when the module has no zeroed statics).
//!
//! What cannot be found is said ([`Footprint::not_found`]) and not touched.

use boundary_host::{Wasm, guest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wasmparser::{DataKind, ExternalKind, KnownCustom, Name, Operator, Parser, Payload, TypeRef, ValType};

/// The page the kernel maps and faults in: the unit of resident memory.
pub const PAGE: u64 = 4 << 10;

/// One page a live instance touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchedPage {
    /// The page's first byte in linear memory.
    pub offset: u64,
    /// What the page holds and how it was found.
    pub holds: String,
}

/// The pages of linear memory each live instance of a module touches, lowest first, and what was looked for but not
/// found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footprint {
    pub pages: Vec<TouchedPage>,
    pub not_found: Vec<String>,
}

/// A constant initialiser's value (`i32.const` or `i64.const`, then `end`), if that is what `expr` is.
fn constant(expr: &wasmparser::ConstExpr<'_>) -> Option<u64> {
    let mut ops = expr.get_operators_reader();
    let value = match ops.read().ok()? {
        Operator::I32Const { value } => u64::from(value as u32),
        Operator::I64Const { value } => value as u64,
        _ => return None,
    };
    matches!(ops.read().ok()?, Operator::End).then_some(value)
}

/// A defined global, as far as this needs it.
struct Global {
    index: u32,
    mutable: bool,
    integer: bool,
    value: Option<u64>,
}

/// What the module says of its memory, globals and data.
#[derive(Default)]
struct Module {
    imported_globals: u32,
    imported_memories: u32,
    globals: Vec<Global>,
    /// Index and initial size in bytes of each memory the module defines, in index order.
    memories: Vec<(u32, u64)>,
    exported_memory: Option<u32>,
    exported_globals: BTreeMap<String, u32>,
    global_names: BTreeMap<u32, String>,
    /// Index, memory index, constant offset (if constant) and length of each active data segment.
    data: Vec<(usize, u32, Option<u64>, u64)>,
}

impl Module {
    fn read(bytes: &[u8]) -> Result<Self, String> {
        let mut m = Module::default();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(|e| e.to_string())? {
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        match import.map_err(|e| e.to_string())?.ty {
                            TypeRef::Global(_) => m.imported_globals += 1,
                            TypeRef::Memory(_) => m.imported_memories += 1,
                            _ => {}
                        }
                    }
                }
                Payload::MemorySection(reader) => {
                    for (i, memory) in reader.into_iter().enumerate() {
                        let memory = memory.map_err(|e| e.to_string())?;
                        let page = 1u64 << memory.page_size_log2.unwrap_or(16);
                        m.memories.push((m.imported_memories + i as u32, memory.initial.saturating_mul(page)));
                    }
                }
                Payload::GlobalSection(reader) => {
                    for (i, global) in reader.into_iter().enumerate() {
                        let global = global.map_err(|e| e.to_string())?;
                        m.globals.push(Global {
                            index: m.imported_globals + i as u32,
                            mutable: global.ty.mutable,
                            integer: matches!(global.ty.content_type, ValType::I32 | ValType::I64),
                            value: constant(&global.init_expr),
                        });
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(|e| e.to_string())?;
                        match export.kind {
                            ExternalKind::Memory if export.name == guest::MEMORY => {
                                m.exported_memory = Some(export.index)
                            }
                            ExternalKind::Global => {
                                m.exported_globals.insert(export.name.to_string(), export.index);
                            }
                            _ => {}
                        }
                    }
                }
                Payload::DataSection(reader) => {
                    for (i, data) in reader.into_iter().enumerate() {
                        let data = data.map_err(|e| e.to_string())?;
                        if let DataKind::Active { memory_index, offset_expr } = data.kind {
                            m.data.push((i, memory_index, constant(&offset_expr), data.data.len() as u64));
                        }
                    }
                }
                Payload::CustomSection(reader) => {
                    // A malformed name section names nothing; it does not make the module unreadable.
                    if let KnownCustom::Name(names) = reader.as_known() {
                        for name in names.into_iter().flatten() {
                            if let Name::Global(map) = name {
                                for naming in map.into_iter().flatten() {
                                    m.global_names.insert(naming.index, naming.name.to_string());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(m)
    }

    fn global(&self, index: u32) -> Option<&Global> {
        self.globals.iter().find(|g| g.index == index)
    }

    /// The value of the exported global `name`, if the module defines it with a constant.
    fn exported_value(&self, name: &str) -> Option<u64> {
        self.global(*self.exported_globals.get(name)?)?.value
    }

    /// The initial stack pointer and how it was found: the global named `__stack_pointer`, else the first defined
    /// mutable integer global that is not exported and starts at a constant (wasm-ld makes it global 0).
    fn stack_pointer(&self) -> Option<(u64, String)> {
        let named = self.global_names.iter().find(|(_, name)| *name == "__stack_pointer");
        if let Some(global) = named.and_then(|(index, _)| self.global(*index)) {
            return global.value.map(|sp| (sp, "`__stack_pointer`, named in the name section".to_string()));
        }
        let exported: Vec<u32> = self.exported_globals.values().copied().collect();
        self.globals
            .iter()
            .find(|g| g.mutable && g.integer && g.value.is_some() && !exported.contains(&g.index))
            .and_then(|g| {
                let how = format!("global {}, the first mutable one (where wasm-ld puts `__stack_pointer`)", g.index);
                Some((g.value?, how))
            })
    }
}

/// An offset in memory, readably and exactly: `1020 KiB`, `1 MiB`, `1 MiB + 4 B`.
pub fn at(bytes: u64) -> String {
    let parts = [(bytes >> 20, "MiB"), ((bytes >> 10) & 1023, "KiB"), (bytes & 1023, "B")];
    let written: Vec<String> = parts.iter().filter(|(n, _)| *n > 0).map(|(n, unit)| format!("{n} {unit}")).collect();
    if written.is_empty() { "0 B".to_string() } else { written.join(" + ") }
}

impl Footprint {
    /// The pages a live instance of `wasm` touches ([the module's documentation](self)).
    pub fn of(wasm: &Wasm) -> Footprint {
        let binary = if wasm.is_text {
            match wat::parse_bytes(&wasm.bytes) {
                Ok(binary) => binary.into_owned(),
                Err(e) => return Footprint::nothing(format!("the module's text could not be read: {e}")),
            }
        } else {
            wasm.bytes.clone()
        };
        match Module::read(&binary) {
            Ok(module) => Footprint::of_module(&module),
            Err(e) => Footprint::nothing(format!("the module could not be read: {e}")),
        }
    }

    fn nothing(why: String) -> Footprint {
        Footprint { pages: Vec::new(), not_found: vec![why] }
    }

    fn of_module(module: &Module) -> Footprint {
        let memory = module.exported_memory.and_then(|index| module.memories.iter().find(|(i, _)| *i == index));
        let Some(&(memory_index, size)) = memory else {
            return Footprint::nothing(format!(
                "the module defines and exports no memory `{}`: no page is touched",
                guest::MEMORY
            ));
        };
        let mut pages: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let mut not_found = Vec::new();
        let mut touch = |offset: u64, holds: String, not_found: &mut Vec<String>| {
            let page = offset / PAGE * PAGE;
            if page < size {
                pages.entry(page).or_default().push(holds);
            } else {
                not_found.push(format!("{holds}: past the initial memory of {}, not touched", at(size)));
            }
        };
        match module.stack_pointer() {
            Some((sp, how)) if sp > 0 => touch(
                sp - 1,
                format!("the stack's top page, below the initial stack pointer {} ({how})", at(sp)),
                &mut not_found,
            ),
            _ => not_found.push("no stack pointer (no mutable integer global with a constant start)".to_string()),
        }
        let mut data_end: Option<u64> = None;
        for &(index, memory, offset, len) in &module.data {
            if memory != memory_index || len == 0 {
                continue;
            }
            let Some(offset) = offset else {
                not_found.push(format!("data segment {index}: its offset is not a constant, not touched"));
                continue;
            };
            let end = offset.saturating_add(len);
            data_end = data_end.max(Some(end));
            let mut page = offset / PAGE * PAGE;
            while page < end {
                touch(page, format!("data segment {index} ({len} bytes at {})", at(offset)), &mut not_found);
                page += PAGE;
            }
        }
        let heap = match (module.exported_value("__heap_base"), module.exported_value("__data_end"), data_end) {
            (Some(base), _, _) => Some((base, "`__heap_base`, exported")),
            (None, Some(end), _) => Some((end, "`__data_end`, exported")),
            (None, None, Some(end)) => Some((end, "where the highest data segment ends; no `__heap_base` is exported")),
            (None, None, None) => None,
        };
        match heap {
            Some((base, how)) => touch(base, format!("the heap's first page, at {} ({how})", at(base)), &mut not_found),
            None => not_found.push("no heap: no `__heap_base` or `__data_end` exported and no data".to_string()),
        }
        let pages = pages.into_iter().map(|(offset, holds)| TouchedPage { offset, holds: holds.join("; ") }).collect();
        Footprint { pages, not_found }
    }

    /// Writes one byte, the one already there, into each page of `memory`: the page is then resident and private
    /// to the instance, as one its guest wrote is, and the instance's state is unchanged.
    pub fn touch(&self, memory: &mut [u8]) {
        for page in &self.pages {
            if let Some(byte) = usize::try_from(page.offset).ok().and_then(|i| memory.get_mut(i)) {
                *byte = std::hint::black_box(*byte);
            }
        }
    }
}
