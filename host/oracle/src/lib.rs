//! The memory I/O oracle: one definition of the input, the native model and the check, which the fuzz target,
//! the proptests, the replay of fuzz findings and the differential runs all call.
//!
//! A [`Program`] is a short list of operations on one fresh instance of the fuzz build of the guest (the quiet
//! guest in one page of memory, `boundary_host::guest::FUZZ_WASM`): host writes and reads
//! of Points and bytes at arbitrary offsets, the guest's `point_add` and `point_add_batch` on arbitrary pointers
//! (aliasing allowed), reads and writes of the guest static through its pointer, and memory growth. A native
//! [`Model`] (a shadow copy of linear memory and the guest's semantics written again in plain Rust) predicts the
//! outcome of each operation. [`check`] runs the program on the real host and fails on the first difference:
//!
//! - a host read or write succeeds exactly when the model says it is in bounds, and then matches the model
//!   byte for byte; out of bounds it is the typed [`MemoryError`] with the model's offset, length and size;
//! - a guest call gives the model's result, or, where the model says a pointer is out of bounds, a
//!   memory-out-of-bounds trap, after which the store is discarded and the program goes on with a fresh
//!   instance (and the model with a fresh shadow);
//! - at the end, all of linear memory equals the shadow.

pub mod component;
pub mod isolation;

use arbitrary::Arbitrary;
use boundary_host::guest::{Point, add_points};
use boundary_host::wasmtime;
use boundary_host::{EngineProfile, Error, GuestModule, GuestOutput, HostOptions, MemoryError, WASM_PAGE, WasmHost};
use std::fmt;

/// Operations per program beyond which the rest are ignored (keeps every input fast).
pub const MAX_OPS: usize = 48;
/// Bytes per raw read or write at most.
pub const MAX_BYTES: usize = 64;
/// Points per `point_add_batch` call at most.
pub const MAX_BATCH: u32 = 512;
/// Slots of the pool of [`Oracle::counting`].
pub const COUNTING_SLOTS: u32 = 4;
/// Pages a program may grow memory by in all.
pub const MAX_GROWTH_PAGES: u64 = 4;

/// How an offset is chosen. Resolved against the memory size when the operation runs, so the interesting edges
/// stay interesting whatever the size.
#[derive(Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Offset {
    /// Any 32-bit offset, uniformly.
    Any(u32),
    /// Inside the area reserved for the host (the guest never uses it), at any byte (so misaligned too): guest
    /// calls there succeed unless they run past its end.
    Scratch(u16),
    /// `size - n` for `n` in `0..=16`: the last whole values, the last partial ones, and the end itself.
    FromEnd(u8),
    /// Offset 0: valid memory, but the null pointer to the guest.
    Zero,
    /// `u32::MAX`.
    Max,
    /// A negative `i32` (`-1` to `-256`) as a pointer: a high offset, never a negative one.
    Negative(u8),
    /// `usize::MAX - n`: far past anything a 32-bit pointer can name (host accesses; guest calls see the low
    /// 32 bits).
    Huge(u8),
    /// The guest static (`PLUGIN_SHARED_VALUE`) plus `0..8` bytes.
    Static(u8),
}

impl fmt::Debug for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Offset::Any(v) => write!(f, "Offset::Any({v:#x})"),
            Offset::Scratch(v) => write!(f, "Offset::Scratch({v})"),
            Offset::FromEnd(v) => write!(f, "Offset::FromEnd({v})"),
            Offset::Zero => write!(f, "Offset::Zero"),
            Offset::Max => write!(f, "Offset::Max"),
            Offset::Negative(v) => write!(f, "Offset::Negative({v})"),
            Offset::Static(v) => write!(f, "Offset::Static({v})"),
            Offset::Huge(v) => write!(f, "Offset::Huge({v})"),
        }
    }
}

