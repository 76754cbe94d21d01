//! The memory accessors at the edges, compared with what a native `Vec<u8>` of the same size allows.

use crate::support::quiet_guest;
use boundary_host::{Error, MemoryError, Point, WasmHost, guest_offset};

/// The native model: the bytes at `offset..offset + len` of `model`, if they exist.
fn native(model: &[u8], offset: usize, len: usize) -> Option<&[u8]> {
    model.get(offset..offset.checked_add(len)?)
}

fn edge_offsets(size: usize) -> Vec<usize> {
    vec![
        0,
        1,
        size - 8,
        size - 7,
        size - 4,
        size - 1,
        size,
        size + 1,
        u32::MAX as usize,
        guest_offset(-1i32),
        guest_offset(i32::MIN),
        usize::MAX,
        usize::MAX - 7,
    ]
}

fn memory_copy(host: &WasmHost) -> Vec<u8> {
    let mut all = vec![0; host.memory_size()];
    host.read_bytes(0, &mut all).unwrap();
    all
}

fn assert_out_of_bounds(result: Result<(), MemoryError>, offset: usize, len: usize, size: usize) {
    match result {
        Err(e) => assert_eq!(e, MemoryError { offset, len, memory_size: size }),
        other => panic!("offset {offset:#x} len {len}: expected an out-of-bounds error, got {other:?}"),
    }
}

#[test]
fn reads_succeed_exactly_where_a_native_slice_would() {
    let mut host = quiet_guest().instantiate().unwrap();
    let size = host.memory_size();
    // Give the last page recognisable contents so the value checks mean something.
    let tail: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37).wrapping_add(1)).collect();
    host.write_bytes(size - tail.len(), &tail).unwrap();
    let model = memory_copy(&host);
    assert_eq!(model.len(), size);
    for offset in edge_offsets(size) {
        match (host.read::<Point>(offset), native(&model, offset, 8)) {
            (Ok(p), Some(bytes)) => assert_eq!(bytemuck::bytes_of(&p), bytes, "Point at {offset:#x}"),
            (r, None) => assert_out_of_bounds(r.map(drop), offset, 8, size),
            (Err(e), Some(_)) => panic!("Point at {offset:#x} is in bounds but failed: {e}"),
        }
        match (host.read::<i32>(offset), native(&model, offset, 4)) {
            (Ok(v), Some(bytes)) => assert_eq!(v.to_le_bytes(), bytes, "i32 at {offset:#x}"),
            (r, None) => assert_out_of_bounds(r.map(drop), offset, 4, size),
            (Err(e), Some(_)) => panic!("i32 at {offset:#x} is in bounds but failed: {e}"),
        }
        for len in [0, 1, 7, 8, 9] {
            let mut buf = vec![0xAA; len];
            match (host.read_bytes(offset, &mut buf), native(&model, offset, len)) {
                (Ok(()), Some(bytes)) => assert_eq!(buf, bytes),
                (r, None) => assert_out_of_bounds(r, offset, len, size),
                (Err(e), Some(_)) => panic!("{len} bytes at {offset:#x} are in bounds but failed: {e}"),
            }
        }
    }
}

#[test]
fn writes_succeed_exactly_where_a_native_slice_would_and_touch_nothing_else() {
    let mut host = quiet_guest().instantiate().unwrap();
    let size = host.memory_size();
    let mut model = memory_copy(&host);
    let value = Point::new(-559038737, 0x1234_5678);
    for offset in edge_offsets(size) {
        let result = host.write(offset, &value);
        match native(&model, offset, 8) {
            Some(_) => {
                result.unwrap();
                model[offset..offset + 8].copy_from_slice(bytemuck::bytes_of(&value));
            }
            None => assert_out_of_bounds(result, offset, 8, size),
        }
        let byte_result = host.write_bytes(offset, &[0x5A]);
        match native(&model, offset, 1) {
            Some(_) => {
                byte_result.unwrap();
                model[offset] = 0x5A;
            }
            None => assert_out_of_bounds(byte_result, offset, 1, size),
        }
        assert!(memory_copy(&host) == model, "memory differs from the model after writes at {offset:#x}");
    }
}

#[test]
fn unaligned_points_round_trip() {
    let mut host = quiet_guest().instantiate().unwrap();
    let base = host.reserve(64).unwrap();
    for misalign in 0..8 {
        let p = Point::new(misalign as i32 - 4, i32::MIN + misalign as i32);
        host.write(base + misalign, &p).unwrap();
        assert_eq!(host.read::<Point>(base + misalign).unwrap(), p);
    }
}

#[test]
fn growing_memory_moves_the_bound() {
    let mut host = quiet_guest().instantiate().unwrap();
    let size = host.memory_size();
    assert!(host.read::<u8>(size).is_err());
    assert_eq!(host.grow(1).unwrap(), size);
    assert_eq!(host.memory_size(), size + 65536);
    assert_eq!(host.read::<u8>(size).unwrap(), 0);
    assert!(host.read::<u8>(size + 65536).is_err());
}

#[test]
fn the_guest_traps_on_out_of_bounds_pointers_and_the_store_is_discarded() {
    let mut host = quiet_guest().instantiate().unwrap();
    let size = host.memory_size() as u32;
    let err = host.point_add(size - 4, 0x1000, 0x1000).unwrap_err();
    assert_eq!(err.trap_code(), Some(boundary_host::wasmtime::Trap::MemoryOutOfBounds), "{err:?}");
    assert_eq!(host.discarded_by(), Some("point_add"));
    assert!(matches!(host.just_add(1, 2), Err(Error::StoreDiscarded { .. })));
    host.reset().unwrap();
    assert_eq!(host.just_add(1, 2).unwrap(), 3);
}
