//! Turns queued events into the tuples the Python dispatcher reads. Runs on the Python
//! thread that drains, with the GIL held; the core's threads never get here.
//!
//! Each tuple starts with a kind number (the `EV_*` constants, mirrored in
//! `roomcast/_dispatch.py`), so the dispatcher switches on a small int.

use crate::host::{Host, LocalEvent};
use crate::payload;
use crate::reply::{PyAck, PyReply, PyServerSideAck, ReplyKind};
use crate::socket::PySocket;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use roomcast::handshake::RequestInfo;
use roomcast::{AckError, Completion, HostEvent, SocketRef};
use std::sync::Arc;

pub const EV_AUTHORIZE: u8 = 0;
pub const EV_CONNECTION: u8 = 1;
pub const EV_EVENT: u8 = 2;
pub const EV_DISCONNECTING: u8 = 3;
pub const EV_DISCONNECT: u8 = 4;
pub const EV_MATCH: u8 = 5;
pub const EV_OUTGOING: u8 = 6;
pub const EV_NEW_NAMESPACE: u8 = 7;
pub const EV_ACK: u8 = 8;
pub const EV_BROADCAST_ACK: u8 = 9;
pub const EV_SOCKETS: u8 = 10;
pub const EV_HTTP: u8 = 11;
pub const EV_WEBSOCKET: u8 = 12;
pub const EV_DONE: u8 = 13;
pub const EV_ALLOW_REQUEST: u8 = 14;
pub const EV_SERVER_SIDE: u8 = 15;
pub const EV_SERVER_SIDE_ACKS: u8 = 16;
pub const EV_ROOMS: u8 = 17;
pub const EV_ADMIN_AUTH: u8 = 18;
pub const EV_NAMESPACE_REMOVED: u8 = 19;

/// Appends every event of a batch to `out`.
pub fn convert_batch<'py>(
    py: Python<'py>,
    host: &Arc<Host>,
    out: &Bound<'py, PyList>,
) -> PyResult<()> {
    let (events, local) = host.take();
    for ev in events {
        if let Some(item) = convert(py, host, ev)? {
            out.append(item)?;
        }
    }
    for ev in local {
        out.append(convert_local(py, ev)?)?;
    }
    Ok(())
}

fn socket_obj(py: Python<'_>, host: &Arc<Host>, socket: SocketRef) -> PyResult<Py<PySocket>> {
    Py::new(
        py,
        PySocket {
            socket,
            host: host.clone(),
        },
    )
}

fn reply_obj(py: Python<'_>, kind: ReplyKind) -> PyResult<Py<PyReply>> {
    Py::new(py, PyReply::new(kind))
}

/// `None` for events the Python API does not expose yet (dropping one gives the core's
/// default answer).
fn convert<'py>(
    py: Python<'py>,
    host: &Arc<Host>,
    ev: HostEvent,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(Some(match ev {
        HostEvent::Authorize {
            handler,
            socket,
            reply,
        } => {
            let s = socket_obj(py, host, socket)?;
            (
                EV_AUTHORIZE,
                handler,
                s,
                reply_obj(py, ReplyKind::Authorize(reply))?,
            )
                .into_pyobject(py)?
                .into_any()
        }
        HostEvent::Connection {
            handler,
            socket,
            reply,
        } => {
            let s = socket_obj(py, host, socket)?;
            (
                EV_CONNECTION,
                handler,
                s,
                reply_obj(py, ReplyKind::Done(reply))?,
            )
                .into_pyobject(py)?
                .into_any()
        }
        HostEvent::Event { socket, event, .. } => {
            let (json, bins) = payload::to_py(py, &event.args)?;
            let ack = event.ack.map(|a| Py::new(py, PyAck::new(a))).transpose()?;
            (EV_EVENT, socket.id().as_str(), event.name, json, bins, ack)
                .into_pyobject(py)?
                .into_any()
        }
        HostEvent::Disconnecting {
            socket,
            reason,
            reply,
            ..
        } => (
            EV_DISCONNECTING,
            socket.id().as_str(),
            reason.as_str(),
            reply_obj(py, ReplyKind::Done(reply))?,
        )
            .into_pyobject(py)?
            .into_any(),
        HostEvent::Disconnect { socket, reason, .. } => {
            (EV_DISCONNECT, socket.id().as_str(), reason.as_str())
                .into_pyobject(py)?
                .into_any()
        }
        HostEvent::MatchNamespace {
            matcher,
            name,
            auth,
            reply,
        } => (
            EV_MATCH,
            matcher,
            name,
            auth,
            reply_obj(py, ReplyKind::Match(reply))?,
        )
            .into_pyobject(py)?
            .into_any(),
        HostEvent::Outgoing {
            socket,
            event,
            args,
            ..
        } => {
            let (json, bins) = payload::to_py(py, &args)?;
            (EV_OUTGOING, socket.id().as_str(), event, json, bins)
                .into_pyobject(py)?
                .into_any()
        }
        // Python sockets never ask for their connection's events.
        HostEvent::Conn { .. } => return Ok(None),
        HostEvent::NewNamespace { name } => (EV_NEW_NAMESPACE, name).into_pyobject(py)?.into_any(),
        // (kind, name, the removed namespace): Python compares its key with its wrapper's.
        HostEvent::NamespaceRemoved { nsp } => {
            let name = nsp.name().to_string();
            let removed = Py::new(
                py,
                crate::namespace::PyNamespace {
                    nsp,
                    handler: None,
                    host: host.clone(),
                },
            )?;
            (EV_NAMESPACE_REMOVED, name, removed)
                .into_pyobject(py)?
                .into_any()
        }
        // (kind, handler, nsp, event, json, binaries, ack or None)
        HostEvent::ServerSideEmit {
            handler,
            nsp,
            event,
        } => {
            let (json, bins) = payload::to_py(py, &event.args)?;
            let ack = event
                .ack
                .map(|a| Py::new(py, PyServerSideAck::new(a)))
                .transpose()?;
            (EV_SERVER_SIDE, handler, nsp, event.name, json, bins, ack)
                .into_pyobject(py)?
                .into_any()
        }
        HostEvent::Completed { token, completion } => {
            return convert_completion(py, token, completion)
        }
        // Variants the core adds later are skipped until the Python API exposes them.
        #[allow(unreachable_patterns)]
        other => {
            tracing::debug!(event = ?other, "host event not handled by the Python binding");
            return Ok(None);
        }
    }))
}

