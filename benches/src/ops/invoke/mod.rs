//! The exports a user names with `--invoke NAME[=ARGS]`, on their own module or component, prepared once and then
//! called over and over by the matrix and the gate. A core export is called three ways (`TypedFunc::call`,
//! `Func::call` with reused `Val` buffers, `Func::call_unchecked` with a reused `ValRaw` buffer), a component's
//! through `component::Func::call`. Everything that can fail or allocate (the lookup, the type checks, parsing the
//! arguments, a trial call) happens in `prepare`, so a timed loop holds nothing but the call.

use boundary_host::error::one_line;
use boundary_host::escape_controls;
use boundary_host::wasmtime::{self, Extern, Func, Instance, Store, TypedFunc, Val, ValRaw, ValType, WasmTy};
use std::hint::black_box;

mod component;
mod spec;

pub use component::{ComponentInvoke, wave_text};
pub use spec::InvokeSpec;
use spec::{FLOAT_FORMS, INTEGER_FORMS, parse_integer_bits};

/// A number type a core export's parameter or result may have: the ones a plain number on the command line can
/// stand for, and the only ones whose `ValRaw` needs no store to be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    I32,
    I64,
    F32,
    F64,
}

impl Num {
    fn of(ty: &ValType) -> Option<Num> {
        match ty {
            ValType::I32 => Some(Num::I32),
            ValType::I64 => Some(Num::I64),
            ValType::F32 => Some(Num::F32),
            ValType::F64 => Some(Num::F64),
            ValType::V128 | ValType::Ref(_) => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Num::I32 => "i32",
            Num::I64 => "i64",
            Num::F32 => "f32",
            Num::F64 => "f64",
        }
    }

    fn zero(self) -> Val {
        match self {
            Num::I32 => Val::I32(0),
            Num::I64 => Val::I64(0),
            Num::F32 => Val::F32(0f32.to_bits()),
            Num::F64 => Val::F64(0f64.to_bits()),
        }
    }

    /// `text` as a value of this type, or what forms it may take.
    fn parse(self, text: &str) -> Result<Val, &'static str> {
        let parsed = match self {
            // The low 32 bits are the i32's bit pattern.
            Num::I32 => parse_integer_bits(text, 32, true).map(|bits| Val::I32(bits as u32 as i32)),
            Num::I64 => parse_integer_bits(text, 64, true).map(|bits| Val::I64(bits as i64)),
            Num::F32 => text.parse::<f32>().ok().map(|x| Val::F32(x.to_bits())),
            Num::F64 => text.parse::<f64>().ok().map(|x| Val::F64(x.to_bits())),
        };
        parsed.ok_or(match self {
            Num::I32 | Num::I64 => INTEGER_FORMS,
            Num::F32 | Num::F64 => FLOAT_FORMS,
        })
    }

    /// `value`, which `prepare` built for this type, in the form `Func::call_unchecked` reads.
    fn to_raw(self, value: &Val) -> ValRaw {
        match (self, value) {
            (Num::I32, Val::I32(x)) => ValRaw::i32(*x),
            (Num::I64, Val::I64(x)) => ValRaw::i64(*x),
            (Num::F32, Val::F32(bits)) => ValRaw::f32(*bits),
            (Num::F64, Val::F64(bits)) => ValRaw::f64(*bits),
            // Unreachable: every value is built by `zero` or `parse` of its own type. Zero bits are still a valid
            // value of every number type, so nothing unsound could follow from it.
            _ => ValRaw::i64(0),
        }
    }

    /// A result `Func::call_unchecked` left in `raw`.
    fn read_raw(self, raw: &ValRaw) -> Val {
        match self {
            Num::I32 => Val::I32(raw.get_i32()),
            Num::I64 => Val::I64(raw.get_i64()),
            Num::F32 => Val::F32(raw.get_f32()),
            Num::F64 => Val::F64(raw.get_f64()),
        }
    }
}

