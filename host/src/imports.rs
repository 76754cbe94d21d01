//! Imports the host does not provide. A module that imports functions of its own embedder (a plugin's clock, a
//! runtime's dozen callbacks) is refused at load by default, naming the first such import. Asked to, the host defines
//! each of them as a function that traps when called, naming it, so that the module is compiled, instantiated and
//! measured wherever it does not call them; a request may give an import constant results instead ([`Stub`]).
//! Imports of memories, tables, globals and tags are never made up: they are refused, named.

use crate::error::{escape_controls, foreign_import_called as called};
use std::fmt;
use std::str::FromStr;
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
        defined.map_err(|e| format!("the import {shown} cannot be defined: {}", crate::error::one_line(&e)))?;
    }
    if policy == ForeignImports::Trap {
        linker
            .define_unknown_imports_as_traps(module)
            .map_err(|e| format!("the module's foreign imports cannot be defined: {}", crate::error::one_line(&e)))?;
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