/// One operation of a program.
#[derive(Clone, PartialEq, Eq, Arbitrary)]
pub enum Op {
    WritePoint {
        at: Offset,
        #[arbitrary(with = any_point)]
        point: Point,
    },
    ReadPoint {
        at: Offset,
    },
    WriteBytes {
        at: Offset,
        #[arbitrary(with = short_bytes)]
        bytes: Vec<u8>,
    },
    ReadBytes {
        at: Offset,
        len: u8,
    },
    /// The guest's `point_add(out, a, b)`.
    PointAdd {
        out: Offset,
        a: Offset,
        b: Offset,
    },
    /// The guest's `point_add_batch(out, a, b, count)`.
    PointAddBatch {
        out: Offset,
        a: Offset,
        b: Offset,
        count: u16,
    },
    /// Ask the guest for its static's address, then read it through the host core.
    ReadStatic,
    /// Ask the guest for its static's address, then write `value` there through the host core.
    WriteStatic {
        value: i32,
    },
    /// The guest's own reading of its static.
    GuestReadsStatic,
    /// Grow linear memory by `pages % 3` pages (while the program's growth budget lasts).
    Grow {
        pages: u8,
    },
    /// The guest's checksum of `len` bytes at `at` (`checksum_bytes`).
    Checksum {
        at: Offset,
        len: Len,
    },
    /// The guest's fill of `len` bytes at `at` with the pattern of `seed` (`fill_bytes`).
    Fill {
        at: Offset,
        len: Len,
        seed: u32,
    },
}

/// A buffer length for the payload exports: mostly short enough to fit (so the checksum and the fill really run),
/// sometimes any 32-bit length (so ranges past the end of memory and past 4 GiB are tried).
#[derive(Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Len {
    /// `n % (MAX_PAYLOAD + 1)`.
    Short(u16),
    Any(u32),
}

impl fmt::Debug for Len {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Len::Short(n) => write!(f, "Len::Short({n})"),
            Len::Any(n) => write!(f, "Len::Any({n:#x})"),
        }
    }
}

/// Bytes a short payload length reaches at most.
pub const MAX_PAYLOAD: u32 = 4096;

impl Len {
    fn get(self) -> u32 {
        match self {
            Len::Short(n) => u32::from(n) % (MAX_PAYLOAD + 1),
            Len::Any(n) => n,
        }
    }
}

/// Any Point: its two fields from the input, in order.
fn any_point(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Point> {
    Ok(Point::new(u.arbitrary()?, u.arbitrary()?))
}

/// Up to [`MAX_BYTES`] bytes, length first: a long run of input bytes must not turn into one huge write.
fn short_bytes(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let len = u.int_in_range(0..=MAX_BYTES)?.min(u.len());
    Ok(u.bytes(len)?.to_vec())
}

/// A fuzz input: operations run in order on one instance. Its `Debug` output is a Rust expression that
/// rebuilds it, so a finding can be pasted into a test.
#[derive(Clone, PartialEq, Eq)]
pub struct Program {
    pub ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Program {
    /// Operations one after another until the input or [`MAX_OPS`] runs out, so every byte of a fuzz input
    /// shapes the program (a length prefix would make most inputs short).
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(Op::arbitrary(u)?);
        }
        Ok(Program { ops })
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Program {{ ops: vec![")?;
        for op in &self.ops {
            writeln!(f, "    Op::{op:?},")?;
        }
        write!(f, "] }}")
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::WritePoint { at, point } => {
                write!(f, "WritePoint {{ at: {at:?}, point: Point::new({}, {}) }}", point.x, point.y)
            }
            Op::ReadPoint { at } => write!(f, "ReadPoint {{ at: {at:?} }}"),
            Op::WriteBytes { at, bytes } => write!(f, "WriteBytes {{ at: {at:?}, bytes: vec!{bytes:?} }}"),
            Op::ReadBytes { at, len } => write!(f, "ReadBytes {{ at: {at:?}, len: {len} }}"),
            Op::PointAdd { out, a, b } => write!(f, "PointAdd {{ out: {out:?}, a: {a:?}, b: {b:?} }}"),
            Op::PointAddBatch { out, a, b, count } => {
                write!(f, "PointAddBatch {{ out: {out:?}, a: {a:?}, b: {b:?}, count: {count} }}")
            }
            Op::ReadStatic => write!(f, "ReadStatic"),
            Op::WriteStatic { value } => write!(f, "WriteStatic {{ value: {value} }}"),
            Op::GuestReadsStatic => write!(f, "GuestReadsStatic"),
            Op::Grow { pages } => write!(f, "Grow {{ pages: {pages} }}"),
            Op::Checksum { at, len } => write!(f, "Checksum {{ at: {at:?}, len: {len:?} }}"),
            Op::Fill { at, len, seed } => write!(f, "Fill {{ at: {at:?}, len: {len:?}, seed: {seed:#x} }}"),
        }
    }
}

/// What one operation did, as observed on the host or predicted by the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A host write that succeeded.
    Wrote,
    /// A host read that succeeded, with the bytes read.
    Read(Vec<u8>),
    /// A host access refused as out of bounds.
    OutOfBounds(MemoryError),
    /// A guest call that returned normally.
    Returned,
    /// A guest call that returned a value.
    Value(i32),
    /// The guest's checksum.
    Checksum(u64),
    /// A guest call that trapped; the store was discarded and a fresh instance took its place.
    Trapped(wasmtime::Trap),
    /// Memory grew; the old size in bytes.
    Grew(usize),
    /// Growing memory failed (never predicted: the model's growth stays within every profile's limits).
    GrowRefused(String),
    /// Not run: the program's growth budget is spent.
    Skipped,
    /// Any other error (never predicted).
    Failed(String),
}

/// The first difference between the host and the model (or between two engines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the operation, or `None` for the end-of-program memory comparison.
    pub step: Option<usize>,
    pub what: String,
    pub expected: String,
    pub actual: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(step) => write!(f, "operation {step} ({}): ", self.what)?,
            None => write!(f, "{}: ", self.what)?,
        }
        write!(f, "expected {}, got {}", self.expected, self.actual)
    }
}

