//! `roomcast._native.Namespace` and `DynamicNamespace`: the core's namespaces, each forwarding
//! its sockets' lifecycle to Python through a [`QueueHandler`].

use crate::errors::emit_error;
use crate::host::{Host, LocalEvent};
use crate::operator::PyOperator;
use crate::payload;
use crate::socket::PySocket;
use pyo3::prelude::*;
use roomcast::{Namespace, ParentNamespace, QueueHandler};
use std::sync::Arc;

#[pyclass(frozen, name = "Namespace", module = "roomcast._native")]
pub struct PyNamespace {
    pub nsp: Arc<Namespace>,
    /// The handler this namespace forwards to; `None` for a dynamic child, which uses its
    /// parent's.
    pub handler: Option<Arc<QueueHandler>>,
    pub host: Arc<Host>,
}

#[pymethods]
impl PyNamespace {
    #[getter]
    fn name(&self) -> &str {
        self.nsp.name()
    }

    /// Identifies the core namespace: a dynamic child removed when empty and created again
    /// has a new key.
    #[getter]
    fn key(&self) -> usize {
        Arc::as_ptr(&self.nsp) as usize
    }

    /// The id events of this namespace carry (`None` for a dynamic child).
    #[getter]
    fn handler_id(&self) -> Option<u64> {
        self.handler.as_ref().map(|h| h.id)
    }

    /// The name of the dynamic namespace this one was created from, if any.
    #[getter]
    fn is_child(&self) -> bool {
        self.nsp.parent().is_some()
    }

    /// The `key` of the dynamic namespace this one was created from, if any.
    #[getter]
    fn parent_key(&self) -> Option<usize> {
        self.nsp.parent().map(|p| Arc::as_ptr(p) as usize)
    }

    /// Turns the middleware round trip on (it is skipped while there are no middlewares).
    fn set_has_middlewares(&self, yes: bool) {
        if let Some(h) = &self.handler {
            h.set_has_middlewares(yes);
        }
    }

    fn operator(&self) -> PyOperator {
        PyOperator::new(self.nsp.broadcast(), self.host.clone())
    }

    fn socket_count(&self) -> usize {
        self.nsp.socket_count()
    }

    /// The rooms of this node's adapter that have members, socket-id rooms included.
    fn rooms(&self) -> Vec<String> {
        self.nsp
            .adapter()
            .index()
            .rooms()
            .iter()
            .map(|r| r.to_string())
            .collect()
    }

    fn get_socket(&self, sid: &str) -> Option<PySocket> {
        self.nsp.get_socket(sid).map(|socket| PySocket {
            socket,
            host: self.host.clone(),
        })
    }

    /// Sends an event to the other servers of the cluster (`serverSideEmit`).
    #[pyo3(signature = (event, json, binaries=None))]
    fn server_side_emit(
        &self,
        py: Python<'_>,
        event: &str,
        json: &Bound<'_, PyAny>,
        binaries: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let args = payload::from_py(json, binaries)?;
        let (nsp, event) = (self.nsp.clone(), event.to_owned());
        py.detach(move || nsp.server_side_emit(&event, args))
            .map_err(|e| emit_error(py, e))
    }

    /// Like `server_side_emit`, collecting one answer per other server (a completion).
    #[pyo3(signature = (event, json, binaries, token))]
    fn server_side_emit_with_ack(
        &self,
        py: Python<'_>,
        event: &str,
        json: &Bound<'_, PyAny>,
        binaries: Option<&Bound<'_, PyAny>>,
        token: u64,
    ) -> PyResult<()> {
        let args = payload::from_py(json, binaries)?;
        self.host
            .events
            .server_side_emit_with_ack(&self.nsp, event, args, token)
            .map_err(|e| emit_error(py, e))
    }

    /// Every room of the namespace on every node; the list arrives as a completion.
    fn all_rooms(&self, token: u64) {
        let fut = self.nsp.adapter().all_rooms();
        let host = self.host.clone();
        self.nsp.runtime().spawn(async move {
            let rooms = fut
                .await
                .map(|rooms| rooms.iter().map(|r| r.to_string()).collect())
                .map_err(|e| e.to_string());
            host.push_local(LocalEvent::Rooms { token, rooms });
        });
    }
}

#[pyclass(frozen, name = "DynamicNamespace", module = "roomcast._native")]
pub struct PyParent {
    pub parent: Arc<ParentNamespace>,
    pub handler: Arc<QueueHandler>,
    pub matcher_id: u64,
    pub host: Arc<Host>,
}

#[pymethods]
impl PyParent {
    #[getter]
    fn handler_id(&self) -> u64 {
        self.handler.id
    }

    /// Identifies the core's dynamic namespace (see `Namespace.parent_key`).
    #[getter]
    fn key(&self) -> usize {
        Arc::as_ptr(&self.parent) as usize
    }

    #[getter]
    fn matcher_id(&self) -> u64 {
        self.matcher_id
    }

    fn set_has_middlewares(&self, yes: bool) {
        self.handler.set_has_middlewares(yes);
    }

    /// The child namespaces created so far.
    fn children(&self) -> Vec<PyNamespace> {
        self.parent
            .children()
            .into_iter()
            .map(|nsp| PyNamespace {
                nsp,
                handler: None,
                host: self.host.clone(),
            })
            .collect()
    }
}
