//! The guest's stdout kept in memory, for hosts that check what the guest says ([`crate::GuestOutput::Keep`]):
//! pattern 5 reads it when the guest has no `read_plugin_shared_value` export. Optionally echoed to the host's own
//! stdout as it arrives, so keeping it changes nothing a user sees.

use bytes::Bytes;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The most bytes kept between two takes; later bytes are dropped (and still echoed). A guest that prints without
/// end cannot make the host hold more than this.
pub const KEPT_BYTES: usize = 64 * 1024;

/// A stdout stream for WASI that keeps what the guest writes and, with `echo`, passes it on to the host's stdout.
/// Cloned into the WASI context; the clone in the host state shares the buffer.
#[derive(Debug, Clone)]
pub(crate) struct KeptOutput {
    kept: Arc<Mutex<Vec<u8>>>,
    echo: bool,
}

impl KeptOutput {
    pub(crate) fn new(echo: bool) -> Self {
        KeptOutput { kept: Arc::default(), echo }
    }

    /// What the guest wrote since the last take, at most [`KEPT_BYTES`].
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn keep(&self, bytes: &[u8]) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let room = KEPT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        drop(kept);
        if self.echo {
            // What a guest prints is not the host's business to judge: a closed stdout loses the echo, not the
            // guest's write.
            let _ = std::io::stdout().write_all(bytes);
        }
    }
}

impl IsTerminal for KeptOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for KeptOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for KeptOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.keep(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        if self.echo {
            let _ = std::io::stdout().flush();
        }
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(KEPT_BYTES)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for KeptOutput {
    /// Always ready: writes complete at once.
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for KeptOutput {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.keep(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
