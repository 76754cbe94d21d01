//! A component export named by `--invoke`, of a component of any world: its parameters and results of every type
//! WAVE, the value syntax of wasmtime's tooling, can write (scalars, `string`, `list`, `record`, `tuple`, `variant`,
//! `enum`, `option`, `result`, `flags`), its arguments given in WAVE (`greet="world"`, `sum=[1, 2, 3]`,
//! `scale={x: 1, y: -2}, 3`), or zeros of their types when none are given, and its results shown in WAVE.
//! Resource handles, futures, streams and maps cannot be written or kept between calls: an export that takes or
//! returns one is refused, naming the type.

use super::spec::{FLOAT_FORMS, INTEGER_FORMS, InvokeSpec, parse_integer_bits};
use boundary_host::escape_controls;
use boundary_host::plugin::check_expectations;
use boundary_host::wasmtime::component::types::ComponentItem;
use boundary_host::wasmtime::component::wasm_wave::untyped::UntypedFuncCall;
use boundary_host::wasmtime::component::{self, Type, Val};
use boundary_host::wasmtime::{self, Store};
use std::hint::black_box;

/// The WIT text of `ty`, e.g. `list<u8>`, `option<string>`, `record { x: s32, y: s32 }`.
pub fn type_text(ty: &Type) -> String {
    let list = |types: Vec<String>| types.join(", ");
    match ty {
        Type::String => "string".into(),
        Type::List(l) => format!("list<{}>", type_text(&l.ty())),
        #[cfg(not(wasmtime_before_48))]
        Type::FixedLengthList(l) => format!("list<{}, {}>", type_text(&l.ty()), l.len()),
        Type::Map(m) => format!("map<{}, {}>", type_text(&m.key()), type_text(&m.value())),
        Type::Record(r) => {
            let fields = r.fields().map(|f| format!("{}: {}", f.name, type_text(&f.ty))).collect();
            format!("record {{ {} }}", list(fields))
        }
        Type::Tuple(t) => format!("tuple<{}>", list(t.types().map(|t| type_text(&t)).collect())),
        Type::Variant(v) => {
            let case = |c: component::types::Case<'_>| match c.ty {
                Some(ty) => format!("{}({})", c.name, type_text(&ty)),
                None => c.name.to_string(),
            };
            format!("variant {{ {} }}", list(v.cases().map(case).collect()))
        }
        Type::Enum(e) => format!("enum {{ {} }}", list(e.names().map(String::from).collect())),
        Type::Option(o) => format!("option<{}>", type_text(&o.ty())),
        Type::Result(r) => match (r.ok(), r.err()) {
            (None, None) => "result".into(),
            (Some(ok), None) => format!("result<{}>", type_text(&ok)),
            (None, Some(err)) => format!("result<_, {}>", type_text(&err)),
            (Some(ok), Some(err)) => format!("result<{}, {}>", type_text(&ok), type_text(&err)),
        },
        Type::Flags(f) => format!("flags {{ {} }}", list(f.names().map(String::from).collect())),
        Type::Own(_) => "own<resource>".into(),
        Type::Borrow(_) => "borrow<resource>".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
        scalar => WitScalar::of(scalar).map_or("?", WitScalar::name).into(),
    }
}

/// The part of `ty` that `--invoke` cannot pass or keep, if any: a resource handle (it would have to come from the
/// component and be dropped), a future, a stream or an error context (asynchronous), or a map (WAVE has no syntax
/// for one).
fn unsupported(ty: &Type) -> Option<Type> {
    fn inner(mut types: impl Iterator<Item = Type>) -> Option<Type> {
        types.find_map(|t| unsupported(&t))
    }
    match ty {
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext | Type::Map(_) => {
            Some(ty.clone())
        }
        Type::List(l) => unsupported(&l.ty()),
        #[cfg(not(wasmtime_before_48))]
        Type::FixedLengthList(l) => unsupported(&l.ty()),
        Type::Record(r) => inner(r.fields().map(|f| f.ty)),
        Type::Tuple(t) => inner(t.types()),
        Type::Variant(v) => inner(v.cases().filter_map(|c| c.ty)),
        Type::Option(o) => unsupported(&o.ty()),
        Type::Result(r) => inner(r.ok().into_iter().chain(r.err())),
        _ => None,
    }
}