fn convert_completion<'py>(
    py: Python<'py>,
    token: u64,
    completion: Completion,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(Some(match completion {
        // (kind, token, error or None, json, binaries)
        Completion::Ack(Ok(args)) => {
            let (json, bins) = payload::to_py(py, &args)?;
            (EV_ACK, token, py.None(), json, bins)
                .into_pyobject(py)?
                .into_any()
        }
        Completion::Ack(Err(e)) => {
            let kind = match e {
                AckError::Timeout => "timeout",
                AckError::Disconnected => "disconnected",
            };
            (EV_ACK, token, kind, py.None(), py.None())
                .into_pyobject(py)?
                .into_any()
        }
        // (kind, token, timed_out, [(json, binaries), ...])
        Completion::BroadcastAck(result) => {
            let (timed_out, responses) = match result {
                Ok(r) => (false, r),
                Err(e) => (true, e.responses),
            };
            let list = PyList::empty(py);
            for r in &responses {
                list.append(payload::to_py(py, r)?)?;
            }
            (EV_BROADCAST_ACK, token, timed_out, list)
                .into_pyobject(py)?
                .into_any()
        }
        // (kind, token, error or None, [(id, nsp, handshake json, rooms, data json), ...])
        Completion::Sockets(result) => match result {
            Ok(sockets) => {
                let list = PyList::empty(py);
                for s in sockets {
                    let rooms: Vec<String> = s.rooms.iter().map(|r| r.to_string()).collect();
                    list.append((s.id, s.nsp, s.handshake.to_string(), rooms, s.data))?;
                }
                (EV_SOCKETS, token, py.None(), list)
                    .into_pyobject(py)?
                    .into_any()
            }
            Err(e) => (EV_SOCKETS, token, e.to_string(), PyList::empty(py))
                .into_pyobject(py)?
                .into_any(),
        },
        // (kind, token, error or None, [(json, binaries), ...])
        Completion::ServerSideAcks(result) => {
            let list = PyList::empty(py);
            let error = match result {
                Ok(answers) => {
                    for a in &answers {
                        list.append(payload::to_py(py, a)?)?;
                    }
                    None
                }
                Err(e) => Some(e.to_string()),
            };
            (EV_SERVER_SIDE_ACKS, token, error, list)
                .into_pyobject(py)?
                .into_any()
        }
        #[allow(unreachable_patterns)]
        _ => return Ok(None),
    }))
}

fn convert_local<'py>(py: Python<'py>, ev: LocalEvent) -> PyResult<Bound<'py, PyAny>> {
    Ok(match ev {
        // (kind, token, (status, [(name, value)], body) or None)
        LocalEvent::Http { token, response } => match response {
            Some(resp) => (EV_HTTP, token, crate::bridge::response_to_py(py, &resp)?)
                .into_pyobject(py)?
                .into_any(),
            None => (EV_HTTP, token, py.None()).into_pyobject(py)?.into_any(),
        },
        LocalEvent::Done { token } => (EV_DONE, token).into_pyobject(py)?.into_any(),
        // (kind, request dict, reply)
        LocalEvent::AllowRequest { request, reply } => {
            let info = request_to_py(py, &request)?;
            let reply = Py::new(py, PyReply::new(ReplyKind::Allow(reply)))?;
            (EV_ALLOW_REQUEST, info, reply)
                .into_pyobject(py)?
                .into_any()
        }
        // (kind, CONNECT payload as JSON text, reply)
        LocalEvent::AdminAuth { auth, reply } => {
            let reply = Py::new(py, PyReply::new(ReplyKind::Allow(reply)))?;
            (EV_ADMIN_AUTH, auth, reply).into_pyobject(py)?.into_any()
        }
        // (kind, token, error or None, [room, ...])
        LocalEvent::Rooms { token, rooms } => match rooms {
            Ok(list) => (EV_ROOMS, token, py.None(), list)
                .into_pyobject(py)?
                .into_any(),
            Err(e) => (EV_ROOMS, token, e, PyList::empty(py))
                .into_pyobject(py)?
                .into_any(),
        },
    })
}

/// A handshake request as `allow_request` sees it: `headers` and `query` (dicts), `url`,
/// `address`, `secure`, `xdomain`.
fn request_to_py<'py>(py: Python<'py>, request: &RequestInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let headers = PyDict::new(py);
    for (k, v) in &request.headers {
        headers.set_item(k, v)?;
    }
    let query = PyDict::new(py);
    for (k, v) in &request.query {
        query.set_item(k, v)?;
    }
    d.set_item("headers", headers)?;
    d.set_item("query", query)?;
    d.set_item("url", &request.url)?;
    d.set_item("address", request.address())?;
    d.set_item("secure", request.secure)?;
    d.set_item("xdomain", request.xdomain())?;
    Ok(d)
}