/// Numbers as they are written on the command line, separated by commas.
fn number_list(values: &[Val]) -> String {
    let text = |value: &Val| match value {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        other => format!("{other:?}"),
    };
    values.iter().map(text).collect::<Vec<_>>().join(", ")
}

/// A Rust type the typed path passes or returns for one of the [`Num`] types.
trait TypedNum: WasmTy + Copy {
    const NUM: Num;
    fn from_val(val: &Val) -> Option<Self>;
    fn into_val(self) -> Val;
}

impl TypedNum for i32 {
    const NUM: Num = Num::I32;
    fn from_val(val: &Val) -> Option<Self> {
        val.i32()
    }
    fn into_val(self) -> Val {
        Val::I32(self)
    }
}

impl TypedNum for i64 {
    const NUM: Num = Num::I64;
    fn from_val(val: &Val) -> Option<Self> {
        val.i64()
    }
    fn into_val(self) -> Val {
        Val::I64(self)
    }
}

impl TypedNum for f32 {
    const NUM: Num = Num::F32;
    fn from_val(val: &Val) -> Option<Self> {
        val.f32()
    }
    fn into_val(self) -> Val {
        Val::F32(self.to_bits())
    }
}

impl TypedNum for f64 {
    const NUM: Num = Num::F64;
    fn from_val(val: &Val) -> Option<Self> {
        val.f64()
    }
    fn into_val(self) -> Val {
        Val::F64(self.to_bits())
    }
}

/// The parameter tuple of a typed call: its types, and the tuple built from the prepared values.
trait TypedParams: wasmtime::WasmParams + Copy {
    const NUMS: &'static [Num];
    fn from_vals(vals: &[Val]) -> Option<Self>;
}

impl TypedParams for () {
    const NUMS: &'static [Num] = &[];
    fn from_vals(vals: &[Val]) -> Option<Self> {
        vals.is_empty().then_some(())
    }
}

impl<A: TypedNum> TypedParams for (A,) {
    const NUMS: &'static [Num] = &[A::NUM];
    fn from_vals(vals: &[Val]) -> Option<Self> {
        match vals {
            [a] => Some((A::from_val(a)?,)),
            _ => None,
        }
    }
}

impl<A: TypedNum, B: TypedNum> TypedParams for (A, B) {
    const NUMS: &'static [Num] = &[A::NUM, B::NUM];
    fn from_vals(vals: &[Val]) -> Option<Self> {
        match vals {
            [a, b] => Some((A::from_val(a)?, B::from_val(b)?)),
            _ => None,
        }
    }
}

impl<A: TypedNum, B: TypedNum, C: TypedNum> TypedParams for (A, B, C) {
    const NUMS: &'static [Num] = &[A::NUM, B::NUM, C::NUM];
    fn from_vals(vals: &[Val]) -> Option<Self> {
        match vals {
            [a, b, c] => Some((A::from_val(a)?, B::from_val(b)?, C::from_val(c)?)),
            _ => None,
        }
    }
}

/// The `TypedFunc` of one parameter tuple, by its result.
enum TypedRet<P> {
    Unit(TypedFunc<P, ()>),
    I32(TypedFunc<P, i32>),
    I64(TypedFunc<P, i64>),
    F32(TypedFunc<P, f32>),
    F64(TypedFunc<P, f64>),
}

/// A typed function and its arguments, type-checked once: neither depends on the store's data type, so the
/// [`CoreInvoke`] holding it need not either.
struct Typed<P> {
    params: P,
    ret: TypedRet<P>,
}

