//! WebSocket upgrades of an attached Node `http.Server`, taken over: JavaScript hands the
//! socket's file descriptor (and the bytes Node read past the request head); the core keeps
//! a duplicate of it and runs the connection on tokio exactly as the native listener does, so
//! frames never cross into JavaScript. JavaScript then closes its own descriptor — the
//! duplicate keeps the connection open.
//!
//! Only plain TCP and Unix stream sockets qualify (`roomcast::engineio::AdoptedSocket`): a TLS
//! connection's bytes are encrypted by Node's TLS layer, whose state cannot move elsewhere
//! (`tls_takeover.rs` takes an `https.Server`'s connections before their handshake instead).

use crate::http::RequestHead;
use crate::runtime;
use crate::server::NativeServer;
use futures_util::FutureExt;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use roomcast::engineio::AdoptedSocket;
use std::sync::atomic::Ordering;

#[napi]
impl NativeServer {
    /// Takes over the upgrade request of the attached `http.Server` on descriptor `fd`: the
    /// core duplicates it, writes the 101 (or the refusal) and runs the WebSocket. JavaScript
    /// must then close its socket without writing to it or shutting it down. Throws (and
    /// keeps nothing) when the descriptor is not a stream socket the core can run; JavaScript
    /// then pipes the socket's bytes instead (`openWebSocket`).
    #[napi]
    pub fn take_over_web_socket(
        &self,
        fd: i32,
        request: RequestHead,
        head: Option<Buffer>,
    ) -> napi::Result<()> {
        let rt = runtime::get()?;
        let parts = request.parts()?;
        let remote = request.remote();
        let stream = {
            // Registering with tokio's reactor needs the runtime's context.
            let _entered = rt.enter();
            AdoptedSocket::duplicate(fd).map_err(|e| {
                napi::Error::from_reason(format!(
                    "roomcast: cannot take over the WebSocket's descriptor {fd}: {e}"
                ))
            })?
        };
        let head = head.map(|h| bytes::Bytes::copy_from_slice(&h));
        self.run_taken_over(rt, stream, parts, remote, head);
        Ok(())
    }
}

impl NativeServer {
    /// Runs a taken-over WebSocket upgrade on the runtime, as the native listener would.
    pub(crate) fn run_taken_over(
        &self,
        rt: &tokio::runtime::Runtime,
        socket: AdoptedSocket,
        parts: http::request::Parts,
        remote: Option<std::net::SocketAddr>,
        head: Option<bytes::Bytes>,
    ) {
        let shared = self.shared.clone();
        shared.taken_over.fetch_add(1, Ordering::Relaxed);
        // Counted as in flight so that closing waits (boundedly) for its close handshake.
        let exchange = shared.in_flight.begin();
        let served = shared
            .io
            .serve_adopted_websocket(socket, parts, remote, head);
        // `map`, not an `async` block: the task holds the WebSocket's future once.
        rt.spawn(served.map(move |()| drop(exchange)));
    }
}