/// The value of `ty` an export gets when `--invoke` gives no arguments: zero, `false`, `'\0'`, the empty string
/// and list, `none`, `ok` of the zero value, the first case of a variant or an enum, no flags, and records and
/// tuples of zeros. `ty` has passed [`unsupported`].
fn zero(ty: &Type) -> Val {
    let boxed = |ty: Option<Type>| ty.map(|t| Box::new(zero(&t)));
    match ty {
        Type::String => Val::String(String::new()),
        Type::List(_) => Val::List(Vec::new()),
        #[cfg(not(wasmtime_before_48))]
        Type::FixedLengthList(l) => Val::FixedLengthList((0..l.len()).map(|_| zero(&l.ty())).collect()),
        Type::Map(_) => Val::Map(Vec::new()),
        Type::Record(r) => Val::Record(r.fields().map(|f| (f.name.to_string(), zero(&f.ty))).collect()),
        Type::Tuple(t) => Val::Tuple(t.types().map(|t| zero(&t)).collect()),
        Type::Variant(v) => match v.cases().next() {
            Some(case) => Val::Variant(case.name.to_string(), boxed(case.ty)),
            None => Val::Bool(false),
        },
        Type::Enum(e) => Val::Enum(e.names().next().unwrap_or_default().to_string()),
        Type::Option(_) => Val::Option(None),
        Type::Result(r) => Val::Result(Ok(boxed(r.ok()))),
        Type::Flags(_) => Val::Flags(Vec::new()),
        scalar => WitScalar::of(scalar).map_or(Val::Bool(false), WitScalar::zero),
    }
}

/// `text`, the arguments of `--invoke NAME=ARGS`, as values of `types`: WAVE values separated by commas; for a
/// signature of scalars alone, each may also be written as for a core export (0x-hex, a bare character).
fn parse_args(shown: &str, spec: &InvokeSpec, text: &str, types: &[Type]) -> Result<Vec<Val>, String> {
    let wave = parse_wave(text, types);
    let Ok(scalars) = types.iter().map(WitScalar::of).collect::<Result<Vec<_>, _>>() else {
        return wave.map_err(|why| format!("export `{shown}`: {why}"));
    };
    if let Ok(values) = wave {
        return Ok(values);
    }
    let args = spec.listed_args()?.unwrap_or_default();
    if args.len() != scalars.len() {
        return Err(format!("export `{shown}` takes {} argument(s), but --invoke gave {}", scalars.len(), args.len()));
    }
    let parse = |(i, (scalar, arg)): (usize, (&WitScalar, &String))| {
        scalar.parse(arg).map_err(|forms| {
            let (n, arg, ty) = (i + 1, escape_controls(arg), scalar.name());
            format!("export `{shown}`: argument {n} `{arg}` is not a {ty} (write {forms})")
        })
    };
    scalars.iter().zip(&args).enumerate().map(parse).collect()
}

/// `text` as WAVE values of `types`, separated by commas (trailing `option`s may be left out, as `none`), or why not.
fn parse_wave(text: &str, types: &[Type]) -> Result<Vec<Val>, String> {
    // Read as a call of a function named `f`, the form WAVE's parser takes a list of values in: `f(` shifts every
    // position in its errors by two.
    const PREFIX: usize = 2;
    let call = format!("f({text})");
    let parsed = UntypedFuncCall::parse(&call).and_then(|call| call.to_wasm_params::<Val>(types.iter()));
    parsed.map_err(|e| {
        let span = e.span();
        let at = match call.get(span.start.max(PREFIX)..span.end.min(call.len() - 1)) {
            Some(piece) if !piece.trim().is_empty() => format!(" at `{}`", escape_controls(piece)),
            _ if span.start >= call.len() - 1 => " at the end".to_string(),
            _ => String::new(),
        };
        // The reason a value does not fit its type (a missing field, an unknown case) is the error's source.
        let source = std::error::Error::source(&e).map(|source| one_line_text(&source.to_string()));
        let detail = e.detail().map(str::to_string).or(source).map(|d| format!(" ({d})")).unwrap_or_default();
        let types: Vec<String> = types.iter().map(type_text).collect();
        format!(
            "`{}` are not WAVE values of its parameter types ({}): {}{detail}{at}",
            escape_controls(text),
            types.join(", "),
            e.kind()
        )
    })
}

