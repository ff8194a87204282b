//! `roomcast._native.Operator`: a broadcast target (rooms, exceptions, flags). Fan-out runs
//! in the core without the GIL.

use crate::errors::emit_error;
use crate::host::Host;
use crate::payload;
use crate::socket::duration;
use pyo3::prelude::*;
use roomcast::BroadcastOperator;
use std::sync::Arc;

#[pyclass(frozen, name = "Operator", module = "roomcast._native")]
pub struct PyOperator {
    op: BroadcastOperator,
    host: Arc<Host>,
}

impl PyOperator {
    pub fn new(op: BroadcastOperator, host: Arc<Host>) -> PyOperator {
        PyOperator { op, host }
    }

    fn with(&self, f: impl FnOnce(BroadcastOperator) -> BroadcastOperator) -> PyOperator {
        PyOperator {
            op: f(self.op.clone()),
            host: self.host.clone(),
        }
    }
}

#[pymethods]
impl PyOperator {
    fn to(&self, rooms: Vec<String>) -> PyOperator {
        self.with(|op| op.to(rooms))
    }

    fn except_(&self, rooms: Vec<String>) -> PyOperator {
        self.with(|op| op.except(rooms))
    }

    fn local(&self) -> PyOperator {
        self.with(|op| op.local())
    }

    fn volatile(&self) -> PyOperator {
        self.with(|op| op.volatile())
    }

    fn compress(&self, on: bool) -> PyOperator {
        self.with(|op| op.compress(on))
    }

    fn timeout(&self, seconds: f64) -> PyResult<PyOperator> {
        let t = duration(seconds)?;
        Ok(self.with(|op| op.timeout(t)))
    }

    /// The namespace name.
    #[getter]
    fn ns(&self) -> &str {
        self.op.namespace().name()
    }

    #[getter]
    fn rooms(&self) -> Vec<String> {
        self.op
            .options()
            .rooms
            .iter()
            .map(|r| r.to_string())
            .collect()
    }

    #[getter]
    fn except_rooms(&self) -> Vec<String> {
        self.op
            .options()
            .except
            .iter()
            .map(|r| r.to_string())
            .collect()
    }

    #[getter]
    fn timeout_seconds(&self) -> Option<f64> {
        self.op.options().flags.timeout.map(|t| t.as_secs_f64())
    }

    #[pyo3(signature = (event, json, binaries=None))]
    fn emit(
        &self,
        py: Python<'_>,
        event: &str,
        json: &Bound<'_, PyAny>,
        binaries: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let args = payload::from_py(json, binaries)?;
        let op = self.op.clone();
        let event = event.to_owned();
        py.detach(move || op.emit(&event, args))
            .map_err(|e| emit_error(py, e))
    }

    /// Emits and collects every recipient's acknowledgement; the list arrives as a completion.
    #[pyo3(signature = (event, json, binaries, token))]
    fn emit_with_ack(
        &self,
        py: Python<'_>,
        event: &str,
        json: &Bound<'_, PyAny>,
        binaries: Option<&Bound<'_, PyAny>>,
        token: u64,
    ) -> PyResult<()> {
        let args = payload::from_py(json, binaries)?;
        let (op, queue, event) = (self.op.clone(), self.host.events.clone(), event.to_owned());
        py.detach(move || queue.broadcast_with_ack(&op, &event, args, token))
            .map_err(|e| emit_error(py, e))
    }

    /// Starts `fetch_sockets`; the list arrives as a completion with `token`.
    fn fetch_sockets(&self, token: u64) {
        self.host.events.fetch_sockets(&self.op, token);
    }

    fn sockets_join(&self, py: Python<'_>, rooms: Vec<String>) {
        let op = self.op.clone();
        py.detach(move || op.sockets_join(rooms));
    }

    fn sockets_leave(&self, py: Python<'_>, rooms: Vec<String>) {
        let op = self.op.clone();
        py.detach(move || op.sockets_leave(rooms));
    }

    fn disconnect_sockets(&self, py: Python<'_>, close: bool) {
        let op = self.op.clone();
        py.detach(move || op.disconnect_sockets(close));
    }
}