impl std::error::Error for Divergence {}

/// What a checked program left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Every operation's outcome.
    pub trace: Vec<Outcome>,
    /// How many guest calls trapped (each one followed by a fresh instance).
    pub traps: usize,
    /// Linear memory after the last operation, if it was asked for.
    pub memory: Option<Vec<u8>>,
}

/// Shadow of linear memory: the chunks the program changed, over the snapshot of a fresh instance (and zero
/// beyond it, where memory grew).
struct Shadow<'a> {
    initial: &'a [u8],
    dirty: Vec<Option<Box<[u8]>>>,
    size: usize,
}

/// The unit in which the shadow keeps changed memory (and the oracle restores it): a host page, so that a program
/// that writes a few bytes copies a few KiB, not a 64 KiB wasm page.
const CHUNK: usize = 4096;

static ZERO_CHUNK: [u8; CHUNK] = [0; CHUNK];

impl<'a> Shadow<'a> {
    fn new(initial: &'a [u8], size: usize) -> Self {
        Shadow { initial, dirty: Vec::new(), size }
    }

    fn chunk(&self, index: usize) -> &[u8] {
        if let Some(Some(page)) = self.dirty.get(index) {
            return page;
        }
        let start = index * CHUNK;
        self.initial.get(start..start + CHUNK).unwrap_or(&ZERO_CHUNK)
    }

    fn chunk_mut(&mut self, index: usize) -> &mut [u8] {
        if self.dirty.len() <= index {
            self.dirty.resize_with(index + 1, || None);
        }
        if self.dirty[index].is_none() {
            let copy = self.chunk(index).to_vec().into_boxed_slice();
            self.dirty[index] = Some(copy);
        }
        self.dirty[index].as_deref_mut().unwrap_or_default()
    }

    fn in_bounds(&self, offset: usize, len: usize) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.size)
    }

    /// The chunk-sized pieces of `offset..offset + len`: (chunk index, start in chunk, length).
    fn pieces(offset: usize, len: usize) -> impl Iterator<Item = (usize, usize, usize)> {
        let mut at = offset;
        let end = offset + len;
        std::iter::from_fn(move || {
            (at < end).then(|| {
                let (index, start) = (at / CHUNK, at % CHUNK);
                let n = (CHUNK - start).min(end - at);
                at += n;
                (index, start, n)
            })
        })
    }

    fn read(&self, offset: usize, len: usize) -> Option<Vec<u8>> {
        let mut out = vec![0; len];
        self.read_into(offset, &mut out).then_some(out)
    }

    /// Fills `out` from `offset` if that is in bounds (the model's reads of Points allocate nothing).
    fn read_into(&self, offset: usize, out: &mut [u8]) -> bool {
        if !self.in_bounds(offset, out.len()) {
            return false;
        }
        let mut done = 0;
        for (index, start, n) in Self::pieces(offset, out.len()) {
            out[done..done + n].copy_from_slice(&self.chunk(index)[start..start + n]);
            done += n;
        }
        true
    }

    fn write(&mut self, offset: usize, bytes: &[u8]) -> bool {
        if !self.in_bounds(offset, bytes.len()) {
            return false;
        }
        let mut done = 0;
        for (index, start, n) in Self::pieces(offset, bytes.len()) {
            self.chunk_mut(index)[start..start + n].copy_from_slice(&bytes[done..done + n]);
            done += n;
        }
        true
    }

    fn read_point(&self, at: u32) -> Option<Point> {
        let mut bytes = [0; size_of::<Point>()];
        self.read_into(at as usize, &mut bytes).then(|| bytemuck::pod_read_unaligned(&bytes))
    }

    fn write_point(&mut self, at: u32, point: Point) -> bool {
        self.write(at as usize, bytemuck::bytes_of(&point))
    }

    /// The guest's `point_add`, natively: null does nothing; both inputs are read before the output is written.
    fn point_add(&mut self, out: u32, a: u32, b: u32) -> Outcome {
        if out == 0 || a == 0 || b == 0 {
            return Outcome::Returned;
        }
        let (Some(a), Some(b)) = (self.read_point(a), self.read_point(b)) else { return oob_trap() };
        if self.write_point(out, add_points(a, b)) { Outcome::Returned } else { oob_trap() }
    }

    /// The guest's `point_add_batch`, natively: element by element, addresses `base + 8 * i` wrapping at 32 bits.
    fn point_add_batch(&mut self, out: u32, a: u32, b: u32, count: u32) -> Outcome {
        if out == 0 || a == 0 || b == 0 {
            return Outcome::Returned;
        }
        for i in 0..count {
            let step = i.wrapping_mul(8);
            let at = |base: u32| base.wrapping_add(step);
            let (Some(x), Some(y)) = (self.read_point(at(a)), self.read_point(at(b))) else { return oob_trap() };
            if !self.write_point(at(out), add_points(x, y)) {
                return oob_trap();
            }
        }
        Outcome::Returned
    }
}

