//! Bytes across the boundary: what moving a buffer costs, by size, direction and method, against this machine's
//! memory bandwidth. The command (`mod.rs`) runs the sweep and writes the record; the gate counts a small and a large
//! buffer for the fastest and the slowest method.
//!
//! Host -> guest, the host puts `n` bytes into linear memory and the guest reads every one of them
//! (`checksum_bytes`): by `Memory::write`, by a copy into `Memory::data_mut`, or by a `bytemuck` cast of a typed
//! slice copied in. Guest -> host, the guest writes `n` bytes (`fill_bytes`) and the host reads them by
//! `Memory::read`, by a copy out of `Memory::data`, or into a typed slice through a `bytemuck` cast. The component
//! passes a `list<u8>` in (`checksum-bytes`), takes one out (`fill-bytes`) and passes a `string` in
//! (`checksum-string`). Native Rust does the same copies with the same checksum and fill, and a plain `memcpy` of
//! `n` bytes is the ceiling.

use crate::guard::OrStop;
use crate::ops::CoreBench;
use boundary_host::Wasm;
use boundary_host::wasmtime::{Engine, Memory, Store};
use boundary_host::{ComponentHost, EngineProfile, GuestComponent, HostFuncStyle, HostState};
use std::hint::black_box;
use std::time::Duration;

/// The sizes of the sweep: 8 bytes to 16 MiB, two to an octave (each power of two and one and a half times it), so
/// that every cache regime has enough sizes for a line to be fitted through them. All are multiples of 4, as the
/// `bytemuck` methods' `u32` words need.
pub const SIZES: [usize; 43] = sweep_sizes();

const fn sweep_sizes() -> [usize; 43] {
    let mut sizes = [0; 43];
    let (mut i, mut power) = (0, 8);
    while i < sizes.len() {
        sizes[i] = power;
        if i + 1 < sizes.len() {
            sizes[i + 1] = power + power / 2;
        }
        i += 2;
        power *= 2;
    }
    sizes
}

/// Sizes above this are measured under the profiles that [`LARGE_PROFILES`] names only.
pub const LARGE: usize = 1 << 20;

/// The profiles of the sizes above [`LARGE`]: one compiler of each kind (optimising, baseline, interpreter). The
/// others compile the guest's loops as Cranelift does (`cranelift-size`, `fuel` and `epoch` add a check per loop
/// turn, which a size of a few KiB shows as well as 16 MiB), or differ only in how memory is reserved or allocated,
/// which changes nothing once a buffer is in place.
pub const LARGE_PROFILES: [EngineProfile; 3] = [EngineProfile::Cranelift, EngineProfile::Winch, EngineProfile::Pulley];

/// A size in bytes, as the tables name it.
pub fn size_name(bytes: usize) -> String {
    let whole = |shift: u32| bytes.is_multiple_of(1 << shift);
    match bytes {
        b if b >= 1 << 20 && whole(20) => format!("{} MiB", b >> 20),
        b if b >= 1 << 20 => format!("{} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 && whole(10) => format!("{} KiB", b >> 10),
        b if b >= 1 << 10 => format!("{} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// A way of moving bytes across the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    InWrite,
    InDataMut,
    InBytemuck,
    OutRead,
    OutData,
    OutBytemuck,
    ListIn,
    ListOut,
    StringIn,
}

impl Method {
    pub const ALL: [Method; 9] = [
        Method::InWrite,
        Method::InDataMut,
        Method::InBytemuck,
        Method::OutRead,
        Method::OutData,
        Method::OutBytemuck,
        Method::ListIn,
        Method::ListOut,
        Method::StringIn,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Method::InWrite => "in/write",
            Method::InDataMut => "in/data_mut",
            Method::InBytemuck => "in/bytemuck",
            Method::OutRead => "out/read",
            Method::OutData => "out/data",
            Method::OutBytemuck => "out/bytemuck",
            Method::ListIn => "component/list_in",
            Method::ListOut => "component/list_out",
            Method::StringIn => "component/string_in",
        }
    }

    pub fn what(self) -> &'static str {
        match self {
            Method::InWrite => "`Memory::write` of the bytes, then the guest's `checksum_bytes` over them",
            Method::InDataMut => "the bytes copied into `Memory::data_mut`, then `checksum_bytes`",
            Method::InBytemuck => {
                "a `&[u32]` cast to bytes by `bytemuck` and copied into `data_mut`, then `checksum_bytes`"
            }
            Method::OutRead => "the guest's `fill_bytes`, then `Memory::read` into a host buffer",
            Method::OutData => "`fill_bytes`, then a copy out of `Memory::data`",
            Method::OutBytemuck => "`fill_bytes`, then a copy into a `Vec<u32>` cast to bytes by `bytemuck`",
            Method::ListIn => "the component's `checksum-bytes(list<u8>)`: the list lowered into the guest",
            Method::ListOut => "the component's `fill-bytes(len, seed) -> list<u8>`: the list lifted into a new `Vec`",
            Method::StringIn => "the component's `checksum-string(string)`: the string lowered as UTF-8",
        }
    }

    /// Whether the method moves bytes into the guest (and its native floor is a copy and a checksum) or out of it
    /// (a fill and a copy).
    pub fn inward(self) -> bool {
        matches!(self, Method::InWrite | Method::InDataMut | Method::InBytemuck | Method::ListIn | Method::StringIn)
    }

    pub fn component(self) -> bool {
        matches!(self, Method::ListIn | Method::ListOut | Method::StringIn)
    }

    /// The component's optional export a component method calls.
    pub fn component_export(self) -> Option<&'static str> {
        use boundary_host::component::export;
        match self {
            Method::ListIn => Some(export::CHECKSUM_BYTES),
            Method::ListOut => Some(export::FILL_BYTES),
            Method::StringIn => Some(export::CHECKSUM_STRING),
            _ => None,
        }
    }
}