impl<P: TypedParams> Typed<P> {
    /// `None` when the results are more than the typed path covers.
    fn new<T: 'static>(
        store: &Store<T>,
        func: &Func,
        params: &[Val],
        results: &[Num],
    ) -> wasmtime::Result<Option<Self>> {
        let params = P::from_vals(params)
            .ok_or_else(|| wasmtime::format_err!("the parameter values do not match the typed parameters"))?;
        let ret = match results {
            [] => TypedRet::Unit(func.typed(store)?),
            [Num::I32] => TypedRet::I32(func.typed(store)?),
            [Num::I64] => TypedRet::I64(func.typed(store)?),
            [Num::F32] => TypedRet::F32(func.typed(store)?),
            [Num::F64] => TypedRet::F64(func.typed(store)?),
            _ => return Ok(None),
        };
        Ok(Some(Typed { params, ret }))
    }

    /// One call; the result goes to `results[0]` so that the caller can look at it, as the untyped path leaves it.
    #[inline]
    fn call<T: 'static>(&self, store: &mut Store<T>, results: &mut [Val]) -> wasmtime::Result<()> {
        let params = black_box(self.params);
        let result = match &self.ret {
            TypedRet::Unit(f) => {
                black_box(f.call(&mut *store, params)?);
                return Ok(());
            }
            TypedRet::I32(f) => black_box(f.call(&mut *store, params)?).into_val(),
            TypedRet::I64(f) => black_box(f.call(&mut *store, params)?).into_val(),
            TypedRet::F32(f) => black_box(f.call(&mut *store, params)?).into_val(),
            TypedRet::F64(f) => black_box(f.call(&mut *store, params)?).into_val(),
        };
        if let Some(slot) = results.first_mut() {
            *slot = result;
        }
        Ok(())
    }
}

/// What `CoreInvoke::typed_unsupported` says the typed path covers; keep it in step with the list below.
const TYPED_COVERAGE: &str = "the typed path covers up to two parameters of i32/i64/f32/f64 or three of i32/i64, \
                              and at most one result";

/// The typed path as one enum, a variant per parameter tuple (each holding the five results of [`TypedRet`]): a
/// `TypedFunc<P, R>` has to name its types, so every signature the typed path covers is written out once, here.
macro_rules! typed_shapes {
    ($($variant:ident: $params:ty,)*) => {
        enum TypedShape {
            $($variant(Typed<$params>),)*
        }

        impl TypedShape {
            /// The typed path of a function with these parameter and result types, `None` if it is not covered.
            fn new<T: 'static>(
                store: &Store<T>,
                func: &Func,
                param_types: &[Num],
                params: &[Val],
                results: &[Num],
            ) -> wasmtime::Result<Option<Self>> {
                $(
                    if <$params as TypedParams>::NUMS == param_types {
                        return Ok(Typed::<$params>::new(store, func, params, results)?.map(TypedShape::$variant));
                    }
                )*
                Ok(None)
            }

            #[inline]
            fn call<T: 'static>(&self, store: &mut Store<T>, results: &mut [Val]) -> wasmtime::Result<()> {
                match self {
                    $(TypedShape::$variant(typed) => typed.call(store, results),)*
                }
            }
        }
    };
}

typed_shapes! {
    NoParams: (),
    I32: (i32,),
    I64: (i64,),
    F32: (f32,),
    F64: (f64,),
    I32I32: (i32, i32),
    I32I64: (i32, i64),
    I32F32: (i32, f32),
    I32F64: (i32, f64),
    I64I32: (i64, i32),
    I64I64: (i64, i64),
    I64F32: (i64, f32),
    I64F64: (i64, f64),
    F32I32: (f32, i32),
    F32I64: (f32, i64),
    F32F32: (f32, f32),
    F32F64: (f32, f64),
    F64I32: (f64, i32),
    F64I64: (f64, i64),
    F64F32: (f64, f32),
    F64F64: (f64, f64),
    I32I32I32: (i32, i32, i32),
    I32I32I64: (i32, i32, i64),
    I32I64I32: (i32, i64, i32),
    I32I64I64: (i32, i64, i64),
    I64I32I32: (i64, i32, i32),
    I64I32I64: (i64, i32, i64),
    I64I64I32: (i64, i64, i32),
    I64I64I64: (i64, i64, i64),
}

