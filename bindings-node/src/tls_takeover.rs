//! An attached Node `https.Server`'s connections, taken over as Node accepts them (opt-in,
//! `terminateTls`): the core terminates TLS with the server's certificate and key, runs a
//! connection whose first request is a WebSocket upgrade of the Socket.IO path as its own
//! listener would, and hands every other connection back to JavaScript as plaintext on a
//! local socket (`tlsConnection` records), which Node's HTTP server then serves.

use crate::mailbox::Delivery;
use crate::runtime;
use crate::server::NativeServer;
use crate::server::Shared;
use futures_util::FutureExt;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use roomcast::engineio::transport::adopted::{AdoptedSocket, Duplicate};
use roomcast::engineio::transport::adopted_tls::{AdoptedTls, HandedBack};
use roomcast::engineio::transport::tls::TlsSettings;
use std::os::fd::IntoRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// A connection handed back to Node: its plaintext descriptor and what the TLS socket it
/// stands for would report.
#[napi(object)]
pub struct TlsConnection {
    /// One end of a local socket pair, now JavaScript's to own.
    pub fd: i32,
    pub remote_address: Option<String>,
    pub remote_port: Option<u32>,
    pub local_address: Option<String>,
    pub local_port: Option<u32>,
    /// "TLSv1.3" or "TLSv1.2".
    pub protocol: Option<String>,
    /// The cipher suite's IANA name.
    pub cipher: Option<String>,
    pub alpn_protocol: Option<String>,
    pub servername: Option<String>,
}

/// A handed-back connection waiting in the mailbox: its descriptor closes if JavaScript never
/// takes it.
pub struct PendingTlsConnection(HandedBack);

impl PendingTlsConnection {
    pub fn into_record(self) -> TlsConnection {
        let HandedBack {
            socket,
            remote,
            local,
            session,
        } = self.0;
        TlsConnection {
            fd: socket.into_raw_fd(),
            remote_address: remote.map(|a| a.ip().to_string()),
            remote_port: remote.map(|a| a.port() as u32),
            local_address: local.map(|a| a.ip().to_string()),
            local_port: local.map(|a| a.port() as u32),
            protocol: session.protocol,
            cipher: session.cipher,
            alpn_protocol: session.alpn,
            servername: session.server_name,
        }
    }
}

#[napi]
impl NativeServer {
    /// The certificate chain and key (PEM) to terminate TLS with, on connections taken over
    /// from an attached `https.Server` and on the own listener; `handshakeTimeoutMs` as the
    /// `https.Server` option of that name. Throws with rustls's reason when they cannot serve.
    #[napi]
    pub fn set_tls(
        &self,
        cert: Buffer,
        key: Buffer,
        handshake_timeout_ms: Option<f64>,
    ) -> napi::Result<()> {
        let mut tls = TlsSettings::from_pem(&cert, &key)
            .map_err(|e| napi::Error::from_reason(format!("roomcast: {e}")))?;
        if let Some(ms) = handshake_timeout_ms.filter(|ms| ms.is_finite() && *ms > 0.0) {
            tls = tls.with_handshake_timeout(Duration::from_millis(ms as u64));
        }
        *self.shared.tls.write() = Some(tls);
        Ok(())
    }

    /// Called for a connection the attached `https.Server` has just accepted, before Node's
    /// TLS layer read from it. True when the core now owns it: JavaScript must then close its
    /// handle without writing to it. False (nothing kept) without `setTls`, or when `fd` is not
    /// a socket the core can run.
    #[napi]
    pub fn take_over_tls_connection(&self, fd: i32) -> napi::Result<bool> {
        let Some(tls) = self.shared.tls.read().clone() else {
            return Ok(false);
        };
        let rt = runtime::get()?;
        let Ok(duplicate) = Duplicate::of(fd) else {
            return Ok(false);
        };
        // Only this small task is allocated on the JavaScript thread; the connection's state
        // (registration, handshake, WebSocket) is allocated on the runtime's thread, so the
        // short-lived handshake state does not fragment the JavaScript thread's heap (about
        // 4 KiB more per connection when it did).
        let shared = self.shared.clone();
        rt.spawn(async move {
            let socket = match duplicate.register() {
                Ok(socket) => socket,
                Err(e) => {
                    tracing::warn!("roomcast: could not register a taken-over connection: {e}");
                    return;
                }
            };
            tokio::spawn(route(shared, socket, tls));
        });
        Ok(true)
    }
}

/// Terminates TLS on a taken-over connection and runs or hands back what it carries.
async fn route(shared: Arc<Shared>, socket: AdoptedSocket, tls: TlsSettings) {
    let engine = shared.io.engine().clone();
    match engine.serve_adopted_tls(socket, tls).await {
        AdoptedTls::WebSocket(served) => {
            shared.taken_over.fetch_add(1, Ordering::Relaxed);
            shared.taken_over_at_accept.fetch_add(1, Ordering::Relaxed);
            // Counted as in flight so that closing waits (boundedly) for its close
            // handshake. A task of its own: this one's TLS and routing state is freed.
            let exchange = shared.in_flight.begin();
            tokio::spawn(served.map(move |()| drop(exchange)));
        }
        AdoptedTls::HandBack(back) => {
            shared.tls_handed_back.fetch_add(1, Ordering::Relaxed);
            shared
                .mailbox
                .push(Delivery::TlsConnection(PendingTlsConnection(back)));
        }
        AdoptedTls::Closed => {}
    }
}
