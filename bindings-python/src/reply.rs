//! Answers Python gives to the core: a [`PyReply`] for the questions of the host interface
//! (middlewares, connection and disconnecting handlers, dynamic-namespace matchers) and a
//! [`PyAck`] for a client's acknowledgement request.
//!
//! Both answer at most once. Dropping one unanswered gives the core's default answer (a
//! refusal for middlewares, "done" otherwise), so a lost Python object cannot hang a socket.

use crate::payload;
use parking_lot::Mutex;
use pyo3::prelude::*;
use roomcast::{AckSender, ConnectError, Reply, ServerSideAck};
use tokio::sync::oneshot;

pub enum ReplyKind {
    Authorize(Reply<Result<(), ConnectError>>),
    Done(Reply<()>),
    Match(Reply<bool>),
    /// The `allow_request` hook's verdict (the binding's own question, not the core's).
    Allow(oneshot::Sender<bool>),
}

/// A question from the core; answer it once with the method that fits its kind.
#[pyclass(frozen, name = "Reply", module = "roomcast._native")]
pub struct PyReply {
    inner: Mutex<Option<ReplyKind>>,
}

impl PyReply {
    pub fn new(kind: ReplyKind) -> PyReply {
        PyReply {
            inner: Mutex::new(Some(kind)),
        }
    }

    fn take(&self) -> Option<ReplyKind> {
        self.inner.lock().take()
    }
}

#[pymethods]
impl PyReply {
    /// The handlers have finished (connection, disconnecting); a middleware chain passed; a
    /// matcher accepted.
    fn done(&self) {
        match self.take() {
            Some(ReplyKind::Authorize(mut r)) => r.send(Ok(())),
            Some(ReplyKind::Done(mut r)) => r.send(()),
            Some(ReplyKind::Match(mut r)) => r.send(true),
            Some(ReplyKind::Allow(tx)) => {
                let _ = tx.send(true);
            }
            None => {}
        }
    }

    /// Refuses the connection (CONNECT_ERROR with `message` and `data`, a JSON text); for a
    /// matcher, declines the namespace.
    #[pyo3(signature = (message, data=None))]
    fn refuse(&self, message: String, data: Option<String>) {
        match self.take() {
            Some(ReplyKind::Authorize(mut r)) => {
                let mut err = ConnectError::new(message);
                err.data = data;
                r.send(Err(err));
            }
            Some(ReplyKind::Match(mut r)) => r.send(false),
            Some(ReplyKind::Allow(tx)) => {
                let _ = tx.send(false);
            }
            Some(ReplyKind::Done(mut r)) => r.send(()),
            None => {}
        }
    }

    /// Whether it has been answered.
    #[getter]
    fn answered(&self) -> bool {
        self.inner.lock().is_none()
    }
}

/// A client's acknowledgement request; `send` answers it once.
#[pyclass(frozen, name = "Ack", module = "roomcast._native")]
pub struct PyAck {
    inner: Mutex<Option<AckSender>>,
}

impl PyAck {
    pub fn new(sender: AckSender) -> PyAck {
        PyAck {
            inner: Mutex::new(Some(sender)),
        }
    }
}

#[pymethods]
impl PyAck {
    /// Sends the acknowledgement with encoded arguments; False when it was already sent.
    #[pyo3(signature = (json, binaries=None))]
    fn send(&self, json: &Bound<'_, PyAny>, binaries: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        let args = payload::from_py(json, binaries)?;
        let Some(sender) = self.inner.lock().take() else {
            return Ok(false);
        };
        sender.send(args);
        Ok(true)
    }

    #[getter]
    fn sent(&self) -> bool {
        self.inner.lock().is_none()
    }
}

/// Another server's `server_side_emit` waiting for this server's answer; `send` answers once
/// (only the first argument travels back, as in socket.io).
#[pyclass(frozen, name = "ServerSideAck", module = "roomcast._native")]
pub struct PyServerSideAck {
    inner: Mutex<Option<ServerSideAck>>,
}

impl PyServerSideAck {
    pub fn new(ack: ServerSideAck) -> PyServerSideAck {
        PyServerSideAck {
            inner: Mutex::new(Some(ack)),
        }
    }
}

#[pymethods]
impl PyServerSideAck {
    #[pyo3(signature = (json, binaries=None))]
    fn send(&self, json: &Bound<'_, PyAny>, binaries: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        let args = payload::from_py(json, binaries)?;
        let Some(ack) = self.inner.lock().take() else {
            return Ok(false);
        };
        ack.send(args);
        Ok(true)
    }
}
