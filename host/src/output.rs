//! The guest's WASI stdout and stderr: kept in memory for hosts that check what the guest says
//! ([`crate::GuestOutput::Keep`]; pattern 5 reads it when the guest has no `read_plugin_shared_value` export), and
//! shown, marked and escaped, through [`crate::console`] when the host shows it.

use crate::console::{self, Stream};
use crate::error::StdoutLimitExceeded;
use bytes::Bytes;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// The most bytes kept between two takes; later bytes are dropped from what is kept (what is shown is bounded by
/// the console). A guest that prints without end cannot make the host hold more than this.
pub const KEPT_BYTES: usize = 64 * 1024;

/// The guest's stdout as kept for a check: shared between the stream in the WASI context and the host state.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeptOutput {
    kept: Arc<Mutex<Vec<u8>>>,
    /// A WASI command's bound (`max_stdout`): a write past it fails, and ends the guest with
    /// [`StdoutLimitExceeded`]. Without it, bytes past [`KEPT_BYTES`] are dropped.
    limit: Option<usize>,
}

impl KeptOutput {
    /// Stdout kept whole up to `limit` bytes, a write past it an error.
    pub(crate) fn bounded(limit: usize) -> Self {
        KeptOutput { kept: Arc::default(), limit: Some(limit) }
    }

    /// What the guest wrote since the last take, at most [`KEPT_BYTES`] (or the bound).
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn keep(&self, bytes: &[u8]) -> Result<(), StdoutLimitExceeded> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let bound = self.limit.unwrap_or(KEPT_BYTES);
        let room = bound.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        match self.limit {
            Some(limit) if bytes.len() > room => Err(StdoutLimitExceeded { limit }),
            _ => Ok(()),
        }
    }
}

/// One of the guest's WASI output streams: what it writes is kept (stdout, for a check), shown through the console
/// (marked, escaped, capped), both, or neither. Cloned into the WASI context for every stream it opens.
#[derive(Debug, Clone)]
pub(crate) struct GuestStream {
    stream: Stream,
    kept: Option<KeptOutput>,
    show: bool,
}

impl GuestStream {
    pub(crate) fn new(stream: Stream, kept: Option<KeptOutput>, show: bool) -> Self {
        GuestStream { stream, kept, show }
    }

    fn write_bytes(&self, bytes: &[u8]) -> Result<(), StdoutLimitExceeded> {
        if self.show {
            console::guest(self.stream, bytes);
        }
        match &self.kept {
            Some(kept) => kept.keep(bytes),
            None => Ok(()),
        }
    }
}

impl IsTerminal for GuestStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestStream {
    /// A write past a command's bound is a trap: the guest ends with [`StdoutLimitExceeded`].
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes).map_err(|e| StreamError::Trap(e.into()))
    }

    /// Lines are shown as they end; a line the guest has not ended waits for its end or for the host's next line.
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(KEPT_BYTES)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestStream {
    /// Always ready: writes complete at once.
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.write_bytes(buf).map(|()| buf.len()).map_err(std::io::Error::other))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The instant a deterministic guest's clocks show: 2026-01-01T00:00:00Z, standing still.
const FIXED_TIME: std::time::Duration = std::time::Duration::from_secs(1_767_225_600);
/// The seed of a deterministic guest's random numbers.
const FIXED_SEED: u64 = 0x0b0a_5eed;

/// A clock that stands still, for a deterministic guest (`HostOptions::deterministic`).
struct FixedClock;

impl wasmtime_wasi::HostWallClock for FixedClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(1)
    }
    fn now(&self) -> std::time::Duration {
        FIXED_TIME
    }
}

impl wasmtime_wasi::HostMonotonicClock for FixedClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        0
    }
}

/// SplitMix64 from a fixed seed: the same numbers in every store, for a deterministic guest.
struct SeededRandom(u64);

impl rand_core::TryRng for SeededRandom {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        self.try_next_u64().map(|v| (v >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// Clocks standing still and seeded random numbers for the context `wasi` builds.
pub(crate) fn make_deterministic(wasi: &mut wasmtime_wasi::WasiCtxBuilder) {
    wasi.wall_clock(FixedClock)
        .monotonic_clock(FixedClock)
        .secure_random(SeededRandom(FIXED_SEED))
        .insecure_random(SeededRandom(FIXED_SEED ^ 1))
        .insecure_random_seed(u128::from(FIXED_SEED));
}