fn oob_trap() -> Outcome {
    Outcome::Trapped(wasmtime::Trap::MemoryOutOfBounds)
}

/// Offsets are resolved against the memory as it is when the operation starts, so the edges stay edges
/// whatever the size.
#[derive(Debug, Clone, Copy)]
struct Resolver {
    size: usize,
    scratch: usize,
    scratch_len: usize,
    static_at: u32,
}

impl Resolver {
    fn at(&self, offset: Offset) -> usize {
        match offset {
            Offset::Any(v) => v as usize,
            Offset::Scratch(v) => self.scratch + v as usize % self.scratch_len,
            Offset::FromEnd(n) => self.size.saturating_sub(usize::from(n % 17)),
            Offset::Zero => 0,
            Offset::Max => u32::MAX as usize,
            Offset::Negative(n) => boundary_host::guest_offset(-1 - i32::from(n)),
            Offset::Static(k) => self.static_at as usize + usize::from(k % 8),
            Offset::Huge(n) => usize::MAX - usize::from(n),
        }
    }

    /// A guest pointer: the low 32 bits of the resolved offset, which is all a wasm `i32` holds.
    fn ptr(&self, offset: Offset) -> u32 {
        self.at(offset) as u32
    }
}

fn byte_len(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(MAX_BYTES)]
}

fn read_len(len: u8) -> usize {
    usize::from(len) % (MAX_BYTES + 1)
}

fn batch_count(count: u16) -> u32 {
    u32::from(count) % (MAX_BATCH + 1)
}

fn grow_pages(pages: u8) -> u64 {
    u64::from(pages % 3)
}