/// `text` on one line, its control characters escaped.
fn one_line_text(text: &str) -> String {
    escape_controls(&text.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

/// A scalar type, whose argument may also be written as a core export's is (a 0x-hex integer's bit pattern, a bare
/// character or its code point), besides its WAVE form: how `--invoke` took a component's arguments before WAVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WitScalar {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
    Char,
}

impl WitScalar {
    /// The scalar `ty` is, or its WIT name if it is none.
    fn of(ty: &Type) -> Result<WitScalar, &'static str> {
        Ok(match ty {
            Type::Bool => WitScalar::Bool,
            Type::S8 => WitScalar::S8,
            Type::U8 => WitScalar::U8,
            Type::S16 => WitScalar::S16,
            Type::U16 => WitScalar::U16,
            Type::S32 => WitScalar::S32,
            Type::U32 => WitScalar::U32,
            Type::S64 => WitScalar::S64,
            Type::U64 => WitScalar::U64,
            Type::Float32 => WitScalar::F32,
            Type::Float64 => WitScalar::F64,
            Type::Char => WitScalar::Char,
            Type::String => return Err("string"),
            Type::List(_) => return Err("list"),
            Type::Map(_) => return Err("map"),
            Type::Record(_) => return Err("record"),
            Type::Tuple(_) => return Err("tuple"),
            Type::Variant(_) => return Err("variant"),
            Type::Enum(_) => return Err("enum"),
            Type::Option(_) => return Err("option"),
            Type::Result(_) => return Err("result"),
            Type::Flags(_) => return Err("flags"),
            Type::Own(_) => return Err("own"),
            Type::Borrow(_) => return Err("borrow"),
            Type::Future(_) => return Err("future"),
            Type::Stream(_) => return Err("stream"),
            Type::ErrorContext => return Err("error-context"),
            #[cfg(not(wasmtime_before_48))]
            Type::FixedLengthList(_) => return Err("fixed-length list"),
        })
    }

    fn name(self) -> &'static str {
        match self {
            WitScalar::Bool => "bool",
            WitScalar::S8 => "s8",
            WitScalar::U8 => "u8",
            WitScalar::S16 => "s16",
            WitScalar::U16 => "u16",
            WitScalar::S32 => "s32",
            WitScalar::U32 => "u32",
            WitScalar::S64 => "s64",
            WitScalar::U64 => "u64",
            WitScalar::F32 => "f32",
            WitScalar::F64 => "f64",
            WitScalar::Char => "char",
        }
    }

    fn zero(self) -> component::Val {
        use component::Val as V;
        match self {
            WitScalar::Bool => V::Bool(false),
            WitScalar::S8 => V::S8(0),
            WitScalar::U8 => V::U8(0),
            WitScalar::S16 => V::S16(0),
            WitScalar::U16 => V::U16(0),
            WitScalar::S32 => V::S32(0),
            WitScalar::U32 => V::U32(0),
            WitScalar::S64 => V::S64(0),
            WitScalar::U64 => V::U64(0),
            WitScalar::F32 => V::Float32(0.0),
            WitScalar::F64 => V::Float64(0.0),
            WitScalar::Char => V::Char('\0'),
        }
    }

    /// `text` as a value of this type, or what forms it may take. Integers as for a core export (hex is the bit
    /// pattern); a char is the one character `text` is, else a code point written as an integer.
    fn parse(self, text: &str) -> Result<component::Val, &'static str> {
        use component::Val as V;
        // Each integer's low bits, checked by `parse_integer_bits` to fit, are its bit pattern.
        let int = |bits, signed| parse_integer_bits(text, bits, signed);
        let parsed = match self {
            WitScalar::Bool => match text {
                "true" => Some(V::Bool(true)),
                "false" => Some(V::Bool(false)),
                _ => None,
            },
            WitScalar::S8 => int(8, true).map(|b| V::S8(b as u8 as i8)),
            WitScalar::U8 => int(8, false).map(|b| V::U8(b as u8)),
            WitScalar::S16 => int(16, true).map(|b| V::S16(b as u16 as i16)),
            WitScalar::U16 => int(16, false).map(|b| V::U16(b as u16)),
            WitScalar::S32 => int(32, true).map(|b| V::S32(b as u32 as i32)),
            WitScalar::U32 => int(32, false).map(|b| V::U32(b as u32)),
            WitScalar::S64 => int(64, true).map(|b| V::S64(b as i64)),
            WitScalar::U64 => int(64, false).map(V::U64),
            WitScalar::F32 => text.parse().ok().map(V::Float32),
            WitScalar::F64 => text.parse().ok().map(V::Float64),
            WitScalar::Char => {
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(V::Char(c)),
                    _ => int(32, false).and_then(|b| char::from_u32(b as u32)).map(V::Char),
                }
            }
        };
        parsed.ok_or(match self {
            WitScalar::Bool => "true or false",
            WitScalar::F32 | WitScalar::F64 => FLOAT_FORMS,
            WitScalar::Char => "one character, or its code point as a decimal or 0x-hex integer",
            WitScalar::S8 | WitScalar::S16 | WitScalar::S32 | WitScalar::S64 => INTEGER_FORMS,
            WitScalar::U8 | WitScalar::U16 | WitScalar::U32 | WitScalar::U64 => "a decimal or 0x-hex integer",
        })
    }
}

