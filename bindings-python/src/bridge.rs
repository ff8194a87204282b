//! Host-driven HTTP and WebSocket: requests that an ASGI or WSGI server parsed, answered by
//! the core exactly as its own listener would.

use crate::errors::invalid;
use crate::host::{Host, LocalEvent};
use crate::payload::bytes_of;
use bytes::Bytes;
use futures_util::StreamExt;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use roomcast::{WebSocketFeeder, WsMessage};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Most messages handed to Python per WebSocket wake-up.
const WS_BATCH: usize = 256;

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
#[pyclass(frozen, name = "WebSocket", module = "roomcast._native")]
pub struct PyWebSocket {
    pub feeder: WebSocketFeeder,
    pub outbound: Arc<tokio::sync::Mutex<futures_channel::mpsc::Receiver<WsMessage>>>,
    pub host: Arc<Host>,
    pub runtime: tokio::runtime::Handle,
}

#[pymethods]
impl PyWebSocket {
    /// A text message from the client.
    fn push_text(&self, text: String) {
        self.feeder.push(WsMessage::Text(text));
    }

    /// A binary message from the client.
    fn push_bytes(&self, data: &[u8]) {
        self.feeder
            .push(WsMessage::Binary(Bytes::copy_from_slice(data)));
    }

    /// The client went away.
    fn client_closed(&self) {
        self.feeder.client_closed();
    }

    /// The next messages for the client, waiting up to `timeout` seconds on the calling
    /// thread without the GIL (an in-process test client): text as `str`, binary as
    /// `bytes`; an empty list if none came, `None` once the server closed the WebSocket.
    fn receive<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Option<Bound<'py, PyList>>> {
        let outbound = self.outbound.clone();
        let wait = std::time::Duration::from_secs_f64(timeout.max(0.0));
        let runtime = self.runtime.clone();
        let batch = py.detach(move || {
            runtime.block_on(async move {
                let mut rx = outbound.lock().await;
                match tokio::time::timeout(wait, rx.next()).await {
                    Err(_) => Some(Vec::new()),
                    Ok(None) => None,
                    Ok(Some(first)) => {
                        let mut batch = vec![first];
                        while batch.len() < WS_BATCH {
                            match rx.try_recv() {
                                Ok(m) => batch.push(m),
                                Err(_) => break,
                            }
                        }
                        Some(batch)
                    }
                }
            })
        });
        let Some(batch) = batch else {
            return Ok(None);
        };
        let out = PyList::empty(py);
        for message in batch {
            match message {
                WsMessage::Text(t) => out.append(t)?,
                WsMessage::Binary(b) => out.append(PyBytes::new(py, &b))?,
            }
        }
        Ok(Some(out))
    }

    /// Asks for the next messages to send; they arrive as a completion with `token` (`None`
    /// once the server has closed the WebSocket). Ask again only after sending them, so a
    /// slow client holds the core's writer back instead of piling messages up here.
    fn next_batch(&self, token: u64) {
        let outbound = self.outbound.clone();
        let host = self.host.clone();
        self.runtime.spawn(async move {
            let mut rx = outbound.lock().await;
            let messages = match rx.next().await {
                None => None,
                Some(first) => {
                    let mut batch = vec![first];
                    while batch.len() < WS_BATCH {
                        match rx.try_recv() {
                            Ok(m) => batch.push(m),
                            Err(_) => break,
                        }
                    }
                    Some(batch)
                }
            };
            host.push_local(LocalEvent::WebSocket { token, messages });
        });
    }
}