/// The model's outcome for `op`, applied to the shadow.
fn predict(shadow: &mut Shadow<'_>, op: &Op, r: &Resolver, grown: &mut u64) -> Outcome {
    let size = shadow.size;
    let refused = |offset, len| Outcome::OutOfBounds(MemoryError { offset, len, memory_size: size });
    let write = |shadow: &mut Shadow<'_>, at: usize, bytes: &[u8]| {
        if shadow.write(at, bytes) { Outcome::Wrote } else { refused(at, bytes.len()) }
    };
    let read =
        |shadow: &Shadow<'_>, at: usize, len: usize| shadow.read(at, len).map_or(refused(at, len), Outcome::Read);
    let static_at = r.static_at as usize;
    match op {
        Op::WritePoint { at, point } => write(shadow, r.at(*at), bytemuck::bytes_of(point)),
        Op::ReadPoint { at } => read(shadow, r.at(*at), 8),
        Op::WriteBytes { at, bytes } => write(shadow, r.at(*at), byte_len(bytes)),
        Op::ReadBytes { at, len } => read(shadow, r.at(*at), read_len(*len)),
        Op::PointAdd { out, a, b } => shadow.point_add(r.ptr(*out), r.ptr(*a), r.ptr(*b)),
        Op::PointAddBatch { out, a, b, count } => {
            shadow.point_add_batch(r.ptr(*out), r.ptr(*a), r.ptr(*b), batch_count(*count))
        }
        Op::ReadStatic => read(shadow, static_at, 4),
        Op::WriteStatic { value } => write(shadow, static_at, &value.to_le_bytes()),
        Op::GuestReadsStatic => match shadow.read(static_at, 4) {
            Some(b) => Outcome::Value(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            None => oob_trap(),
        },
        Op::Grow { pages } => {
            let pages = grow_pages(*pages);
            if *grown + pages > MAX_GROWTH_PAGES {
                return Outcome::Skipped;
            }
            *grown += pages;
            shadow.size += pages as usize * WASM_PAGE;
            Outcome::Grew(size)
        }
        Op::Checksum { at, len } => match payload_range(r.ptr(*at), len.get(), size) {
            Some(range) => match shadow.read(range.start, range.len()) {
                Some(bytes) => Outcome::Checksum(boundary_host::guest::checksum(&bytes)),
                None => refused_payload(),
            },
            None => refused_payload(),
        },
        Op::Fill { at, len, seed } => match payload_range(r.ptr(*at), len.get(), size) {
            Some(range) => {
                let bytes: Vec<u8> = (0..range.len()).map(|i| boundary_host::guest::fill_byte(*seed, i)).collect();
                if shadow.write(range.start, &bytes) { Outcome::Returned } else { refused_payload() }
            }
            None => refused_payload(),
        },
    }
}

/// The bytes a payload export touches, if it touches them at all: the guest refuses (traps) a range that does not
/// lie inside memory, computed without wrapping, and a null pointer with a non-empty length.
fn payload_range(ptr: u32, len: u32, size: usize) -> Option<std::ops::Range<usize>> {
    let (start, end) = (ptr as usize, ptr as usize + len as usize);
    (end <= size && (ptr != 0 || len == 0)).then_some(start..end)
}

/// The guest's refusal of a payload range: it traps with `unreachable` before touching anything.
fn refused_payload() -> Outcome {
    Outcome::Trapped(wasmtime::Trap::UnreachableCodeReached)
}

fn call_outcome<T>(result: Result<T, Error>, ok: impl FnOnce(T) -> Outcome) -> Outcome {
    match result {
        Ok(v) => ok(v),
        Err(e) => e.trap_code().map_or_else(|| Outcome::Failed(e.to_string()), Outcome::Trapped),
    }
}

/// Runs `op` on the real host through the host core's public API.
fn perform(host: &mut WasmHost, op: &Op, r: &Resolver, skip: bool) -> Outcome {
    let wrote = |result: Result<(), MemoryError>| result.map_or_else(Outcome::OutOfBounds, |()| Outcome::Wrote);
    let read = |result: Result<Vec<u8>, MemoryError>| result.map_or_else(Outcome::OutOfBounds, Outcome::Read);
    let returned = |()| Outcome::Returned;
    match op {
        Op::WritePoint { at, point } => wrote(host.write(r.at(*at), point)),
        Op::ReadPoint { at } => read(host.read::<Point>(r.at(*at)).map(|p| bytemuck::bytes_of(&p).to_vec())),
        Op::WriteBytes { at, bytes } => wrote(host.write_bytes(r.at(*at), byte_len(bytes))),
        Op::ReadBytes { at, len } => {
            let mut buf = vec![0; read_len(*len)];
            read(host.read_bytes(r.at(*at), &mut buf).map(|()| buf))
        }
        Op::PointAdd { out, a, b } => call_outcome(host.point_add(r.ptr(*out), r.ptr(*a), r.ptr(*b)), returned),
        Op::PointAddBatch { out, a, b, count } => {
            call_outcome(host.point_add_batch(r.ptr(*out), r.ptr(*a), r.ptr(*b), batch_count(*count)), returned)
        }
        Op::ReadStatic => call_outcome(host.plugin_shared_value_ptr(), |ptr| {
            read(host.read::<i32>(boundary_host::guest_offset(ptr)).map(|v| v.to_le_bytes().to_vec()))
        }),
        Op::WriteStatic { value } => call_outcome(host.plugin_shared_value_ptr(), |ptr| {
            wrote(host.write(boundary_host::guest_offset(ptr), value))
        }),
        Op::GuestReadsStatic => call_outcome(host.read_plugin_shared_value(), Outcome::Value),
        Op::Grow { .. } if skip => Outcome::Skipped,
        Op::Grow { pages } => {
            host.grow(grow_pages(*pages)).map_or_else(|e| Outcome::GrowRefused(e.to_string()), Outcome::Grew)
        }
        Op::Checksum { at, len } => call_outcome(host.checksum_bytes(r.ptr(*at), len.get()), Outcome::Checksum),
        Op::Fill { at, len, seed } => call_outcome(host.fill_bytes(r.ptr(*at), len.get(), *seed), returned),
    }
}

