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
/// This is the one bounds check of the host core: every accessor goes through it.
pub fn checked_range(offset: usize, len: usize, memory_size: usize) -> Result<Range<usize>, MemoryError> {
    match offset.checked_add(len) {
        Some(end) if end <= memory_size => Ok(offset..end),
        _ => Err(MemoryError { offset, len, memory_size }),
    }
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
    pub fn size(&self, store: impl AsContext) -> usize {
        self.memory.data_size(&store)
    }

    /// Reads a `T` at `offset` by copy; the offset need not be aligned for `T`.
    pub fn read<T: Pod>(&self, store: impl AsContext, offset: usize) -> Result<T, MemoryError> {
        let data = self.memory.data(&store);
        let range = checked_range(offset, size_of::<T>(), data.len())?;
        Ok(bytemuck::pod_read_unaligned(&data[range]))
    }

    /// Writes `value` at `offset` by copy; the offset need not be aligned for `T`.
    pub fn write<T: Pod>(&self, store: impl AsContextMut, offset: usize, value: &T) -> Result<(), MemoryError> {
        self.write_bytes(store, offset, bytemuck::bytes_of(value))
    }

    /// Fills `buf` from guest memory starting at `offset`.
    pub fn read_bytes(&self, store: impl AsContext, offset: usize, buf: &mut [u8]) -> Result<(), MemoryError> {
        let data = self.memory.data(&store);
        let range = checked_range(offset, buf.len(), data.len())?;
        buf.copy_from_slice(&data[range]);
        Ok(())
    }

    /// Copies `bytes` into guest memory starting at `offset`.
    pub fn write_bytes(&self, mut store: impl AsContextMut, offset: usize, bytes: &[u8]) -> Result<(), MemoryError> {
        let data = self.memory.data_mut(&mut store);
        let range = checked_range(offset, bytes.len(), data.len())?;
        data[range].copy_from_slice(bytes);
        Ok(())
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
