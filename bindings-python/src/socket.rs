//! `roomcast._native.Socket`: a handle on one core socket, safe to use from any thread.

use crate::errors::{emit_error, invalid};
use crate::host::Host;
use crate::operator::PyOperator;
use crate::payload;
use pyo3::prelude::*;
use roomcast::socket::SendFlags;
use roomcast::{EmitError, SocketRef};
use std::sync::Arc;
use std::time::Duration;

#[pyclass(frozen, name = "Socket", module = "roomcast._native")]
pub struct PySocket {
    pub socket: SocketRef,
    pub host: Arc<Host>,
}

pub fn duration(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        invalid(format!(
            "a timeout must be a finite number of seconds >= 0, not {seconds}"
        ))
    })
}

// Single-socket calls keep the GIL: they take one short per-socket lock that no thread
// holding it ever waits on Python for, and releasing the GIL per emit would cost more than
// the lock (and hand the GIL to another thread mid-burst).
#[pymethods]
impl PySocket {
    #[getter]
    fn id(&self) -> &str {
        self.socket.id().as_str()
    }

    /// The namespace name.
    #[getter]
    fn ns(&self) -> &str {
        self.socket.ns()
    }

    /// The id of the underlying Engine.IO connection.
    #[getter]
    fn engine_id(&self) -> &str {
        self.socket.engine_sid().as_str()
    }

    /// The `key` of the socket's namespace (see `Namespace.key`).
    #[getter]
    fn namespace_key(&self) -> usize {
        Arc::as_ptr(self.socket.namespace()) as usize
    }

    #[getter]
    fn transport(&self) -> &'static str {
        self.socket.transport()
    }

    #[getter]
    fn connected(&self) -> bool {
        self.socket.connected()
    }

    /// Enters the namespace and sends CONNECT; called right before the connection handlers.
    fn announce(&self) {
        self.socket.announce();
    }

    /// Whether this socket resumed a disconnected session (connection state recovery).
    #[getter]
    fn recovered(&self) -> bool {
        self.socket.recovered()
    }

    /// The handshake as JSON text.
    fn handshake(&self) -> String {
        self.socket.handshake().to_string()
    }

    /// `socket.data` as JSON text.
    fn data(&self) -> String {
        self.socket.data()
    }

    fn set_data(&self, json: String) {
        self.socket.set_data(json);
    }

    // Joining and leaving write the namespace's room index, which a fan-out on another
    // thread may be reading: wait for it without the GIL.
    fn join(&self, py: Python<'_>, rooms: Vec<String>) {
        let socket = self.socket.clone();
        py.detach(move || socket.join(rooms));
    }

    fn leave(&self, py: Python<'_>, rooms: Vec<String>) {
        let socket = self.socket.clone();
        py.detach(move || {
            for r in rooms {
                socket.leave(&r);
            }
        });
    }

    fn rooms(&self) -> Vec<String> {
        self.socket.rooms().iter().map(|r| r.to_string()).collect()
    }

    /// Queues an event; False when the socket is disconnected.
    #[pyo3(signature = (event, json, binaries=None, volatile=false, compress=true))]
    fn emit(
        &self,
        py: Python<'_>,
        event: &str,
        json: &Bound<'_, PyAny>,
        binaries: Option<&Bound<'_, PyAny>>,
        volatile: bool,
        compress: bool,
    ) -> PyResult<bool> {
        let args = payload::from_py(json, binaries)?;
        let flags = SendFlags { volatile, compress };
        let result = self.socket.emit_with(event, args, flags);
        match result {
            Ok(()) => Ok(true),
            Err(EmitError::Disconnected) => Ok(false),
            Err(e) => Err(emit_error(py, e)),
        }
    }

    /// Emits with an acknowledgement; the answer arrives as a completion with `token`.
    #[pyo3(signature = (event, json, binaries, timeout, token))]
    fn emit_with_ack(
        &self,
        py: Python<'_>,
        event: &str,
        json: &Bound<'_, PyAny>,
        binaries: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
        token: u64,
    ) -> PyResult<bool> {
        let args = payload::from_py(json, binaries)?;
        let timeout = timeout.map(duration).transpose()?;
        match self.host.events.emit_with_ack(
            &self.socket,
            event,
            args,
            timeout,
            SendFlags::DEFAULT,
            token,
        ) {
            Ok(()) => Ok(true),
            Err(EmitError::Disconnected) => Ok(false),
            Err(e) => Err(emit_error(py, e)),
        }
    }

    /// An operator over the namespace that skips this socket (`socket.broadcast`).
    fn broadcast(&self) -> PyOperator {
        PyOperator::new(self.socket.broadcast(), self.host.clone())
    }

    /// Leaves the namespace; with `close` the whole connection closes.
    fn disconnect(&self, py: Python<'_>, close: bool) {
        let socket = self.socket.clone();
        // Closing a connection leaves every namespace of it: several locks, so without the GIL.
        py.detach(move || socket.disconnect(close));
    }

    /// Whether the core reports this socket's outgoing events (`on_any_outgoing`).
    fn set_notify_outgoing(&self, on: bool) {
        self.socket.set_notify_outgoing(on);
    }
}
