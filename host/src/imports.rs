//! Imports the host does not provide. A module that imports functions of its own embedder (a plugin's clock, a
//! runtime's dozen callbacks) is refused at load by default, naming the first such import. Asked to, the host defines
//! each of them as a function that traps when called, naming it, so that the module is compiled, instantiated and
//! measured wherever it does not call them; a request may give an import constant results instead ([`Stub`]).
//! Imports of memories, tables, globals and tags are never made up: they are refused, named. A component's foreign
//! imports are treated alike ([`define_for_component`]): its functions defined to trap, its resources refused.

use crate::error::{HostFunctionError, escape_controls, foreign_import_called as called, one_line};
use std::fmt;
use std::str::FromStr;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, LinkerInstance};
use wasmtime::{ExternType, Linker, Module, Val, ValType};

/// What the host does with a function import that neither WASI preview 1, the guest ABI's `env` functions nor the
/// embedder's own definitions provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForeignImports {
    /// The module is refused at load, naming the import.
    #[default]
    Refuse,
    /// Each is defined as a function that traps when called, naming `module::field`.
    Trap,
}

impl ForeignImports {
    /// Every policy, as `--foreign-imports` and a request's `foreign_imports` name them.
    pub const ALL: &'static [ForeignImports] = &[ForeignImports::Refuse, ForeignImports::Trap];

    pub const fn name(self) -> &'static str {
        match self {
            ForeignImports::Refuse => "refuse",
            ForeignImports::Trap => "trap",
        }
    }

    /// Both asks together: `trap` if either asks for it (the command line's and a request file's).
    pub fn or(self, other: ForeignImports) -> ForeignImports {
        if self == ForeignImports::Trap || other == ForeignImports::Trap { ForeignImports::Trap } else { self }
    }
}

impl fmt::Display for ForeignImports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ForeignImports {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        ForeignImports::ALL.iter().copied().find(|p| p.name() == text).ok_or_else(|| {
            let names: Vec<&str> = ForeignImports::ALL.iter().map(|p| p.name()).collect();
            format!("`{}` is no way of treating foreign imports (one of: {})", escape_controls(text), names.join(", "))
        })
    }
}

/// A function import the caller defines itself: it returns `results` when called, or traps naming itself when
/// `results` is `None`.
#[derive(Debug, Clone)]
pub struct Stub {
    pub module: String,
    pub name: String,
    pub results: Option<Vec<Val>>,
}

/// Defines `stubs` in `linker`, then, under [`ForeignImports::Trap`], every function import of `module` that
/// `linker` still lacks as a trap. A stub must name a function import of `module` whose results its values match;
/// the error says which does not.
pub fn define<T: 'static>(
    linker: &mut Linker<T>,
    module: &Module,
    stubs: &[Stub],
    policy: ForeignImports,
) -> Result<(), String> {
    for stub in stubs {
        let shown = format!("`{}::{}`", escape_controls(&stub.module), escape_controls(&stub.name));
        let import = module.imports().find(|i| i.module() == stub.module && i.name() == stub.name);
        let Some(ExternType::Func(ty)) = import.map(|i| i.ty()) else {
            return Err(format!("the request defines the import {shown}, which is no function import of the module"));
        };
        let defined = match &stub.results {
            Some(results) => {
                let types: Vec<_> = ty.results().collect();
                let fits = types.len() == results.len() && types.iter().zip(results).all(|(t, v)| is_of(v, t));
                if !fits {
                    return Err(format!(
                        "the request gives the import {shown} {} result(s) of other types than it has ({})",
                        results.len(),
                        crate::guest::signature_text(ty.params(), ty.results())
                    ));
                }
                let results = results.clone();
                linker.func_new(&stub.module, &stub.name, ty, move |_, _, out| {
                    out.clone_from_slice(&results);
                    Ok(())
                })
            }
            None => {
                let (module_name, field) = (stub.module.clone(), stub.name.clone());
                linker.func_new(&stub.module, &stub.name, ty, move |_, _, _| {
                    Err(crate::error::HostFunctionError(called(&module_name, &field)).into())
                })
            }
        };
        defined.map_err(|e| format!("the import {shown} cannot be defined: {}", one_line(&e)))?;
    }
    if policy == ForeignImports::Trap {
        linker
            .define_unknown_imports_as_traps(module)
            .map_err(|e| format!("the module's foreign imports cannot be defined: {}", one_line(&e)))?;
    }
    Ok(())
}

/// Whether the number `value` is of type `ty` (stubs return numbers only).
fn is_of(value: &Val, ty: &ValType) -> bool {
    matches!(
        (value, ty),
        (Val::I32(_), ValType::I32)
            | (Val::I64(_), ValType::I64)
            | (Val::F32(_), ValType::F32)
            | (Val::F64(_), ValType::F64)
    )
}

