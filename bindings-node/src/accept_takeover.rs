//! WebSocket connections of an attached Node `http.Server`, taken over as soon as Node accepts
//! them: before Node parses anything, the core peeks at the bytes already queued on the new
//! socket. When they hold a whole request head that is a WebSocket upgrade of the Socket.IO
//! path, the core takes the head off the socket and runs the connection as `takeover.rs` does
//! after an `upgrade` event, skipping Node's HTTP parser, `IncomingMessage` and `upgrade`
//! event. Anything else (a partial head, another path, long-polling, a request Node should
//! judge) is left untouched for Node's HTTP server.

use crate::runtime;
use crate::server::NativeServer;
use napi_derive::napi;
use roomcast::engineio::transport::adopted::{self, AdoptedSocket};
use roomcast::engineio::transport::request_head::FirstRequest;

/// Longer request heads stay with Node.
const PEEK_BYTES: usize = 8192;

#[napi]
impl NativeServer {
    /// Called for a connection Node's `http.Server` has just accepted, before Node read from
    /// it. True when the core now owns it: JavaScript must then close its socket without
    /// writing to it or shutting it down. False (nothing consumed, nothing kept) when the
    /// connection is not, or not yet visibly, a WebSocket upgrade of the Socket.IO path.
    #[napi]
    pub fn take_over_connection(&self, fd: i32) -> napi::Result<bool> {
        let mut buf = [0u8; PEEK_BYTES];
        let n = match adopted::peek(fd, &mut buf) {
            Ok(n) if n > 0 => n,
            _ => return Ok(false),
        };
        let FirstRequest::Upgrade { parts, head_len } =
            self.shared.io.engine().first_request(&buf[..n])
        else {
            return Ok(false);
        };
        let rt = runtime::get()?;
        let stream = {
            // Registering with tokio's reactor needs the runtime's context.
            let _entered = rt.enter();
            match AdoptedSocket::duplicate(fd) {
                Ok(stream) => stream,
                Err(_) => return Ok(false),
            }
        };
        // The head was peeked whole, so taking it off cannot come up short; if the socket
        // fails in between, the connection is lost either way and ends here.
        if let Err(e) = stream.discard(head_len) {
            tracing::warn!(
                "roomcast: a taken-over connection failed while reading its request head: {e}"
            );
            return Ok(true);
        }
        let remote = stream.peer_addr();
        self.shared
            .taken_over_at_accept
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.run_taken_over(rt, stream, parts, remote, None);
        Ok(true)
    }

    /// Has the kernel hand the attached server's listening socket `fd` a connection only once
    /// its first bytes arrived (`TCP_DEFER_ACCEPT` on Linux): a WebSocket upgrade's request is
    /// then there when [`NativeServer::take_over_connection`] peeks, so clients connecting
    /// together all take the same path, in the order they sent their requests. False when the
    /// option could not be set.
    #[napi]
    pub fn defer_accept(&self, fd: i32) -> bool {
        #[cfg(unix)]
        {
            roomcast::engineio::defer_accept_until_data(fd).is_ok()
        }
        #[cfg(not(unix))]
        {
            let _ = fd;
            false
        }
    }
}
