//! The native listener's plain HTTP for a WSGI app: worker threads take requests from the
//! core's bounded [`RequestQueue`] and answer through [`PyExchange`]. Every wait (for a
//! request, a body chunk, a slow client) happens without the GIL, on the worker thread —
//! never on a runtime thread.

use crate::errors::invalid;
use bytes::Bytes;
use parking_lot::Mutex;
use pyo3::exceptions::{PyConnectionError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use roomcast::transport::host_http::{
    BodySender, HostRequest, QueueWait, Queued, RequestBody, RequestQueue, Responder, Slot,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

/// The queue the worker threads of one server share.
#[pyclass(frozen, name = "HttpQueue", module = "roomcast._native")]
pub struct PyHttpQueue {
    pub(crate) queue: Arc<RequestQueue>,
    pub(crate) runtime: Handle,
}

#[pymethods]
impl PyHttpQueue {
    /// The next request, waiting up to `timeout` seconds; `None` if none came, `False` once
    /// the queue is closed and empty (the worker may stop).
    fn next<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        let queue = self.queue.clone();
        let wait = Duration::from_secs_f64(timeout.max(0.0));
        match py.detach(move || queue.next_timeout(wait)) {
            Ok(queued) => {
                let exchange = PyExchange::new(queued, self.runtime.clone());
                Ok(Bound::new(py, exchange)?.into_any())
            }
            Err(QueueWait::Empty) => Ok(py.None().into_bound(py)),
            Err(QueueWait::Closed) => Ok(false.into_pyobject(py)?.to_owned().into_any()),
        }
    }

    /// Takes no more requests (the server is closing).
    fn close(&self) {
        self.queue.close();
    }
}

enum Reply {
    NotStarted(Responder),
    Streaming(BodySender),
    Done,
}

/// One request and its response, used by one worker thread at a time.
#[pyclass(frozen, name = "HttpExchange", module = "roomcast._native")]
pub struct PyExchange {
    head: Mutex<Option<Head>>,
    body: Arc<tokio::sync::Mutex<RequestBody>>,
    reply: Arc<Mutex<Reply>>,
    /// The request's place in the queue's bound, given back by `finish`.
    slot: Mutex<Option<Slot>>,
    runtime: Handle,
}

struct Head {
    method: String,
    path: Vec<u8>,
    query: Vec<u8>,
    version: &'static str,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    remote: Option<(String, u16)>,
    local: Option<(String, u16)>,
}

impl PyExchange {
    fn new(queued: Queued, runtime: Handle) -> PyExchange {
        let Queued {
            request,
            responder,
            slot,
        } = queued;
        let HostRequest {
            method,
            uri,
            version,
            headers,
            remote,
            local,
            body,
        } = request;
        let version = match version {
            http::Version::HTTP_10 => "HTTP/1.0",
            _ => "HTTP/1.1",
        };
        let head = Head {
            method: method.as_str().to_string(),
            path: uri.path().as_bytes().to_vec(),
            query: uri.query().unwrap_or("").as_bytes().to_vec(),
            version,
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            remote: remote.map(|a| (a.ip().to_string(), a.port())),
            local: local.map(|a| (a.ip().to_string(), a.port())),
        };
        PyExchange {
            head: Mutex::new(Some(head)),
            body: Arc::new(tokio::sync::Mutex::new(body)),
            reply: Arc::new(Mutex::new(Reply::NotStarted(responder))),
            slot: Mutex::new(Some(slot)),
            runtime,
        }
    }
}

type HeadTuple<'py> = (
    String,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    &'static str,
    Bound<'py, PyList>,
    Option<(String, u16)>,
    Option<(String, u16)>,
);

#[pymethods]
impl PyExchange {
    /// `(method, path, query, protocol, [(name, value)], remote, local)`; once.
    fn take_head<'py>(&self, py: Python<'py>) -> PyResult<HeadTuple<'py>> {
        let head = self
            .head
            .lock()
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the request head was already taken"))?;
        let headers = PyList::empty(py);
        for (k, v) in &head.headers {
            headers.append((PyBytes::new(py, k), PyBytes::new(py, v)))?;
        }
        Ok((
            head.method,
            PyBytes::new(py, &head.path),
            PyBytes::new(py, &head.query),
            head.version,
            headers,
            head.remote,
            head.local,
        ))
    }

    /// The next chunk of the request body (`b""` at its end).
    fn read_chunk<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let body = self.body.clone();
        let runtime = self.runtime.clone();
        let chunk = py.detach(move || runtime.block_on(async { body.lock().await.chunk().await }));
        match chunk {
            Ok(Some(data)) => Ok(PyBytes::new(py, &data)),
            Ok(None) => Ok(PyBytes::new(py, b"")),
            Err(e) => Err(PyConnectionError::new_err(e.to_string())),
        }
    }

    /// Sends the status line and headers.
    fn start(&self, status: u16, headers: Vec<(String, String)>) -> PyResult<()> {
        let mut reply = self.reply.lock();
        let Reply::NotStarted(_) = &*reply else {
            return Err(PyRuntimeError::new_err("the response was already started"));
        };
        if !(100..=999).contains(&status) {
            return Err(invalid(format!("bad HTTP status {status}")));
        }
        let Reply::NotStarted(responder) = std::mem::replace(&mut *reply, Reply::Done) else {
            return Ok(());
        };
        match responder.start(status, headers) {
            Ok(sender) => {
                *reply = Reply::Streaming(sender);
                Ok(())
            }
            Err(e) => Err(PyConnectionError::new_err(e.to_string())),
        }
    }

    /// Sends a body chunk, waiting (without the GIL) while the client is behind.
    fn write(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::copy_from_slice(data);
        let reply = self.reply.clone();
        let sent = py.detach(move || match &*reply.lock() {
            Reply::Streaming(sender) => Some(sender.blocking_send(chunk)),
            _ => None,
        });
        match sent {
            None => Err(PyRuntimeError::new_err(
                "write() before start() or after finish()",
            )),
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(PyConnectionError::new_err(e.to_string())),
        }
    }

    /// Ends the response; `broken=True` closes the connection instead (the app failed after
    /// the headers went out). An unstarted response becomes a 500.
    #[pyo3(signature = (broken=false))]
    fn finish(&self, broken: bool) {
        // Before the body ends: a client that saw its response complete finds a place.
        self.slot.lock().take();
        match std::mem::replace(&mut *self.reply.lock(), Reply::Done) {
            Reply::NotStarted(responder) => responder.respond(
                500,
                vec![(
                    "content-type".to_string(),
                    "text/plain; charset=utf-8".to_string(),
                )],
                Bytes::from_static(b"Internal Server Error\n"),
            ),
            Reply::Streaming(sender) if broken => sender.abort(),
            Reply::Streaming(_) | Reply::Done => {}
        }
    }
}