/// Compares all of linear memory with the shadow; returns a copy of it if `keep` is set.
fn compare_memory(host: &WasmHost, shadow: &Shadow<'_>, keep: bool) -> Result<Option<Vec<u8>>, Divergence> {
    let data = host.memory().raw().data(host.store());
    let diverged = |expected: String, actual: String| Divergence {
        step: None,
        what: "linear memory after the last operation".to_string(),
        expected,
        actual,
    };
    if data.len() != shadow.size {
        return Err(diverged(format!("{} bytes", shadow.size), format!("{} bytes", data.len())));
    }
    for (index, page) in data.chunks(CHUNK).enumerate() {
        let model = &shadow.chunk(index)[..page.len()];
        if page != model {
            let i = page.iter().zip(model).position(|(a, b)| a != b).unwrap_or(0);
            let at = index * CHUNK + i;
            let window = |bytes: &[u8]| format!("{:02x?}", &bytes[i..(i + 8).min(bytes.len())]);
            return Err(diverged(format!("{} at {at:#x}", window(model)), format!("{} at {at:#x}", window(page))));
        }
    }
    Ok(keep.then(|| data.to_vec()))
}

/// A prepared guest to run programs on: compiled and linked once per process (per profile), with the memory
/// of a fresh instance captured once as the model's starting point.
///
/// Every program starts from the state of a fresh instance with the host's scratch area in place. That is a
/// new instance, or the previous program's instance brought back to that state: only when the previous
/// program did not trap in it and did not grow its memory, after its whole memory was verified against the
/// model, by copying the fresh contents back into the chunks the model says it changed. Instantiating and
/// tearing down an instance is most of the work of a short program, so this keeps fuzzing fast.
pub struct Oracle {
    guest: GuestModule,
    initial: Vec<u8>,
    static_at: u32,
    /// The area of the guest's initial memory that the guest leaves to the host (the `Scratch` offsets).
    scratch: std::ops::Range<usize>,
    idle: std::sync::Mutex<Option<WasmHost>>,
}

impl fmt::Debug for Oracle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Oracle").field("guest", &self.guest).field("static_at", &self.static_at).finish_non_exhaustive()
    }
}

impl Oracle {
    /// Prepares the fuzz build of the guest (the quiet guest in one page, `guest::FUZZ_WASM`) under
    /// `profile`: every program ends with a comparison of all of linear memory, so the less of it there is, the
    /// more programs a second.
    ///
    /// The engine captures no wasm backtrace on a trap: the oracle compares a trap's code, never its frames, and
    /// the backtrace is most of what a trap costs (the gate counts a trap at 20,155 instructions with it and 1,258
    /// without, `results/gate-baseline.json`); a program whose guest call traps is common in fuzzing.
    pub fn new(profile: EngineProfile) -> Result<Self, Error> {
        Self::with_config(profile, profile.config()?)
    }

    /// The oracle of [`DEFAULT_PROFILE`] made for counting instructions (`fuzz/instructions.sh`): the profile's
    /// counting configuration (one compile thread, code for the target's baseline CPU features), with a pool of
    /// [`COUNTING_SLOTS`] slots instead of the profile's 64, each slot as the profile makes it, because valgrind
    /// cannot reserve the address space of 64 (over 256 GiB), and the tables' pages not kept resident. A program
    /// has at most two instances alive at once (a trapped one and its successor), so the pool's size does not show
    /// in what a program does.
    pub fn counting() -> Result<Self, Error> {
        let mut config = fuzz_pool(COUNTING_SLOTS)?;
        DEFAULT_PROFILE.make_countable(&mut config)?;
        Self::with_config(DEFAULT_PROFILE, config)
    }

    /// The oracle [`check`] uses: [`DEFAULT_PROFILE`]'s compiler on the fuzzing pool ([`fuzz_pool`]).
    pub fn fuzzing() -> Result<Self, Error> {
        Self::with_config(DEFAULT_PROFILE, fuzz_pool(boundary_host::profile::POOLING_SLOTS)?)
    }