/// The native rows: the same work without wasm, and the copy alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// Copy the bytes into a buffer, then the checksum over it: the floor of the inward methods.
    CopyChecksum,
    /// Fill a buffer with the pattern, then copy it into another: the floor of the outward methods.
    FillCopy,
    /// `copy_from_slice` of the bytes: the most a byte can cost to move on this machine.
    Memcpy,
}

impl Native {
    pub const ALL: [Native; 3] = [Native::CopyChecksum, Native::FillCopy, Native::Memcpy];

    pub fn id(self) -> &'static str {
        match self {
            Native::CopyChecksum => "native/copy_checksum",
            Native::FillCopy => "native/fill_copy",
            Native::Memcpy => "native/memcpy",
        }
    }

    pub fn what(self) -> &'static str {
        match self {
            Native::CopyChecksum => "native Rust: the bytes copied into a buffer, then the same checksum over it",
            Native::FillCopy => "native Rust: a buffer filled with the same pattern, then copied into another",
            Native::Memcpy => "`copy_from_slice` of the bytes: this machine's memory bandwidth",
        }
    }
}

/// The native floor of `method`.
pub fn floor_of(method: Method) -> Native {
    if method.inward() { Native::CopyChecksum } else { Native::FillCopy }
}

/// Host buffers reused across iterations: the source bytes (also as `u32` words) and a destination.
#[derive(Debug)]
pub struct Buffers {
    pub bytes: Vec<u8>,
    words: Vec<u32>,
    pub out: Vec<u8>,
    out_words: Vec<u32>,
    text: String,
}

impl Buffers {
    /// Buffers for sizes up to `max` bytes (a multiple of 4).
    pub fn new(max: usize) -> Self {
        let bytes = boundary_host::patterns::check_buffer(max);
        let words = bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        // A string of the same length: ASCII, so every size is a whole number of characters.
        let text = bytes.iter().map(|b| char::from(b'a' + b % 26)).collect();
        Buffers { bytes, words, out: vec![0; max], out_words: vec![0; max / 4], text }
    }
}

/// The seed of every fill.
const SEED: u32 = 0x5eed;

/// The core module with room for the largest buffer, and its memory.
pub struct CoreMover {
    pub bench: CoreBench,
    memory: Memory,
    at: usize,
    at32: u32,
}

impl std::fmt::Debug for CoreMover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreMover").field("at", &self.at).finish_non_exhaustive()
    }
}

impl CoreMover {
    /// `wasm` (with the payload exports) in a fresh instance, its memory grown by room for `max` bytes.
    pub fn new(profile: EngineProfile, engine: &Engine, wasm: &Wasm, max: usize) -> Self {
        let mut bench = CoreBench::for_wasm(profile, engine, wasm, HostFuncStyle::Typed);
        let at = bench.host.reserve(max).or_stop();
        let memory = bench.host.memory().raw();
        let at32 = u32::try_from(at).unwrap_or_else(|_| panic!("offset {at:#x} is past 4 GiB"));
        CoreMover { bench, memory, at, at32 }
    }

    fn store(&mut self) -> &mut Store<HostState> {
        self.bench.host.store_mut()
    }