/// An export of a component instance, called through `wasmtime::component::Func::call` with reused `Val` buffers.
pub struct ComponentInvoke {
    name: String,
    func: component::Func,
    param_names: Vec<String>,
    param_types: Vec<Type>,
    result_types: Vec<Type>,
    params: Vec<Val>,
    results: Vec<Val>,
}

impl std::fmt::Debug for ComponentInvoke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentInvoke")
            .field("name", &self.name)
            .field("signature", &self.signature())
            .finish_non_exhaustive()
    }
}

impl ComponentInvoke {
    /// As [`super::CoreInvoke::prepare`], for a component's export of any world: its parameters and results may be
    /// of any type but a resource handle, a future, a stream, an error context or a map; its arguments are WAVE
    /// values, or zeros of their types when none are given. A name with a `#` that is no top-level export is looked
    /// up as `INSTANCE#FUNCTION`, a function of an exported instance (`my:pkg/iface#add`). Calls the export once, so
    /// that a call that traps is an error here.
    pub fn prepare<T: 'static>(
        store: &mut Store<T>,
        instance: &component::Instance,
        spec: &InvokeSpec,
    ) -> Result<Self, String> {
        let shown = spec.shown();
        let found = instance.get_export(&mut *store, None, &spec.name).or_else(|| {
            let (outer, name) = spec.name.rsplit_once('#')?;
            let outer = instance.get_export_index(&mut *store, None, outer)?;
            instance.get_export(&mut *store, Some(&outer), name)
        });
        let index = match found {
            Some((ComponentItem::ComponentFunc(_), index)) => index,
            Some((other, _)) => {
                let kind = match other {
                    ComponentItem::ComponentFunc(_) => "a function",
                    ComponentItem::CoreFunc(_) => "a core function",
                    ComponentItem::Module(_) => "a core module",
                    ComponentItem::Component(_) => "a component",
                    ComponentItem::ComponentInstance(_) => "an instance",
                    ComponentItem::Type(_) => "a type",
                    ComponentItem::Resource(_) => "a resource type",
                };
                return Err(format!("export `{shown}` is {kind}, not a function"));
            }
            None => return Err(format!("the component has no export named `{shown}`")),
        };
        let func = instance
            .get_func(&mut *store, index)
            .ok_or_else(|| format!("export `{shown}` is not a lifted function"))?;
        let ty = func.ty(&*store);
        if ty.async_() {
            return Err(format!("export `{shown}` is lifted async, and only a synchronous call is measured"));
        }
        let check = |ty: Type, what: &str| match unsupported(&ty) {
            Some(part) if part == ty => Err(format!("export `{shown}` has unsupported {what} type {}", type_text(&ty))),
            Some(part) => Err(format!(
                "export `{shown}` has unsupported {what} type {} (it holds the type {}, which cannot be passed or kept)",
                type_text(&ty),
                type_text(&part)
            )),
            None => Ok(ty),
        };
        let mut param_names = Vec::new();
        let mut param_types = Vec::new();
        for (name, ty) in ty.params() {
            param_names.push(name.to_string());
            param_types.push(check(ty, "parameter")?);
        }
        let result_types = ty.results().map(|ty| check(ty, "result")).collect::<Result<Vec<_>, _>>()?;
        let params = match &spec.args {
            None => param_types.iter().map(zero).collect(),
            Some(text) => parse_args(&shown, spec, text, &param_types)?,
        };
        let mut call = ComponentInvoke {
            name: spec.name.clone(),
            func,
            results: result_types.iter().map(zero).collect(),
            param_names,
            param_types,
            result_types,
            params,
        };
        call.call(store).map_err(|e| {
            let why = match e.downcast_ref::<wasmtime::Trap>() {
                Some(wasmtime::Trap::Interrupt) => "it was interrupted at its deadline (--timeout)".to_string(),
                _ => crate::guard::describe(&e),
            };
            format!(
                "export `{shown}`: the trial call through `component::Func::call` failed: {why}; a call that fails \
                 cannot be measured, give arguments it accepts in {}",
                spec.where_args_go()
            )
        })?;
        Ok(call)
    }

    /// The export's type with its parameter names, e.g. `(a: u32, b: u32) -> u32`.
    pub fn signature(&self) -> String {
        let names = self.param_names.iter().map(|name| escape_controls(name));
        let params = names.zip(&self.param_types).map(|(name, ty)| format!("{name}: {}", type_text(ty)));
        boundary_host::guest::signature_text(params, self.result_types.iter().map(type_text))
    }

    /// The call as WAVE would write it, with the arguments it is made with: `greet("world")`.
    pub fn call_text(&self) -> String {
        format!("{}({})", escape_controls(&self.name), wave_list(&self.params))
    }

    /// Whether the results of the last call meet `spec`'s expectations (a request's `[expect]`), as WAVE writes them;
    /// the first that fails, in one line, if one does.
    pub fn check_results(&self, spec: &InvokeSpec) -> Result<(), String> {
        let results = wave_text(&self.results);
        let failed = check_expectations(&spec.expect, results.as_bytes())
            .into_iter()
            .find_map(|check| check.failed.map(|why| format!("({}): {why}", check.expectation)));
        match failed {
            None => Ok(()),
            Some(why) => Err(format!(
                "export `{}`: the call returned `{}`, which fails the request's [expect] {}",
                spec.shown(),
                escape_controls(&results),
                escape_controls(&why)
            )),
        }
    }

    /// The results of the last call in WAVE, separated by commas (`"hello, world"`, `ok(3)`); empty for none.
    pub fn results_text(&self) -> String {
        wave_list(&self.results)
    }

    /// One call through `component::Func::call`, with the buffers made in `prepare`. wasmtime 48 runs the
    /// export's post-return itself, so there is nothing to call after it.
    #[inline]
    pub fn call<T: 'static>(&mut self, store: &mut Store<T>) -> wasmtime::Result<()> {
        self.func.call(&mut *store, black_box(&self.params), &mut self.results)?;
        black_box(&self.results);
        Ok(())
    }

    /// The results the last call left (zeros before the first).
    pub fn results(&self) -> &[Val] {
        &self.results
    }
}

