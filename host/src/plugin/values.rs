//! A request's numbers as wasm values and back: literals for parameters, results as pointers, lengths and
//! statuses, and values as a log writes them.

use super::request::Number;
use wasmtime::{Val, ValType};

/// A number as the value of a parameter of type `ty`, or why it cannot be one.
pub(super) fn number_val(n: Number, ty: &ValType) -> Result<Val, String> {
    match (n, ty) {
        (Number::Int(i), ValType::I32) => {
            if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&i) {
                Ok(Val::I32(i as i32))
            } else {
                Err(format!("{i} does not fit an i32"))
            }
        }
        (Number::Int(i), ValType::I64) => Ok(Val::I64(i)),
        (Number::Int(i), ValType::F32) => Ok(Val::F32((i as f32).to_bits())),
        (Number::Int(i), ValType::F64) => Ok(Val::F64((i as f64).to_bits())),
        (Number::Float(x), ValType::F32) => Ok(Val::F32((x as f32).to_bits())),
        (Number::Float(x), ValType::F64) => Ok(Val::F64(x.to_bits())),
        (Number::Float(x), _) => Err(format!("{x} is not an integer")),
        (_, other) => Err(format!("a parameter of type {other}")),
    }
}

/// A pointer or length as the value of an integer parameter.
pub(super) fn integer_val(value: u32, ty: &ValType) -> Val {
    match ty {
        ValType::I64 => Val::I64(i64::from(value)),
        _ => Val::I32(value as i32),
    }
}

/// An integer result as an unsigned number (an `i32` as its 32 bits).
pub(super) fn unsigned(val: &Val) -> Option<u64> {
    match val {
        Val::I32(v) => Some(u64::from(*v as u32)),
        Val::I64(v) => Some(*v as u64),
        _ => None,
    }
}

/// An integer result as a signed number, for a status.
pub(super) fn signed(val: &Val) -> Option<i64> {
    match val {
        Val::I32(v) => Some(i64::from(*v)),
        Val::I64(v) => Some(*v),
        _ => None,
    }
}

/// A numeric value as a log writes it.
pub fn value_text(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        _ => "(a value)".to_string(),
    }
}

pub(super) fn zero(ty: &ValType) -> Val {
    match ty {
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        _ => Val::I32(0),
    }
}