    fn with_config(profile: EngineProfile, mut config: wasmtime::Config) -> Result<Self, Error> {
        let options = HostOptions { output: GuestOutput::Discard, ..HostOptions::default() };
        config.wasm_backtrace_max_frames(None);
        let engine = profile.engine_from(&config)?;
        let name = "the fuzz guest".to_string();
        let guest =
            GuestModule::load_with_engine(name, boundary_host::guest::FUZZ_WASM, false, profile, &engine, options)?;
        Self::prepare(guest, boundary_host::guest::FUZZ_HOST_AREA)
    }

    fn prepare(guest: GuestModule, scratch: std::ops::Range<usize>) -> Result<Self, Error> {
        let mut host = guest.instantiate()?;
        let mut initial = vec![0; host.memory_size()];
        host.read_bytes(0, &mut initial)?;
        let static_at = host.plugin_shared_value_ptr()?;
        // The guest's promise, checked as far as a fresh instance shows it: the area is the end of memory, zero,
        // and not where the guest keeps its static. (A guest that wrote there anyway would fail the
        // end-of-program comparison, never pass it.) The shadow's chunks must tile memory.
        let static_end = static_at as usize + size_of::<i32>();
        let zero = initial.get(scratch.clone()).is_some_and(|a| !a.is_empty() && a.iter().all(|&b| b == 0));
        if !zero || scratch.end != initial.len() || static_end > scratch.start || initial.len() % CHUNK != 0 {
            return Err(Error::UnsupportedMemory {
                module: guest.name().to_string(),
                reason: format!(
                    "its fresh memory of {:#x} bytes does not leave {scratch:#x?} to the host",
                    initial.len()
                ),
            });
        }
        Ok(Oracle { guest, initial, static_at, scratch, idle: std::sync::Mutex::new(None) })
    }

    pub fn profile(&self) -> EngineProfile {
        self.guest.profile()
    }

    /// An instance in the state of a fresh one, and its shadow: the idle instance if there is one, else a new
    /// one.
    fn fresh(&self, reuse: bool) -> Result<(WasmHost, Shadow<'_>), Divergence> {
        let shadow = Shadow::new(&self.initial, self.initial.len());
        if reuse && let Some(host) = self.idle.lock().ok().and_then(|mut idle| idle.take()) {
            return Ok((host, shadow));
        }
        let host = self.guest.instantiate().map_err(|e| Divergence {
            step: None,
            what: "setting up a fresh instance".to_string(),
            expected: "success".to_string(),
            actual: e.to_string(),
        })?;
        Ok((host, shadow))
    }

    /// Keeps `host` for the next program, restored to the fresh state. Only called after its whole memory
    /// matched `shadow`, so copying the fresh bytes into the shadow's changed chunks makes memory fresh again.
    fn recycle(&self, mut host: WasmHost, shadow: &Shadow<'_>) {
        if host.memory_size() != self.initial.len() {
            return;
        }
        for (index, chunk) in shadow.dirty.iter().enumerate() {
            if chunk.is_some() {
                let start = index * CHUNK;
                let fresh = self.initial.get(start..start + CHUNK).unwrap_or(&ZERO_CHUNK);
                if host.write_bytes(start, fresh).is_err() {
                    return;
                }
            }
        }
        let state = host.state_mut();
        state.shared_value = boundary_host::guest::HOST_SHARED_VALUE_INITIAL;
        state.last_logged = None;
        state.calls = Default::default();
        if self.profile().prepare_store(host.store_mut(), HostOptions::default().fuel).is_err() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            *idle = Some(host);
        }
    }

    /// Runs `program` on a fresh instance and checks every outcome and the final memory against the model.
    pub fn check(&self, program: &Program) -> Result<Run, Divergence> {
        self.run(program, false)
    }

    /// As [`Oracle::check`], and returns the final memory too (for differential runs).
    pub fn check_keeping_memory(&self, program: &Program) -> Result<Run, Divergence> {
        self.run(program, true)
    }

    fn run(&self, program: &Program, keep_memory: bool) -> Result<Run, Divergence> {
        let (mut host, mut shadow) = self.fresh(true)?;
        let mut trace = Vec::with_capacity(program.ops.len().min(MAX_OPS));
        let (mut grown, mut traps) = (0u64, 0usize);
        for (step, op) in program.ops.iter().take(MAX_OPS).enumerate() {
            let resolver = Resolver {
                size: shadow.size,
                scratch: self.scratch.start,
                scratch_len: self.scratch.len(),
                static_at: self.static_at,
            };
            let expected = predict(&mut shadow, op, &resolver, &mut grown);
            let actual = perform(&mut host, op, &resolver, expected == Outcome::Skipped);
            let diverged = |expected: String, actual: String| Divergence {
                step: Some(step),
                what: format!("{op:?}"),
                expected,
                actual,
            };
            if actual != expected {
                return Err(diverged(format!("{expected:?}"), format!("{actual:?}")));
            }
            if let Outcome::Trapped(_) = actual {
                if host.discarded_by().is_none() {
                    return Err(diverged("the trapped store discarded".into(), "a store still taking calls".into()));
                }
                traps += 1;
                (host, shadow) = self.fresh(false)?;
                grown = 0;
            }
            trace.push(actual);
        }
        let memory = compare_memory(&host, &shadow, keep_memory)?;
        self.recycle(host, &shadow);
        Ok(Run { trace, traps, memory })
    }
}