/// `values` in WAVE, separated by commas, escaped for one line.
fn wave_list(values: &[Val]) -> String {
    escape_controls(&wave_text(values)).into_owned()
}

/// `values` in WAVE, separated by commas (a value WAVE cannot write, which `prepare` refuses, as its Rust form): what
/// a request's `[expect]` checks.
pub fn wave_text(values: &[Val]) -> String {
    let text = |v: &Val| v.to_wave().unwrap_or_else(|_| format!("{v:?}"));
    values.iter().map(text).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use boundary_host::wasmtime::Engine;

    /// `greet` takes a string, lifted with a memory and a `realloc`; `make` and `take` a resource handle, which
    /// `--invoke` refuses.
    const COMPONENT: &str = r#"
        (component
          (core module $m
            (memory (export "mem") 1)
            (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
            (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
            (func (export "trap") unreachable)
            (func (export "next") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
            (func (export "inverse") (result i32) unreachable)
            (func (export "drop") (param i32))
            (func (export "greet") (param i32 i32)))
          (core instance $i (instantiate $m))
          (alias core export $i "mem" (core memory $mem))
          (alias core export $i "realloc" (core func $realloc))
          (func (export "add") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
          (func (export "trap") (canon lift (core func $i "trap")))
          (func (export "next") (param "c" char) (result char) (canon lift (core func $i "next")))
          (func (export "greet") (param "name" string)
            (canon lift (core func $i "greet") (memory $mem) (realloc $realloc)))
          (type $r (resource (rep i32)))
          (export $thing "thing" (type $r))
          (func (export "make") (result (own $thing)) (canon lift (core func $i "inverse")))
          (func (export "take") (param "t" (own $thing)) (canon lift (core func $i "drop")))
          (func (export "wrapped") (param "t" (option (own $thing))) (canon lift (core func $i "greet")))
        )
    "#;

    fn component_instance(wat: &str) -> (Store<()>, component::Instance) {
        let engine = Engine::default();
        let component = component::Component::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = component::Linker::new(&engine).instantiate(&mut store, &component).unwrap();
        (store, instance)
    }

    #[test]
    fn a_component_export_is_called() {
        let (mut store, instance) = component_instance(COMPONENT);
        let spec = InvokeSpec::parse("add=40,2").unwrap();
        let mut call = ComponentInvoke::prepare(&mut store, &instance, &spec).unwrap();
        assert_eq!(call.signature(), "(a: u32, b: u32) -> u32");
        assert_eq!(format!("{call:?}"), r#"ComponentInvoke { name: "add", signature: "(a: u32, b: u32) -> u32", .. }"#);
        call.results.fill(component::Val::U32(0));
        call.call(&mut store).unwrap();
        call.call(&mut store).unwrap();
        assert_eq!(call.results(), [component::Val::U32(42)]);

        let mut call = ComponentInvoke::prepare(&mut store, &instance, &InvokeSpec::parse("next=a").unwrap()).unwrap();
        assert_eq!(call.results(), [component::Val::Char('b')]);
        call.call(&mut store).unwrap();
        let mut call =
            ComponentInvoke::prepare(&mut store, &instance, &InvokeSpec::parse("next=0x40").unwrap()).unwrap();
        call.call(&mut store).unwrap();
        assert_eq!(call.results(), [component::Val::Char('A')]);

        let mut call = ComponentInvoke::prepare(&mut store, &instance, &InvokeSpec::parse("greet").unwrap()).unwrap();
        assert_eq!((call.call_text(), call.results_text()), (r#"greet("")"#.to_string(), String::new()));
        call.call(&mut store).unwrap();

        let mut error = |text: &str| ComponentInvoke::prepare(&mut store, &instance, &InvokeSpec::parse(text).unwrap());
        let cases = [
            ("missing", "no export named `missing`"),
            ("add=1", "export `add` takes 2 argument(s), but --invoke gave 1"),
            ("add=1,-1", "export `add`: argument 2 `-1` is not a u32"),
            ("next=ab", "export `next`: argument 1 `ab` is not a char"),
            ("trap", "export `trap`: the trial call"),
            ("make", "export `make` has unsupported result type own<resource>"),
            ("take", "export `take` has unsupported parameter type own<resource>"),
            ("wrapped", "unsupported parameter type option<own<resource>> (it holds the type own<resource>"),
        ];
        for (text, expected) in cases {
            let message = error(text).unwrap_err();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains('\n'), "{text}: {message}");
        }
    }

    /// The WASI component fixture (`guest/wasi-component`), linked by the host core as every command links a user's
    /// component, and one instance of it.
    fn fixture() -> (Store<boundary_host::HostState>, component::Instance) {
        let (profile, options) = (boundary_host::EngineProfile::Cranelift, boundary_host::HostOptions::default());
        let engine = profile.engine().unwrap();
        let bytes = boundary_host::guest::WASI_COMPONENT_WASM;
        let linked = boundary_host::LinkedComponent::load("fixture".into(), bytes, false, profile, &engine, options);
        linked.unwrap().instantiate().unwrap()
    }

    /// What `--invoke TEXT` called on the fixture, and what it returned, both in WAVE.
    fn invoked(store: &mut Store<boundary_host::HostState>, instance: &component::Instance, text: &str) -> String {
        let spec = InvokeSpec::parse(text).unwrap();
        let call = ComponentInvoke::prepare(store, instance, &spec).unwrap_or_else(|e| panic!("{text}: {e}"));
        format!("{} = {}", call.call_text(), call.results_text())
    }

    #[test]
    fn a_component_of_any_world_is_invoked_with_wave_values() {
        let (mut store, instance) = fixture();
        let cases = [
            (r#"greet="world""#, r#"greet("world") = "hello, world!""#),
            ("greet", r#"greet("") = "hello, !""#),
            (
                r#"greet="\u{1F600} \"quoted\", and commas""#,
                r#"greet("😀 \"quoted\", and commas") = "hello, 😀 \"quoted\", and commas!""#,
            ),
            ("sum-bytes=[1, 2, 250]", "sum-bytes([1, 2, 250]) = 253"),
            ("sum-bytes=[]", "sum-bytes([]) = 0"),
            ("reverse=[1,2,3]", "reverse([1, 2, 3]) = [3, 2, 1]"),
            ("scale={x: 1, y: -2}, 3", "scale({x: 1, y: -2}, 3) = {x: 3, y: -6}"),
            ("scale", "scale({x: 0, y: 0}, 0) = {x: 0, y: 0}"),
            ("divide=7, 2", "divide(7, 2) = ok(3)"),
            ("divide=1,0", r#"divide(1, 0) = err("1 / 0 has no s32 result")"#),
            ("divide=0x10,0x2", "divide(16, 2) = ok(8)"),
            (r#"find=["a", "b"], "b""#, r#"find(["a", "b"], "b") = some(1)"#),
            (r#"find=[], "b""#, r#"find([], "b") = none"#),
            (r#"swap=(7, "x")"#, r#"swap((7, "x")) = ("x", 7)"#),
            ("in-bytes=2, kibibytes", "in-bytes(2, kibibytes) = 2048"),
            ("in-bytes", "in-bytes(0, bytes) = 0"),
        ];
        for (text, expected) in cases {
            assert_eq!(invoked(&mut store, &instance, text), expected, "{text}");
        }
        let spec = InvokeSpec::parse("scale").unwrap();
        let call = ComponentInvoke::prepare(&mut store, &instance, &spec).unwrap();
        assert_eq!(call.signature(), "(p: record { x: s32, y: s32 }, factor: s32) -> record { x: s32, y: s32 }");
        let spec = InvokeSpec::parse("find").unwrap();
        let call = ComponentInvoke::prepare(&mut store, &instance, &spec).unwrap();
        assert_eq!(call.signature(), "(items: list<string>, needle: string) -> option<u32>");
    }

    #[test]
    fn arguments_that_are_not_wave_values_of_the_parameters_are_one_line_naming_them() {
        let (mut store, instance) = fixture();
        let cases = [
            ("greet=5", "export `greet`: `5` are not WAVE values of its parameter types (string)"),
            ("greet=world", "are not WAVE values of its parameter types (string)"),
            (r#"greet="a", "b""#, "(string): invalid params (more param(s) than expected) at `\"b\"`"),
            ("sum-bytes=[1, 300]", "`[1, 300]` are not WAVE values of its parameter types (list<u8>)"),
            ("scale={x: 1}, 3", r#"(record { x: s32, y: s32 }, s32): error converting Wasm value (missing field "y")"#),
            ("in-bytes=2, megabytes", "(u64, enum { bytes, kibibytes }): error converting Wasm value (expected"),
            ("divide=1", "export `divide` takes 2 argument(s), but --invoke gave 1"),
            ("divide=1,x", "export `divide`: argument 2 `x` is not a s32"),
            (r#"greet="unterminated"#, "are not WAVE values"),
        ];
        for (text, expected) in cases {
            let spec = InvokeSpec::parse(text).unwrap();
            let error = ComponentInvoke::prepare(&mut store, &instance, &spec).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains('\n'), "{text}: {error}");
        }
    }

    /// The WASI 0.2 world the host gives a component: no environment variable of the host's, no directory, and no
    /// network.
    #[test]
    fn a_component_sees_no_environment_no_directory_and_no_network() {
        assert!(std::env::vars().next().is_some(), "the test runs with an environment to leak");
        let (mut store, instance) = fixture();
        assert_eq!(invoked(&mut store, &instance, "environment"), "environment() = []");
        for dir in [r#""/""#, r#"".""#] {
            let listed = invoked(&mut store, &instance, &format!("list-dir={dir}"));
            assert!(listed.contains("= err("), "{listed}");
        }
        // A port that is listening: the guest's connection is refused by the host, not by the port.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connected = invoked(&mut store, &instance, &format!(r#"connect="127.0.0.1:{port}""#));
        assert!(connected.contains("= err("), "{connected}");
        listener.set_nonblocking(true).unwrap();
        assert!(listener.accept().is_err(), "the guest reached the host's listener");
    }
}
