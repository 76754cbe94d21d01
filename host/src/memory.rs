//! Bounds-checked host access to guest linear memory.
//!
//! Guest pointers are 32-bit offsets. They are widened with [`guest_offset`] (`as u32 as usize`, so a negative
//! `i32` becomes a large offset, never a negative one), every end is computed with `checked_add`, and values are
//! copied in and out of memory with no alignment assumption. Nothing here holds a slice across a guest call:
//! each access borrows the memory for the length of one copy.

use crate::error::MemoryError;
use bytemuck::Pod;
use std::ops::Range;
use wasmtime::{AsContext, AsContextMut, Memory};

/// Widens a guest pointer (an `i32` or `u32` from a wasm value) to a host offset.
///
/// Wasm pointers are unsigned 32-bit offsets; an `i32` of -1 is offset `0xffff_ffff`, not -1.
pub fn guest_offset(ptr: impl Into<GuestPtr>) -> usize {
    ptr.into().0 as usize
}

/// A guest pointer as it crosses the boundary: the 32 bits of a wasm `i32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestPtr(pub u32);

impl From<u32> for GuestPtr {
    fn from(ptr: u32) -> Self {
        GuestPtr(ptr)
    }
}

impl From<i32> for GuestPtr {
    fn from(ptr: i32) -> Self {
        GuestPtr(ptr as u32)
    }
}

/// The byte range `offset..offset + len` if it lies inside a memory of `memory_size` bytes.
///
/// The bounds rule of the host core, stated once; [`slice`] and [`slice_mut`] apply it to memory.
#[inline]
pub fn checked_range(offset: usize, len: usize, memory_size: usize) -> Result<Range<usize>, MemoryError> {
    match offset.checked_add(len) {
        Some(end) if end <= memory_size => Ok(offset..end),
        _ => Err(MemoryError { offset, len, memory_size }),
    }
}

/// `data[offset..offset + len]`, or the typed error: [`checked_range`]'s rule, applied with one check.
#[inline]
fn slice(data: &[u8], offset: usize, len: usize) -> Result<&[u8], MemoryError> {
    let memory_size = data.len();
    offset.checked_add(len).and_then(|end| data.get(offset..end)).ok_or(MemoryError { offset, len, memory_size })
}

/// `&mut data[offset..offset + len]`, or the typed error: [`checked_range`]'s rule, applied with one check.
#[inline]
fn slice_mut(data: &mut [u8], offset: usize, len: usize) -> Result<&mut [u8], MemoryError> {
    let memory_size = data.len();
    offset.checked_add(len).and_then(|end| data.get_mut(offset..end)).ok_or(MemoryError { offset, len, memory_size })
}

/// Typed, bounds-checked reads and writes of one exported linear memory.
#[derive(Debug, Clone, Copy)]
pub struct GuestMemory {
    memory: Memory,
}

impl GuestMemory {
    pub fn new(memory: Memory) -> Self {
        GuestMemory { memory }
    }

    /// The underlying wasmtime memory, for code that measures raw wasmtime against this core.
    pub fn raw(&self) -> Memory {
        self.memory
    }

    /// Current size of linear memory in bytes.
    #[inline]
    pub fn size(&self, store: impl AsContext) -> usize {
        self.memory.data_size(&store)
    }

    /// Reads a `T` at `offset` by copy; the offset need not be aligned for `T`.
    #[inline]
    pub fn read<T: Pod>(&self, store: impl AsContext, offset: usize) -> Result<T, MemoryError> {
        slice(self.memory.data(&store), offset, size_of::<T>()).map(bytemuck::pod_read_unaligned)
    }

    /// Writes `value` at `offset` by copy; the offset need not be aligned for `T`.
    #[inline]
    pub fn write<T: Pod>(&self, mut store: impl AsContextMut, offset: usize, value: &T) -> Result<(), MemoryError> {
        let bytes = bytemuck::bytes_of(value);
        slice_mut(self.memory.data_mut(&mut store), offset, bytes.len()).map(|dest| dest.copy_from_slice(bytes))
    }

    /// Fills `buf` from guest memory starting at `offset`.
    #[inline]
    pub fn read_bytes(&self, store: impl AsContext, offset: usize, buf: &mut [u8]) -> Result<(), MemoryError> {
        slice(self.memory.data(&store), offset, buf.len()).map(|src| buf.copy_from_slice(src))
    }

    /// Copies `bytes` into guest memory starting at `offset`.
    #[inline]
    pub fn write_bytes(&self, mut store: impl AsContextMut, offset: usize, bytes: &[u8]) -> Result<(), MemoryError> {
        slice_mut(self.memory.data_mut(&mut store), offset, bytes.len()).map(|dest| dest.copy_from_slice(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_pointers_widen_to_high_offsets() {
        assert_eq!(guest_offset(-1i32), 0xffff_ffff);
        assert_eq!(guest_offset(i32::MIN), 0x8000_0000);
        assert_eq!(guest_offset(7u32), 7);
    }

    #[test]
    fn checked_range_rejects_overflowing_ends() {
        assert_eq!(checked_range(usize::MAX, 1, usize::MAX).unwrap_err().offset, usize::MAX);
        assert_eq!(checked_range(8, 0, 8), Ok(8..8));
        assert!(checked_range(9, 0, 8).is_err());
    }
}