    /// One iteration of `method` over `n` bytes; the checksum or the last byte read, so nothing is optimised away.
    #[inline]
    pub fn run(&mut self, method: Method, n: usize, b: &mut Buffers) -> u64 {
        let (at, at32) = (self.at, self.at32);
        match method {
            Method::InWrite => {
                let memory = self.memory;
                memory.write(self.store(), at, black_box(&b.bytes[..n])).or_stop();
                self.bench.host.checksum_bytes(at32, n as u32).or_stop()
            }
            Method::InDataMut => {
                let memory = self.memory;
                memory.data_mut(self.store())[at..at + n].copy_from_slice(black_box(&b.bytes[..n]));
                self.bench.host.checksum_bytes(at32, n as u32).or_stop()
            }
            Method::InBytemuck => {
                let memory = self.memory;
                let words: &[u8] = bytemuck::cast_slice(black_box(&b.words[..n / 4]));
                memory.data_mut(self.store())[at..at + n].copy_from_slice(words);
                self.bench.host.checksum_bytes(at32, n as u32).or_stop()
            }
            Method::OutRead => {
                self.bench.host.fill_bytes(at32, n as u32, SEED).or_stop();
                let memory = self.memory;
                memory.read(&*self.store(), at, &mut b.out[..n]).or_stop();
                u64::from(black_box(&b.out[..n]).last().copied().unwrap_or(0))
            }
            Method::OutData => {
                self.bench.host.fill_bytes(at32, n as u32, SEED).or_stop();
                let memory = self.memory;
                b.out[..n].copy_from_slice(&memory.data(&*self.store())[at..at + n]);
                u64::from(black_box(&b.out[..n]).last().copied().unwrap_or(0))
            }
            Method::OutBytemuck => {
                self.bench.host.fill_bytes(at32, n as u32, SEED).or_stop();
                let memory = self.memory;
                let words: &mut [u8] = bytemuck::cast_slice_mut(&mut b.out_words[..n / 4]);
                words.copy_from_slice(&memory.data(&*self.store())[at..at + n]);
                u64::from(black_box(&b.out_words[..n / 4]).last().copied().unwrap_or(0))
            }
            Method::ListIn | Method::ListOut | Method::StringIn => unreachable!("a component method on a core module"),
        }
    }
}

/// The component, for the component methods.
#[derive(Debug)]
pub struct ComponentMover {
    pub host: ComponentHost,
}

impl ComponentMover {
    pub fn new(profile: EngineProfile, engine: &Engine, wasm: &Wasm) -> Self {
        let options = crate::guard::host_options();
        let guest =
            GuestComponent::load_with_engine(wasm.name.clone(), &wasm.bytes, wasm.is_text, profile, engine, options)
                .or_stop();
        ComponentMover { host: guest.instantiate().or_stop() }
    }

    #[inline]
    pub fn run(&mut self, method: Method, n: usize, b: &mut Buffers) -> u64 {
        match method {
            Method::ListIn => self.host.checksum_bytes(black_box(&b.bytes[..n])).or_stop(),
            Method::ListOut => {
                let bytes = self.host.fill_bytes(n as u32, SEED).or_stop();
                u64::from(black_box(bytes).last().copied().unwrap_or(0))
            }
            Method::StringIn => self.host.checksum_string(black_box(&b.text[..n])).or_stop(),
            _ => unreachable!("a core method on a component"),
        }
    }
}

/// One iteration of a native row over `n` bytes.
#[inline]
pub fn native(row: Native, n: usize, b: &mut Buffers) -> u64 {
    match row {
        Native::CopyChecksum => {
            b.out[..n].copy_from_slice(black_box(&b.bytes[..n]));
            boundary_host::guest::checksum(black_box(&b.out[..n]))
        }
        Native::FillCopy => {
            // The fill goes into the word buffer's bytes, a buffer of its own, then is copied out as the host copies
            // the guest's.
            let scratch = &mut bytemuck::cast_slice_mut::<u32, u8>(&mut b.out_words)[..n];
            for (i, byte) in scratch.iter_mut().enumerate() {
                *byte = boundary_host::guest::fill_byte(SEED, i);
            }
            b.out[..n].copy_from_slice(black_box(scratch));
            u64::from(black_box(&b.out[..n]).last().copied().unwrap_or(0))
        }
        Native::Memcpy => {
            b.out[..n].copy_from_slice(black_box(&b.bytes[..n]));
            u64::from(black_box(&b.out[..n]).last().copied().unwrap_or(0))
        }
    }
}