/// An export of a core instance, checked and ready to be called repeatedly three ways.
pub struct CoreInvoke {
    name: String,
    func: Func,
    param_types: Vec<Num>,
    result_types: Vec<Num>,
    params: Vec<Val>,
    /// Where the typed and untyped paths leave their results.
    results: Vec<Val>,
    /// The parameters as `ValRaw`s, built once: copied into `raw` before each unchecked call, which overwrites them.
    raw_params: Vec<ValRaw>,
    /// The unchecked path's buffer, `max(params, results)` long.
    raw: Vec<ValRaw>,
    typed: Option<TypedShape>,
}

impl std::fmt::Debug for CoreInvoke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreInvoke")
            .field("name", &self.name)
            .field("signature", &self.signature())
            .finish_non_exhaustive()
    }
}

impl CoreInvoke {
    /// Looks `spec.name` up in `instance`, checks it, builds the parameter values (zeros when `spec.args` is None,
    /// else parsed per parameter type: integers for i32/i64 (decimal, negative allowed, or 0x-hex), floats for
    /// f32/f64), and prepares the typed path when the signature is one the typed path covers. Then calls each path
    /// once, so that a call that traps is an error here, before any measurement.
    pub fn prepare<T: 'static>(store: &mut Store<T>, instance: &Instance, spec: &InvokeSpec) -> Result<Self, String> {
        let shown = spec.shown();
        let func = match instance.get_export(&mut *store, &spec.name) {
            Some(Extern::Func(func)) => func,
            Some(other) => {
                let kind = match other {
                    Extern::Func(_) => "function",
                    Extern::Global(_) => "global",
                    Extern::Table(_) => "table",
                    Extern::Memory(_) => "memory",
                    Extern::SharedMemory(_) => "shared memory",
                    Extern::Tag(_) => "tag",
                };
                return Err(format!("export `{shown}` is a {kind}, not a function"));
            }
            None => return Err(format!("the module has no export named `{shown}`")),
        };
        let ty = func.ty(&*store);
        let nums = |types: &mut dyn Iterator<Item = ValType>, what: &str| {
            types
                .map(|ty| Num::of(&ty).ok_or_else(|| format!("export `{shown}` has unsupported {what} type {ty}")))
                .collect::<Result<Vec<Num>, String>>()
        };
        let param_types = nums(&mut ty.params(), "parameter")?;
        let result_types = nums(&mut ty.results(), "result")?;
        let params = match spec.listed_args()? {
            None => param_types.iter().map(|num| num.zero()).collect(),
            Some(args) => {
                if args.len() != param_types.len() {
                    return Err(format!(
                        "export `{shown}` takes {} argument(s), but --invoke gave {}",
                        param_types.len(),
                        args.len()
                    ));
                }
                let parse = |(i, (num, arg)): (usize, (&Num, &String))| {
                    num.parse(arg).map_err(|forms| {
                        let (n, arg, ty) = (i + 1, escape_controls(arg), num.name());
                        format!("export `{shown}`: argument {n} `{arg}` is not an {ty} (write {forms})")
                    })
                };
                param_types.iter().zip(&args).enumerate().map(parse).collect::<Result<Vec<Val>, String>>()?
            }
        };
        let typed = TypedShape::new(&*store, &func, &param_types, &params, &result_types)
            .map_err(|e| format!("export `{shown}`: the typed path cannot be built: {}", one_line(&e)))?;
        let raw_params = param_types.iter().zip(&params).map(|(num, value)| num.to_raw(value)).collect();
        let mut call = CoreInvoke {
            name: spec.name.clone(),
            func,
            results: result_types.iter().map(|num| num.zero()).collect(),
            raw: vec![ValRaw::i64(0); param_types.len().max(result_types.len())],
            raw_params,
            param_types,
            result_types,
            params,
            typed,
        };
        let trial = |way: &str, outcome: wasmtime::Result<()>| {
            outcome.map_err(|e| {
                format!(
                    "export `{shown}`: the trial call through {way} failed: {}; a call that fails cannot be measured, \
                     give arguments it accepts with `--invoke {shown}=ARGS`",
                    one_line(&e)
                )
            })
        };
        trial("`Func::call`", call.call_untyped(store))?;
        if call.typed.is_some() {
            trial("`TypedFunc::call`", call.call_typed(store))?;
        }
        trial("`Func::call_unchecked`", call.call_unchecked(store))?;
        Ok(call)
    }

    /// The export's type, e.g. `(i32, i64) -> f64` or `() -> ()`.
    pub fn signature(&self) -> String {
        let params = self.param_types.iter().map(|num| num.name().to_string());
        boundary_host::guest::signature_text(params, self.result_types.iter().map(|num| num.name()))
    }

    /// The call with the arguments it is made with, e.g. `add(1, -2)`.
    pub fn call_text(&self) -> String {
        format!("{}({})", escape_controls(&self.name), number_list(&self.params))
    }

    /// The results of the last typed or untyped call, separated by commas (`3`, `1.5, -2`); empty for none.
    pub fn results_text(&self) -> String {
        number_list(&self.results)
    }

    /// Why the typed path is not available for this signature, if it is not.
    pub fn typed_unsupported(&self) -> Option<String> {
        self.typed
            .is_none()
            .then(|| format!("{TYPED_COVERAGE}; `{}` is {}", escape_controls(&self.name), self.signature()))
    }

    /// One call through `TypedFunc::call`; an error if the typed path does not cover the signature.
    #[inline]
    pub fn call_typed<T: 'static>(&mut self, store: &mut Store<T>) -> wasmtime::Result<()> {
        match &self.typed {
            Some(typed) => typed.call(store, &mut self.results),
            None => Err(wasmtime::format_err!("{}", self.typed_unsupported().unwrap_or_default())),
        }
    }

    /// One call through `Func::call`, with the parameter and result buffers made in `prepare`.
    #[inline]
    pub fn call_untyped<T: 'static>(&mut self, store: &mut Store<T>) -> wasmtime::Result<()> {
        self.func.call(&mut *store, black_box(&self.params), &mut self.results)?;
        black_box(&self.results);
        Ok(())
    }

    /// One call through `Func::call_unchecked`, the parameters copied into the `ValRaw` buffer made in `prepare`.
    #[inline]
    pub fn call_unchecked<T: 'static>(&mut self, store: &mut Store<T>) -> wasmtime::Result<()> {
        let count = self.raw_params.len();
        self.raw[..count].copy_from_slice(black_box(&self.raw_params));
        let buffer = black_box(std::ptr::from_mut(self.raw.as_mut_slice()));
        // SAFETY: `call_unchecked` asks for a valid pointer to an array with room for the parameters and for the
        // results, the parameters written in with the function's types, valid reference values, and no call from
        // within an async call. `buffer` points at `self.raw`, which nothing else touches while we hold `&mut self`;
        // `prepare` made it max(parameters, results) long from this very function's type, which cannot change. The
        // parameters just copied in were built by `Num::to_raw` for that type's parameters, in order, and `prepare`
        // refused any parameter or result that is not i32/i64/f32/f64, so no reference (nor v128) is passed or
        // returned. The caller holds `&mut Store<T>`, which wasm running in the store cannot have (a host function
        // gets a `Caller`), so this call is not nested in another. A `Func` of another store panics in wasmtime's
        // own store check, before any use of the buffer.
        unsafe { self.func.call_unchecked(&mut *store, buffer) }?;
        black_box(&self.raw);
        Ok(())
    }

    /// The results the last typed or untyped call left (zeros before the first), as wasmtime `Val`s.
    pub fn results(&self) -> &[Val] {
        &self.results
    }

    /// The results the last unchecked call left in its buffer, read back by the result types. Allocates: not for a
    /// timed loop.
    pub fn unchecked_results(&self) -> Vec<Val> {
        self.result_types.iter().zip(&self.raw).map(|(num, raw)| num.read_raw(raw)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boundary_host::wasmtime::{Engine, Module};

    fn instance(wat: &str) -> (Store<()>, Instance) {
        let engine = Engine::default();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        (store, instance)
    }

    const MODULE: &str = r#"
        (module
          (memory (export "mem") 1)
          (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
          (func (export "double") (param f64) (result f64) local.get 0 local.get 0 f64.add)
          (func (export "sum4") (param i32 i32 i32 i32) (result i32)
            local.get 0 local.get 1 i32.add local.get 2 i32.add local.get 3 i32.add)
          (func (export "pair") (result i32 i64) i32.const 7 i64.const -8)
          (func (export "widen") (param i32) (result i64) local.get 0 i64.extend_i32_s)
          (func (export "splat") (param v128))
          (func (export "ref") (param externref))
          (func (export "inverse") (param i32) (result i32) i32.const 100 local.get 0 i32.div_s)
          (func (export "nothing"))
          (func (export "odd name!") (param f32) (result f32) local.get 0))
    "#;

    fn prepare(text: &str) -> Result<(CoreInvoke, Store<()>), String> {
        let (mut store, instance) = instance(MODULE);
        let call = CoreInvoke::prepare(&mut store, &instance, &InvokeSpec::parse(text)?)?;
        Ok((call, store))
    }

    fn prepare_err(text: &str) -> String {
        prepare(text).map(|(call, _)| call).unwrap_err()
    }

    #[test]
    fn specs_parse() {
        let spec = |name: &str, args: Option<&str>| InvokeSpec {
            name: name.into(),
            args: args.map(String::from),
            expect: Vec::new(),
            from_request: false,
        };
        assert_eq!(InvokeSpec::parse("f"), Ok(spec("f", None)));
        assert_eq!(InvokeSpec::parse("f= 1 , 2"), Ok(spec("f", Some(" 1 , 2"))));
        let listed = |text: &str| InvokeSpec::parse(text).unwrap().listed_args();
        let two = Some(vec!["1".to_string(), "2".to_string()]);
        assert_eq!((listed("f=1,2"), listed("f= 1 , 2")), (Ok(two.clone()), Ok(two)));
        assert_eq!((listed("f="), listed("f= "), listed("f")), (Ok(Some(Vec::new())), Ok(Some(Vec::new())), Ok(None)));
        assert!(InvokeSpec::parse("=1").unwrap_err().contains("empty"));
        assert!(InvokeSpec::parse("").is_err());
        assert!(listed("f=1,,2").unwrap_err().contains("argument 2 is empty"));
        // A component's WAVE values keep their `=` and commas.
        let wave = InvokeSpec::parse(r#"greet={name: "a=b, c"}"#).unwrap();
        assert_eq!((wave.name.as_str(), wave.text()), ("greet", r#"greet={name: "a=b, c"}"#.to_string()));
        assert_eq!(InvokeSpec::parse("my:pkg/api#add-it=1").unwrap().id_name(), "my_pkg_api_add-it");
        assert_eq!(InvokeSpec::parse("a.b_c-9").unwrap().id_name(), "a.b_c-9");
    }

    #[test]
    fn integers_parse_as_decimal_or_hex_bits() {
        assert_eq!(parse_integer_bits("-3", 32, true), Some(0xffff_fffd));
        assert_eq!(parse_integer_bits("0xffffffff", 32, true), Some(0xffff_ffff));
        assert_eq!(parse_integer_bits("0x1_0000_0000", 32, true), None);
        assert_eq!(parse_integer_bits("0x100000000", 32, true), None);
        assert_eq!(parse_integer_bits("2147483648", 32, true), None);
        assert_eq!(parse_integer_bits("-2147483648", 32, true), Some(0x8000_0000));
        assert_eq!(parse_integer_bits("-1", 8, false), None);
        assert_eq!(parse_integer_bits("255", 8, false), Some(255));
        assert_eq!(parse_integer_bits("0x-1", 32, true), None);
        assert_eq!(parse_integer_bits("0x", 32, true), None);
        assert_eq!(parse_integer_bits("-1", 64, true), Some(u64::MAX));
        assert_eq!(parse_integer_bits("0xFFFFFFFFFFFFFFFF", 64, false), Some(u64::MAX));
    }

    #[test]
    fn add_through_every_path() {
        let (mut call, mut store) = prepare("add=40,2").unwrap();
        assert_eq!(call.signature(), "(i32, i32) -> i32");
        assert_eq!(call.typed_unsupported(), None);
        call.results.fill(Val::I32(0));
        call.call_typed(&mut store).unwrap();
        assert_eq!(call.results()[0].i32(), Some(42));
        call.results.fill(Val::I32(0));
        call.call_untyped(&mut store).unwrap();
        assert_eq!(call.results()[0].i32(), Some(42));
        call.raw.fill(ValRaw::i32(0));
        call.call_unchecked(&mut store).unwrap();
        assert_eq!(call.unchecked_results()[0].i32(), Some(42));
        // The buffer held the result; the next call must find the parameters again.
        call.call_unchecked(&mut store).unwrap();
        assert_eq!(call.unchecked_results()[0].i32(), Some(42));
        assert_eq!(format!("{call:?}"), r#"CoreInvoke { name: "add", signature: "(i32, i32) -> i32", .. }"#);
    }

    #[test]
    fn arguments_default_to_zeros_and_take_every_form() {
        let (mut call, mut store) = prepare("add").unwrap();
        call.call_untyped(&mut store).unwrap();
        assert_eq!(call.results()[0].i32(), Some(0));
        let (mut call, mut store) = prepare("add=0x10,-3").unwrap();
        call.call_typed(&mut store).unwrap();
        assert_eq!(call.results()[0].i32(), Some(13));
        let (mut call, mut store) = prepare("widen=0xffffffff").unwrap();
        call.call_untyped(&mut store).unwrap();
        assert_eq!(call.results()[0].i64(), Some(-1));
        let (mut call, mut store) = prepare("double=2.5").unwrap();
        assert_eq!(call.signature(), "(f64) -> f64");
        for way in [CoreInvoke::call_typed::<()>, CoreInvoke::call_untyped::<()>] {
            call.results.fill(Val::F64(0));
            way(&mut call, &mut store).unwrap();
            assert_eq!(call.results()[0].f64(), Some(5.0));
        }
        call.call_unchecked(&mut store).unwrap();
        assert_eq!(call.unchecked_results()[0].f64(), Some(5.0));
        let (call, _) = prepare("nothing").unwrap();
        assert_eq!(call.signature(), "() -> ()");
        let (call, _) = prepare("nothing=").unwrap();
        assert_eq!(call.typed_unsupported(), None);
        assert_eq!(InvokeSpec::parse("odd name!").unwrap().id_name(), "odd_name_");
        assert!(prepare("odd name!=-1.5").is_ok());
    }

    #[test]
    fn signatures_past_the_typed_path_still_run_untyped_and_unchecked() {
        let (mut call, mut store) = prepare("sum4=1,2,3,4").unwrap();
        assert_eq!(call.signature(), "(i32, i32, i32, i32) -> i32");
        let why = call.typed_unsupported().unwrap();
        assert!(why.contains("typed path covers") && why.contains("`sum4`"), "{why}");
        assert!(call.call_typed(&mut store).is_err());
        call.call_untyped(&mut store).unwrap();
        assert_eq!(call.results()[0].i32(), Some(10));
        call.call_unchecked(&mut store).unwrap();
        assert_eq!(call.unchecked_results()[0].i32(), Some(10));

        // More results than parameters: the raw buffer is as long as the results.
        let (mut call, mut store) = prepare("pair").unwrap();
        assert_eq!(call.signature(), "() -> (i32, i64)");
        assert!(call.typed_unsupported().is_some());
        call.call_unchecked(&mut store).unwrap();
        let results = call.unchecked_results();
        assert_eq!((results[0].i32(), results[1].i64()), (Some(7), Some(-8)));
        call.call_untyped(&mut store).unwrap();
        assert_eq!((call.results()[0].i32(), call.results()[1].i64()), (Some(7), Some(-8)));
    }

    #[test]
    fn bad_requests_are_errors_naming_the_export() {
        let cases = [
            ("missing", "no export named `missing`"),
            ("mem", "export `mem` is a memory, not a function"),
            ("splat", "export `splat` has unsupported parameter type v128"),
            ("ref", "export `ref` has unsupported parameter type"),
            ("add=1", "export `add` takes 2 argument(s), but --invoke gave 1"),
            ("add=", "export `add` takes 2 argument(s), but --invoke gave 0"),
            ("add=1,x", "export `add`: argument 2 `x` is not an i32"),
            ("add=1,2.5", "export `add`: argument 2 `2.5` is not an i32"),
            ("double=two", "export `double`: argument 1 `two` is not an f64"),
        ];
        for (text, expected) in cases {
            let error = prepare_err(text);
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains('\n'), "{text}: {error}");
        }
    }

    #[test]
    fn a_trapping_trial_call_is_an_error_at_prepare() {
        let error = prepare_err("inverse");
        assert!(error.contains("export `inverse`: the trial call"), "{error}");
        assert!(error.contains("divide by zero") && error.contains("--invoke inverse=ARGS"), "{error}");
        assert!(!error.contains('\n'), "{error}");
        let (mut call, mut store) = prepare("inverse=4").unwrap();
        call.call_typed(&mut store).unwrap();
        assert_eq!(call.results()[0].i32(), Some(25));
    }

    /// Every signature the typed path is documented to cover has a variant in `typed_shapes!`, and the ones just
    /// past it do not: a variant missing from the list fails here, naming the signature.
    #[test]
    fn the_typed_path_covers_what_it_says() {
        let all = ["i32", "i64", "f32", "f64"];
        let mut param_lists: Vec<Vec<&str>> = vec![vec![]];
        param_lists.extend(all.iter().map(|a| vec![*a]));
        param_lists.extend(all.iter().flat_map(|a| all.iter().map(move |b| vec![*a, *b])));
        let ints = ["i32", "i64"];
        for a in ints {
            for b in ints {
                param_lists.extend(ints.iter().map(|c| vec![a, b, *c]));
            }
        }
        let mut covered = Vec::new();
        for params in &param_lists {
            covered.push((params.clone(), vec![]));
            covered.extend(all.iter().map(|r| (params.clone(), vec![*r])));
        }
        assert_eq!(covered.len(), 29 * 5);
        let past = [
            (vec!["f32", "i32", "i32"], vec![]),
            (vec!["i32", "i32", "f64"], vec!["i32"]),
            (vec!["i32"; 4], vec![]),
            (vec![], vec!["i32", "i32"]),
        ];
        let wat_of = |(params, results): &(Vec<&str>, Vec<&str>)| {
            let name = format!("{}->{}", params.join(","), results.join(","));
            let zeros: String = results.iter().map(|r| format!(" {r}.const 0")).collect();
            let func = format!(
                r#"(func (export "{name}") (param {}) (result {}){zeros})"#,
                params.join(" "),
                results.join(" ")
            );
            (name, func)
        };
        let funcs: Vec<String> = covered.iter().chain(&past).map(|sig| wat_of(sig).1).collect();
        let (mut store, instance) = instance(&format!("(module {})", funcs.join("\n")));
        for sig in &covered {
            let (name, _) = wat_of(sig);
            let spec = InvokeSpec { name: name.clone(), ..InvokeSpec::default() };
            let mut call = CoreInvoke::prepare(&mut store, &instance, &spec).unwrap();
            assert_eq!(call.typed_unsupported(), None, "{name} is not in `typed_shapes!`");
            call.call_typed(&mut store).unwrap();
        }
        for sig in &past {
            let (name, _) = wat_of(sig);
            let spec = InvokeSpec { name: name.clone(), ..InvokeSpec::default() };
            let call = CoreInvoke::prepare(&mut store, &instance, &spec).unwrap();
            assert!(call.typed_unsupported().is_some(), "{name} is past the documented coverage");
        }
    }
}
