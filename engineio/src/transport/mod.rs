//! Transport drivers: the native listener (hyper for HTTP long-polling; for WebSocket our
//! message layer over tungstenite's frame codec). Drivers only move bytes between sockets and
//! [`crate::EngineSession`]s.

/// Implements `AsyncWrite` for a stream wrapper `$ty<S>` by passing every call to its field
/// `inner`: the wrappers that use it change only how the stream is read.
macro_rules! write_through {
    ($ty:ident) => {
        impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for $ty<S> {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
            }
        }
    };
}

pub mod adopted;
#[cfg(unix)]
pub mod adopted_tls;
pub(crate) mod arrived;
pub mod client_files;
pub mod cors;
pub mod external;
pub mod host_exchange;
pub mod host_http;
pub(crate) mod http;
pub mod input_waiting;
pub(crate) mod limits;
pub mod permessage_deflate;
#[cfg(unix)]
pub mod read_ordered;
pub mod request_head;
pub mod server_websocket;
pub mod tls;
pub(crate) mod watched_io;
pub(crate) mod websocket;
