//! Requests from a Node `http.Server` the Socket.IO server is attached to: JavaScript hands
//! over the request head, then streams the body; the core answers exactly as its own listener
//! would, and the response comes back through the mailbox (a long-polling GET may take until
//! there is something to send).

use crate::mailbox::Delivery;
use crate::runtime;
use crate::server::NativeServer;
use bytes::Bytes;
use futures_channel::mpsc;
use http_body_util::StreamBody;
use hyper::body::Frame;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use roomcast::transport::host_exchange::HostExchanges;
use std::net::{IpAddr, SocketAddr};

/// The attached `http.Server`'s requests still being answered.
pub type HttpExchanges = HostExchanges<Option<http::Response<Bytes>>>;

/// Feeds a request body to the core as JavaScript receives it.
pub type BodySender = mpsc::UnboundedSender<Result<Frame<Bytes>, std::io::Error>>;

/// A request head as Node parsed it.
#[napi(object)]
pub struct RequestHead {
    pub method: String,
    /// Path and query (`req.url`).
    pub url: String,
    /// Node's `rawHeaders`: `[name, value, name, value, ...]`.
    pub headers: Vec<String>,
    pub remote_address: Option<String>,
    pub remote_port: Option<u32>,
    /// Node's `req.socket.encrypted`: the request came over TLS.
    pub secure: Option<bool>,
}

impl RequestHead {
    pub fn parts(&self) -> napi::Result<http::request::Parts> {
        let mut parts = request_parts(&self.method, &self.url, &self.headers)?;
        if self.secure == Some(true) {
            parts.extensions.insert(roomcast::handshake::Encrypted);
        }
        Ok(parts)
    }

    /// The peer address as Node reports it (`::ffff:127.0.0.1` stays IPv6, as socket.io
    /// shows it).
    pub fn remote(&self) -> Option<SocketAddr> {
        let ip: IpAddr = self.remote_address.as_deref()?.parse().ok()?;
        Some(SocketAddr::new(
            ip,
            self.remote_port
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(0),
        ))
    }
}

fn request_parts(
    method: &str,
    url: &str,
    headers: &[String],
) -> napi::Result<http::request::Parts> {
    let mut builder = http::Request::builder().method(method).uri(url);
    for pair in headers.chunks_exact(2) {
        // A header http cannot represent is skipped rather than failing the whole request;
        // the core's checks then see the request as if it had not been sent.
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(pair[0].as_bytes()),
            http::HeaderValue::from_bytes(pair[1].as_bytes()),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder.body(()).map(|r| r.into_parts().0).map_err(|e| {
        napi::Error::from_reason(format!("roomcast: unusable request {method} {url}: {e}"))
    })
}

#[napi]
impl NativeServer {
    /// Answers a request of the attached `http.Server`; an `http` record with `token` follows
    /// (without `status` when the path is not Socket.IO's). The body follows through
    /// `httpBody` / `httpBodyEnd`. Throws when the request head is unusable (answer 400).
    #[napi]
    pub fn handle_http(&self, token: f64, head: RequestHead) -> napi::Result<()> {
        let rt = runtime::get()?;
        let parts = head.parts()?;
        let remote = head.remote();
        let token = token as u64;
        let (body_tx, body_rx) = mpsc::unbounded();
        self.shared.http_bodies.lock().insert(token, body_tx);
        let shared = self.shared.clone();
        // Held until answered or cancelled (the closure below owns it).
        let exchange = shared.in_flight.begin();
        let io = shared.io.clone();
        // Started here, on the JavaScript thread: a poll registers before the next request or
        // a cancel is handed over, so they meet it in the order Node saw them.
        let handler = async move {
            io.handle_http_streaming(parts, remote, StreamBody::new(body_rx))
                .await
        };
        self.shared
            .http
            .start(rt.handle(), token, handler, move |response| {
                let _exchange = exchange;
                shared.http_bodies.lock().remove(&token);
                shared.mailbox.push(Delivery::Http { token, response });
            });
        Ok(())
    }

    /// A chunk of the request body.
    #[napi]
    pub fn http_body(&self, token: f64, chunk: Buffer) {
        if let Some(tx) = self.shared.http_bodies.lock().get(&(token as u64)) {
            // Refused once the core stopped reading (e.g. answered 413): nothing to do.
            let _ = tx.unbounded_send(Ok(Frame::data(Bytes::copy_from_slice(&chunk))));
        }
    }

    /// The body is complete — or, with `aborted`, will never be (the client went away).
    #[napi]
    pub fn http_body_end(&self, token: f64, aborted: bool) {
        if let Some(tx) = self.shared.http_bodies.lock().remove(&(token as u64)) {
            if aborted {
                let _ = tx.unbounded_send(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "the client closed the request before its body was complete",
                )));
            }
        }
    }

    /// The client closed the connection before its answer was sent.
    #[napi]
    pub fn cancel_http(&self, token: f64) {
        self.shared.http_bodies.lock().remove(&(token as u64));
        self.shared.http.cancel(token as u64);
    }
}