/// The packages of WASI 0.2 the host links for a component (`wasmtime_wasi::p2::add_to_linker_sync`): every other
/// `wasi:` package (`wasi:http`, `wasi:keyvalue`, ...) is foreign.
const WASI_PACKAGES: [&str; 6] =
    ["wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:cli/", "wasi:filesystem/", "wasi:sockets/"];

/// Whether the host itself provides the component import `name`: the interfaces of WASI 0.2 it links (when the
/// host core is built with WASI) and the guest world's `host` interface. What one of them lacks is refused by the
/// linker, named, as without `--foreign-imports trap`.
fn host_provides(name: &str) -> bool {
    let wasi = cfg!(feature = "wasi")
        && WASI_PACKAGES.iter().any(|package| name.starts_with(package))
        && name.split_once('@').is_some_and(|(_, version)| version.starts_with("0.2."));
    wasi || name.starts_with("boundary:guest/host@")
}

/// The first resource type an import holds (itself, or an export of the instance it is), named by its path.
fn resource_in(name: &str, item: &ComponentItem, engine: &wasmtime::Engine) -> Option<String> {
    match item {
        ComponentItem::Resource(_) => Some(name.to_string()),
        ComponentItem::ComponentInstance(instance) => instance
            .exports(engine)
            .find(|(_, export)| matches!(export.ty, ComponentItem::Resource(_)))
            .map(|(field, _)| format!("{name}#{field}")),
        _ => None,
    }
}

/// Under [`ForeignImports::Trap`], defines in `linker` each function `component` imports from outside what the host
/// provides ([`host_provides`]), at the top level or in an imported instance, as a function that traps when called,
/// naming it (`my:host/clock#now`). A resource type, core module or component imported from outside cannot be made
/// up: the error names the first. Under [`ForeignImports::Refuse`], nothing is defined, and the first import from
/// outside is refused, named, with the option that lets it in.
pub fn define_for_component<T: 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    component: &Component,
    policy: ForeignImports,
) -> Result<(), String> {
    let engine = linker.engine().clone();
    let ty = component.component_type();
    if policy == ForeignImports::Refuse {
        let foreign =
            ty.imports(&engine).find(|(name, item)| !host_provides(name) && !matches!(item.ty, ComponentItem::Type(_)));
        let Some((name, item)) = foreign else { return Ok(()) };
        let provided = "it gives a component WASI 0.2 and the guest world's `host` interface";
        return Err(match resource_in(name, &item.ty, &engine) {
            Some(resource) => format!(
                "the component imports `{}`, which the host does not provide ({provided}) and cannot make up: it \
                 holds the resource type `{}` (a trap can stand in for a function, not for a type)",
                escape_controls(name),
                escape_controls(&resource)
            ),
            None => format!(
                "the component imports `{}`, which the host does not provide ({provided}): `--foreign-imports trap` \
                 defines its functions as functions that trap when called",
                escape_controls(name)
            ),
        });
    }
    let cannot = |path: &str, what: &str| {
        format!(
            "the component imports {what} `{}`, which the host does not provide and cannot make up (`--foreign-imports \
             trap` defines functions alone)",
            escape_controls(path)
        )
    };
    for (name, item) in ty.imports(&engine) {
        if host_provides(name) {
            continue;
        }
        match item.ty {
            ComponentItem::ComponentFunc(_) => define_trap(&mut linker.root(), name, name.to_string())?,
            ComponentItem::ComponentInstance(instance) => {
                let mut defined = linker.instance(name).map_err(|e| cannot_define(name, &e))?;
                for (field, item) in instance.exports(&engine) {
                    let path = format!("{name}#{field}");
                    match item.ty {
                        ComponentItem::ComponentFunc(_) => define_trap(&mut defined, field, path)?,
                        ComponentItem::Type(_) => {}
                        other => return Err(cannot(&path, item_kind(&other))),
                    }
                }
            }
            ComponentItem::Type(_) => {}
            other => return Err(cannot(name, item_kind(&other))),
        }
    }
    Ok(())
}

/// Defines `field` in `instance` as a function that traps naming `path` when called.
fn define_trap<T: 'static>(instance: &mut LinkerInstance<'_, T>, field: &str, path: String) -> Result<(), String> {
    let defined = instance.func_new(field, move |_, _, _, _| {
        Err(HostFunctionError(crate::error::foreign_component_import_called(&path)).into())
    });
    defined.map_err(|e| cannot_define(field, &e))
}

fn cannot_define(name: &str, e: &wasmtime::Error) -> String {
    format!("the import `{}` cannot be defined: {}", escape_controls(name), one_line(e))
}

/// What a component item is, in a sentence.
fn item_kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) => "the function",
        ComponentItem::CoreFunc(_) => "the core function",
        ComponentItem::Module(_) => "the core module",
        ComponentItem::Component(_) => "the component",
        ComponentItem::ComponentInstance(_) => "the instance",
        ComponentItem::Type(_) => "the type",
        ComponentItem::Resource(_) => "the resource type",
    }
}
