//! Host-driven HTTP and WebSocket: requests that an ASGI or WSGI server parsed, answered by
//! the core exactly as its own listener would.

use crate::errors::invalid;
use crate::host::{Host, LocalEvent};
use crate::payload::bytes_of;
use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use roomcast::{WebSocketChannel, WsMessage};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Builds the request head from what the host parsed: the method, the request target
/// (path and query string) and the headers as (name, value) pairs of `bytes` or `str`.
pub fn request_parts(
    method: &str,
    target: &str,
    headers: &Bound<'_, PyAny>,
) -> PyResult<http::request::Parts> {
    let mut builder = http::Request::builder().method(method).uri(target);
    for pair in headers.try_iter()? {
        let pair = pair?;
        let name = pair.get_item(0)?;
        let value = pair.get_item(1)?;
        let name = http::HeaderName::from_bytes(bytes_of(&name, "a header name")?)
            .map_err(|e| invalid(format!("bad header name: {e}")))?;
        let value = http::HeaderValue::from_bytes(bytes_of(&value, "a header value")?)
            .map_err(|e| invalid(format!("bad header value: {e}")))?;
        builder = builder.header(name, value);
    }
    let request = builder
        .body(())
        .map_err(|e| invalid(format!("bad request head: {e}")))?;
    Ok(request.into_parts().0)
}

/// `parts`, marked as having come over TLS when the host says so (ASGI's `https` / `wss`
/// scheme, WSGI's `wsgi.url_scheme`), for `socket.handshake["secure"]`.
pub fn secured(mut parts: http::request::Parts, secure: bool) -> http::request::Parts {
    if secure {
        parts.extensions.insert(roomcast::handshake::Encrypted);
    }
    parts
}

/// The peer as ASGI's `client` / WSGI's `REMOTE_ADDR` give it; unparseable means unknown.
pub fn remote(client: Option<(String, u16)>) -> Option<SocketAddr> {
    let (host, port) = client?;
    host.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port))
}

/// The response as `(status, [(name, value)], body)`.
pub fn response_to_py<'py>(
    py: Python<'py>,
    resp: &http::Response<Bytes>,
) -> PyResult<(u16, Bound<'py, PyList>, Bound<'py, PyBytes>)> {
    let headers = PyList::empty(py);
    for (k, v) in resp.headers() {
        headers.append((
            PyBytes::new(py, k.as_str().as_bytes()),
            PyBytes::new(py, v.as_bytes()),
        ))?;
    }
    Ok((
        resp.status().as_u16(),
        headers,
        PyBytes::new(py, resp.body()),
    ))
}

/// A WebSocket whose framing the host's server does (ASGI `websocket` scopes).
///
/// Once its session runs, the calls do the session's work on the calling thread: a pushed
/// message is decoded and its events queued for the dispatcher before `push_text` returns,
/// and `take` empties the session's queue. An ASGI connection that runs the handlers right
/// after a push (`feed`) answers without any other thread.
#[pyclass(frozen, name = "WebSocket", module = "roomcast._native")]
pub struct PyWebSocket {
    pub channel: WebSocketChannel,
    pub host: Arc<Host>,
    pub runtime: tokio::runtime::Handle,
}

impl PyWebSocket {
    fn push(&self, message: WsMessage) {
        // Decoding may start timers or tasks of the session: they belong to the runtime.
        let _entered = self.runtime.enter();
        self.channel.push(message);
    }
}

/// The wake-ups `feed` holds, released however it returns.
struct Held<'a> {
    ws: &'a PyWebSocket,
    host: bool,
}

impl<'a> Held<'a> {
    fn new(ws: &'a PyWebSocket, host: bool) -> Held<'a> {
        roomcast::engineio::wake_batch::open_batch(&ws.runtime);
        if host {
            ws.host.hold_wakes();
        }
        Held { ws, host }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        roomcast::engineio::wake_batch::close_batch();
        if self.host {
            self.ws.host.release_wakes();
        }
    }
}

fn to_py_list<'py>(py: Python<'py>, messages: Vec<WsMessage>) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for message in messages {
        match message {
            WsMessage::Text(t) => out.append(t)?,
            WsMessage::Binary(b) => out.append(PyBytes::new(py, &b))?,
        }
    }
    Ok(out)
}

#[pymethods]
impl PyWebSocket {
    /// A text message from the client.
    fn push_text(&self, text: String) {
        self.push(WsMessage::Text(text));
    }

    /// A binary message from the client.
    fn push_bytes(&self, data: &[u8]) {
        self.push(WsMessage::Binary(Bytes::copy_from_slice(data)));
    }

    /// The client went away.
    fn client_closed(&self) {
        let _entered = self.runtime.enter();
        self.channel.client_closed();
    }

    /// What there is to send now (text as `str`, binary as `bytes`), without waiting; `None`
    /// once the server has closed the WebSocket and everything was taken.
    fn take<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        let mut messages = Vec::new();
        if !self.channel.take(&mut messages) {
            return Ok(None);
        }
        to_py_list(py, messages).map(Some)
    }

    /// A message from the client (`str`: text, `bytes`: binary) handled at once: pushed,
    /// then `drain` (the dispatcher's, when this is its thread) runs the handlers, then what
    /// there is to send is returned, as `take` does. Meanwhile the wake-ups of the core's
    /// writers (skipped for frames taken here) and, with `drain`, of the dispatcher wait, so
    /// an answer made by the handlers costs no other thread a wake-up.
    #[pyo3(signature = (message, drain=None))]
    fn feed<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        drain: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let message = match message.cast::<PyString>() {
            Ok(text) => WsMessage::Text(text.to_str()?.to_owned()),
            Err(_) => WsMessage::Binary(Bytes::copy_from_slice(bytes_of(
                message,
                "a WebSocket message",
            )?)),
        };
        let held = Held::new(self, drain.is_some());
        self.push(message);
        if let Some(drain) = drain {
            drain.call0()?;
        }
        let mut messages = Vec::new();
        let open = self.channel.take(&mut messages);
        drop(held);
        if !open {
            return Ok(None);
        }
        to_py_list(py, messages).map(Some)
    }

    /// Completes `token` once `take` has something to give (or says the end).
    fn wait(&self, token: u64) {
        let channel = self.channel.clone();
        let host = self.host.clone();
        self.runtime.spawn(async move {
            channel.ready().await;
            host.push_local(LocalEvent::Done { token });
        });
    }

    /// The next messages for the client, waiting up to `timeout` seconds on the calling
    /// thread without the GIL (an in-process test client): text as `str`, binary as
    /// `bytes`; an empty list if none came, `None` once the server closed the WebSocket.
    fn receive<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Option<Bound<'py, PyList>>> {
        let wait = std::time::Duration::from_secs_f64(timeout.max(0.0));
        let channel = self.channel.clone();
        let runtime = self.runtime.clone();
        let taken = py.detach(move || {
            let mut messages = Vec::new();
            if !channel.take(&mut messages) {
                return None;
            }
            if messages.is_empty() {
                runtime.block_on(async {
                    let _ = tokio::time::timeout(wait, channel.ready()).await;
                });
                if !channel.take(&mut messages) {
                    return None;
                }
            }
            Some(messages)
        });
        match taken {
            None => Ok(None),
            Some(messages) => to_py_list(py, messages).map(Some),
        }
    }
}