/// How long a sweep times each row at each size.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The length of one timed batch.
    pub batch: Duration,
    /// How many batches of each row are timed, one per round.
    pub rounds: usize,
}

/// Times `rows` operations at one size against each other: each is first calibrated alone (a batch of warm-up, and
/// as many iterations as fill `timing.batch`, doubled from one until they do), then every round times one batch of
/// each, in an order shuffled afresh each round (seeded by `seed`), so that drift and the order of rows fall on all
/// of them alike. `op(row)` runs one iteration of row `row`; `what(row)` names it for the watchdog. Returns, per row,
/// the time of one iteration in each round, in nanoseconds (fractions kept).
pub fn interleaved(
    rows: usize,
    what: impl Fn(usize) -> String,
    mut op: impl FnMut(usize) -> u64,
    timing: Timing,
    seed: u64,
) -> Vec<Vec<f64>> {
    let mut batches: Vec<crate::guard::Batches> = (0..rows).map(|row| crate::guard::Batches::new(&what(row))).collect();
    let mut iterations = vec![1u64; rows];
    for row in 0..rows {
        while batches[row].time(iterations[row], || op(row)) < timing.batch / 4 && iterations[row] < 1 << 30 {
            iterations[row] *= 2;
        }
    }
    let mut times = vec![Vec::with_capacity(timing.rounds); rows];
    let mut order: Vec<usize> = (0..rows).collect();
    let mut state = seed;
    for _ in 0..timing.rounds.max(1) {
        // Fisher-Yates with SplitMix64: the same seed, the same orders.
        for i in (1..order.len()).rev() {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            order.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
        }
        for &row in &order {
            let elapsed = batches[row].time(iterations[row], || op(row));
            times[row].push(elapsed.as_secs_f64() * 1e9 / iterations[row] as f64);
        }
    }
    times
}

/// The median of `values` (the upper one of an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// Times `op` and returns the median time of one iteration in nanoseconds (a fraction, never rounded to whole
/// ones): batches of as many iterations as fill `batch`, `rounds` of them after one batch of warm-up, each under the
/// watchdog as `what`.
pub fn time(what: &str, mut op: impl FnMut() -> u64, batch: Duration, rounds: usize) -> f64 {
    let mut batches = crate::guard::Batches::new(what);
    // How many iterations fill a batch: doubled from one until they do.
    let mut iterations = 1u64;
    while batches.time(iterations, &mut op) < batch / 4 && iterations < 1 << 30 {
        iterations *= 2;
    }
    let mut per_iteration: Vec<f64> =
        (0..rounds.max(1)).map(|_| batches.time(iterations, &mut op).as_secs_f64() * 1e9 / iterations as f64).collect();
    per_iteration.sort_by(f64::total_cmp);
    per_iteration[per_iteration.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::{SIZES, Timing, interleaved, median};
    use std::time::Duration;

    #[test]
    fn the_sizes_are_two_to_an_octave_in_whole_words() {
        assert_eq!((SIZES[0], SIZES[1], SIZES[2], SIZES[SIZES.len() - 1]), (8, 12, 16, 16 << 20));
        assert!(SIZES.windows(2).all(|w| w[0] < w[1] && w[1] <= 2 * w[0]));
        assert!(SIZES.iter().all(|n| n % 4 == 0));
    }

    #[test]
    fn every_round_times_every_row_once_in_a_shuffled_order() {
        let mut calls = Vec::new();
        let timing = Timing { batch: Duration::ZERO, rounds: 6 };
        let times = interleaved(
            4,
            |row| format!("row {row}"),
            |row| {
                calls.push(row);
                0
            },
            timing,
            7,
        );
        assert_eq!(times.len(), 4);
        assert!(times.iter().all(|t| t.len() == 6));
        // One calibrating call per row, in order; then each round a permutation of the rows.
        assert_eq!(calls[..4], [0, 1, 2, 3]);
        let rounds: Vec<&[usize]> = calls[4..].chunks(4).collect();
        assert_eq!(rounds.len(), 6);
        for round in &rounds {
            let mut sorted = round.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2, 3]);
        }
        assert!(rounds.windows(2).any(|w| w[0] != w[1]), "every round ran in the same order: {rounds:?}");
    }

    #[test]
    fn a_median_keeps_its_fraction() {
        assert_eq!(median(&[3.0, 1.5, 2.25]), 2.25);
        assert_eq!(median(&[]), 0.0);
    }
}