/// Runs `program` under two oracles (two engine profiles): each must match the model, and the two must leave
/// identical outcomes and identical memory.
pub fn differential(program: &Program, first: &Oracle, second: &Oracle) -> Result<Run, Divergence> {
    let a = first.check_keeping_memory(program)?;
    let b = second.check_keeping_memory(program)?;
    let names = |what: &str| format!("{what}: {} against {}", first.profile(), second.profile());
    if a.trace != b.trace {
        let step = a.trace.iter().zip(&b.trace).position(|(x, y)| x != y);
        return Err(Divergence {
            step,
            what: names("outcomes"),
            expected: format!("{:?}", step.map(|i| &a.trace[i])),
            actual: format!("{:?}", step.map(|i| &b.trace[i])),
        });
    }
    if a.memory != b.memory {
        return Err(Divergence {
            step: None,
            what: names("final memory"),
            expected: "identical memory".to_string(),
            actual: "a difference".to_string(),
        });
    }
    Ok(a)
}

/// The profile [`check`] runs under: Cranelift with the pooling allocator, on a pool of its own ([`fuzz_pool`]).
/// The other profiles are checked by the proptests and the differential runs.
pub const DEFAULT_PROFILE: EngineProfile = EngineProfile::Pooling;

/// The engine the fuzzing oracle runs on: Cranelift on a pool of `slots` slots whose first 2 MiB of memory (all of
/// the fuzz guest's) stay resident when an instance is freed and are reset by copying, so that a fresh instance per
/// program, or after a trap, costs a copy of the guest's one page instead of page faults (the `pooling` profile
/// itself is wasmtime's default pool, which keeps nothing resident); and without signals-based traps, so that a trap
/// is raised by a call into the runtime rather than by an invalid-opcode exception or a segmentation fault, which
/// this project's virtual machines make cost 7 to 9 us and 1 to 2 us (`fuzz/README.md`, "Throughput"). Guest memory
/// accesses are then bounds-checked in code. The seeds' programs trap as often either way; the host's memory I/O,
/// which is what this oracle checks, is the same code.
fn fuzz_pool(slots: u32) -> Result<wasmtime::Config, Error> {
    use boundary_host::profile::{SlotReset, pooled_config};
    let reset = SlotReset { copy_on_write: true, keep_resident: 64 << 10, pagemap_scan: false };
    let mut config = pooled_config(slots, 1 << 30, reset)?;
    config.signals_based_traps(false).memory_guard_size(0);
    Ok(config)
}

thread_local! {
    static DEFAULT: Result<Oracle, String> = Oracle::fuzzing().map_err(|e| e.to_string());
}

/// Checks `program` with this thread's oracle for [`DEFAULT_PROFILE`] (built on first use): the entry point of
/// the fuzz target and the corpus replay.
pub fn check(program: &Program) -> Result<Run, Divergence> {
    DEFAULT.with(|oracle| match oracle {
        Ok(oracle) => oracle.check(program),
        Err(e) => Err(Divergence {
            step: None,
            what: "preparing the oracle".to_string(),
            expected: "success".to_string(),
            actual: e.clone(),
        }),
    })
}

/// Decodes fuzz input bytes the way libFuzzer's `fuzz_target!` does for a typed input; `None` where the bytes
/// do not make a program (the fuzzer skips those too).
pub fn decode(bytes: &[u8]) -> Option<Program> {
    Program::arbitrary_take_rest(arbitrary::Unstructured::new(bytes)).ok()
}
