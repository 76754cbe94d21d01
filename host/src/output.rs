//! The guest's WASI stdout and stderr: kept in memory for hosts that check what the guest says
//! ([`crate::GuestOutput::Keep`]; pattern 5 reads it when the guest has no `read_plugin_shared_value` export), and
//! shown, marked and escaped, through [`crate::console`] when the host shows it.

use crate::console::{self, Stream};
use bytes::Bytes;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The most bytes kept between two takes; later bytes are dropped from what is kept (what is shown is bounded by
/// the console). A guest that prints without end cannot make the host hold more than this.
pub const KEPT_BYTES: usize = 64 * 1024;

/// The guest's stdout as kept for a check: shared between the stream in the WASI context and the host state.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeptOutput {
    kept: Arc<Mutex<Vec<u8>>>,
}

impl KeptOutput {
    /// What the guest wrote since the last take, at most [`KEPT_BYTES`].
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn keep(&self, bytes: &[u8]) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let room = KEPT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
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

    fn write_bytes(&self, bytes: &[u8]) {
        if let Some(kept) = &self.kept {
            kept.keep(bytes);
        }
        if self.show {
            console::guest(self.stream, bytes);
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
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
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
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
