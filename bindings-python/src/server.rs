//! `roomcast._native.Server`: the core server, its namespaces, the native listener, the
//! host-driven HTTP/WebSocket entry points and the event drain.

use crate::bridge::{self, PyWebSocket};
use crate::errors::{invalid, server_closed};
use crate::events;
use crate::host::{Host, LocalEvent};
use crate::namespace::{PyNamespace, PyParent};
use crate::runtime;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use roomcast::transport::host_exchange::HostExchanges;
use roomcast::{HostEvent, QueueHandler, QueueMatcher, Server};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Fixed responses the native listener serves outside the Socket.IO path (`GET /`).
type Statics = Arc<RwLock<HashMap<String, (String, Bytes)>>>;

#[pyclass(frozen, name = "Server", module = "roomcast._native")]
pub struct PyServer {
    server: Server,
    host: Arc<Host>,
    /// The handler of every namespace Python created by name (dynamic children excluded).
    handlers: Mutex<HashMap<String, Arc<QueueHandler>>>,
    next_id: AtomicU64,
    statics: Statics,
    announces_namespaces: AtomicBool,
    /// HTTP requests of the ASGI path still being answered, by token, so that a client that
    /// goes away (`http.disconnect`) ends its long-poll at once, as on the native listener.
    http_in_flight: HostExchanges<Option<http::Response<Bytes>>>,
    /// No sticky sessions: the directory's settings, applied when the listener is bound (its
    /// address is the default one to advertise).
    route_sessions: Mutex<Option<RouteSessions>>,
    /// The certificate and key of `set_tls`: the native listener serves TLS.
    tls: Mutex<Option<roomcast::transport::tls::TlsSettings>>,
}

struct RouteSessions {
    url: String,
    address: Option<String>,
    key_prefix: String,
    ttl: std::time::Duration,
}

impl PyServer {
    fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn wrap(&self, nsp: Arc<roomcast::Namespace>) -> PyNamespace {
        let handler = self.handlers.lock().get(nsp.name()).cloned();
        PyNamespace {
            nsp,
            handler,
            host: self.host.clone(),
        }
    }
}

#[pymethods]
impl PyServer {
    #[new]
    fn new(config: &Bound<'_, PyDict>) -> PyResult<PyServer> {
        let config = crate::config::from_dict(config)?;
        let host =
            Host::new().map_err(|e| invalid(format!("cannot create the wake-up channel: {e}")))?;
        let server = Server::with_runtime(config, runtime::handle());
        // Python drops its wrapper of a child the core removed or evicted, so its map stays
        // within max_child_namespaces too.
        let removals = host.events.clone();
        server.on_namespace_removed(move |nsp| {
            removals.push(HostEvent::NamespaceRemoved { nsp: nsp.clone() });
        });
        let statics: Statics = Arc::default();
        let lookup = statics.clone();
        server.set_fallback(move |parts| {
            if parts.method != http::Method::GET && parts.method != http::Method::HEAD {
                return None;
            }
            let (content_type, body) = lookup.read().get(parts.uri.path()).cloned()?;
            http::Response::builder()
                .header(http::header::CONTENT_TYPE, content_type)
                .body(body)
                .ok()
        });
        let this = PyServer {
            server,
            host,
            handlers: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            statics,
            announces_namespaces: AtomicBool::new(false),
            http_in_flight: HostExchanges::default(),
            route_sessions: Mutex::new(None),
            tls: Mutex::new(None),
        };
        Ok(this)
    }

    /// The descriptor to watch for readability; then call `drain`.
    fn wake_fd(&self) -> i32 {
        self.host.wake_fd()
    }

    /// Every queued event as tuples, oldest first.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        events::convert_batch(py, &self.host, &out)?;
        Ok(out)
    }

    /// The namespace `name`, created on first use; its events are forwarded to Python
    /// (a dynamic child keeps forwarding to its parent's handler).
    fn namespace(&self, name: &str) -> PyResult<PyNamespace> {
        if self.server.is_closed() {
            return Err(server_closed_err());
        }
        let nsp = self.server.of(name);
        if nsp.parent().is_none() {
            let mut handlers = self.handlers.lock();
            if !handlers.contains_key(nsp.name()) {
                let handler = QueueHandler::new(self.new_id(), self.host.events.clone());
                nsp.set_handler(handler.clone());
                handlers.insert(nsp.name().to_string(), handler);
            }
        }
        Ok(self.wrap(nsp))
    }

    /// The namespace `name` if it exists now (static, or a dynamic child already created).
    fn find_namespace(&self, name: &str) -> Option<PyNamespace> {
        self.server.namespace(name).map(|n| self.wrap(n))
    }

    /// A dynamic namespace whose matcher Python answers (`MatchNamespace` events).
    fn dynamic(&self) -> PyResult<PyParent> {
        if self.server.is_closed() {
            return Err(server_closed_err());
        }
        let matcher_id = self.new_id();
        let parent = self.server.of_dynamic(QueueMatcher {
            id: matcher_id,
            queue: self.host.events.clone(),
        });
        let handler = QueueHandler::new(self.new_id(), self.host.events.clone());
        parent.set_handler(handler.clone());
        Ok(PyParent {
            parent,
            handler,
            matcher_id,
            host: self.host.clone(),
        })
    }

    /// Vets every handshake in Python (`allow_request`): each becomes an `AllowRequest`
    /// event whose reply decides; an unanswered one is refused.
    fn enable_allow_request(&self) {
        let host = self.host.clone();
        self.server.set_allow_request(move |request| {
            let (reply, rx) = tokio::sync::oneshot::channel();
            host.push_local(LocalEvent::AllowRequest {
                request: request.clone(),
                reply,
            });
            roomcast::Pending::Later(Box::pin(async move { rx.await.unwrap_or(false) }))
        });
    }

    /// Serves the admin UI's namespace (`instrument()`). `auth_kind` is `disabled`, `exact`
    /// (`auth_json`: a list of accepted CONNECT payloads), `basic` (`auth_json`: username and
    /// bcrypt hash) or `check` (each CONNECT becomes an `AdminAuth` event Python answers).
    #[pyo3(signature = (namespace, read_only, mode, server_id, stats_interval, auth_kind, auth_json=None))]
    #[allow(clippy::too_many_arguments)]
    fn instrument(
        &self,
        namespace: String,
        read_only: bool,
        mode: &str,
        server_id: Option<String>,
        stats_interval: f64,
        auth_kind: &str,
        auth_json: Option<String>,
    ) -> PyResult<()> {
        use roomcast::admin::{AdminAuth, AdminMode, AdminOptions};
        let admin_err = |e: roomcast::admin::AdminError| invalid(e.to_string());
        let parsed: serde_json::Value = match &auth_json {
            Some(text) => serde_json::from_str(text).map_err(|e| invalid(format!("auth: {e}")))?,
            None => serde_json::Value::Null,
        };
        let auth = match auth_kind {
            "disabled" => AdminAuth::Disabled,
            "exact" => AdminAuth::Exact(match parsed {
                serde_json::Value::Array(list) => list,
                other => vec![other],
            }),
            "basic" => {
                let field = |k: &str| parsed.get(k).and_then(|v| v.as_str()).unwrap_or_default();
                AdminAuth::basic(field("username"), field("password")).map_err(admin_err)?
            }
            "check" => {
                let host = self.host.clone();
                AdminAuth::Check(Arc::new(move |auth: &str| {
                    let (reply, rx) = tokio::sync::oneshot::channel();
                    host.push_local(LocalEvent::AdminAuth {
                        auth: auth.to_string(),
                        reply,
                    });
                    roomcast::Pending::Later(Box::pin(async move { rx.await.unwrap_or(false) }))
                }))
            }
            other => return Err(invalid(format!("unknown admin auth kind {other:?}"))),
        };
        if !(stats_interval.is_finite() && stats_interval > 0.0) {
            return Err(invalid(format!(
                "server_stats_interval must be a positive number of seconds, got {stats_interval}"
            )));
        }
        let mut options = AdminOptions::new(auth)
            .namespace(namespace)
            .read_only(read_only)
            .mode(AdminMode::parse(mode).map_err(admin_err)?)
            .stats_interval(std::time::Duration::from_secs_f64(stats_interval));
        if let Some(id) = server_id {
            options = options.server_id(id);
        }
        self.server.instrument(options).map_err(admin_err)
    }

    /// Reports every namespace created from now on (`io.on("new_namespace")`).
    fn announce_namespaces(&self) {
        if self.announces_namespaces.swap(true, Ordering::AcqRel) {
            return;
        }
        let queue = self.host.events.clone();
        self.server.on_new_namespace(move |nsp| {
            queue.push(HostEvent::NewNamespace {
                name: nsp.name().to_string(),
            });
        });
    }

    /// Binds the native listener and serves in the background; returns the bound port.
    fn listen(&self, py: Python<'_>, host: String, port: u16) -> PyResult<u16> {
        if self.server.is_closed() {
            return Err(server_closed_err());
        }
        let server = self.server.clone();
        let tls = self.tls.lock().clone();
        let bound = py.detach(move || {
            let rt = server.runtime().clone();
            rt.block_on(async {
                match tls {
                    Some(tls) => server.listen_tls((host.as_str(), port), tls).await,
                    None => server.listen((host.as_str(), port)).await,
                }
            })
        });
        let bound = bound
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot listen: {e}")))?;
        if let Some(route) = &*self.route_sessions.lock() {
            use roomcast_redis::{RedisSessionDirectory, SessionDirectoryConfig};
            let fail = |e: roomcast_redis::RedisSetupError| invalid(format!("route_sessions: {e}"));
            let address = SessionDirectoryConfig::address_for(route.address.as_deref(), bound)
                .map_err(fail)?;
            let mut config = SessionDirectoryConfig::new(route.url.clone(), address);
            config.key_prefix = route.key_prefix.clone();
            config.ttl = route.ttl;
            let directory =
                RedisSessionDirectory::new(config, self.server.runtime()).map_err(fail)?;
            self.server.engine().set_session_directory(directory);
        }
        Ok(bound.port())
    }

    /// Serves HTTPS and `wss://` on the native listener from now on, with this PEM
    /// certificate chain and key; raises `ValueError` with the reason when they cannot serve.
    fn set_tls(&self, cert: Vec<u8>, key: Vec<u8>) -> PyResult<()> {
        let tls = roomcast::transport::tls::TlsSettings::from_pem(&cert, &key)
            .map_err(|e| invalid(e.to_string()))?;
        *self.tls.lock() = Some(tls);
        Ok(())
    }

    /// No sticky sessions needed in front: requests for another node's session are handed
    /// to it, found through a directory in Redis (applied when the listener binds).
    #[pyo3(signature = (url, address=None, key_prefix="roomcast:owner:".to_string(), ttl=3600.0))]
    fn route_sessions(
        &self,
        url: String,
        address: Option<String>,
        key_prefix: String,
        ttl: f64,
    ) -> PyResult<()> {
        if !(ttl.is_finite() && ttl >= 1.0) {
            return Err(invalid(format!(
                "route_sessions: ttl must be at least 1 second, got {ttl}"
            )));
        }
        *self.route_sessions.lock() = Some(RouteSessions {
            url,
            address,
            key_prefix,
            ttl: std::time::Duration::from_secs_f64(ttl),
        });
        Ok(())
    }

    /// Closes the server (disconnects every socket, releases the ports); blocks until done.
    fn close(&self, py: Python<'_>) {
        let server = self.server.clone();
        py.detach(move || {
            let rt = server.runtime().clone();
            rt.block_on(server.close());
        });
    }

    /// Closes the server in the background; a `Done` completion with `token` follows.
    fn close_in_background(&self, token: u64) {
        let server = self.server.clone();
        let host = self.host.clone();
        self.server.runtime().spawn(async move {
            server.close().await;
            host.push_local(LocalEvent::Done { token });
        });
    }

    #[getter]
    fn closed(&self) -> bool {
        self.server.is_closed()
    }

    /// Serves the browser client bundle at `<path>socket.io.js`.
    fn serve_client(&self, bundle: Vec<u8>) {
        self.server.serve_client(Bytes::from(bundle));
    }

    /// Serves fixed bytes at `path` (GET and HEAD) on the native listener.
    fn add_static(&self, path: String, content_type: String, body: Vec<u8>) {
        self.statics
            .write()
            .insert(path, (content_type, Bytes::from(body)));
    }

    /// Hands every request outside the Socket.IO path (but the fixed content) on the native
    /// listener to a queue for `workers` WSGI worker threads, `backlog` more may wait;
    /// closing lets in-flight requests finish for up to `grace` seconds.
    fn serve_http(&self, workers: usize, backlog: usize, grace: f64) -> crate::web::PyHttpQueue {
        let queue = Arc::new(roomcast::transport::host_http::RequestQueue::new(
            workers, backlog,
        ));
        self.server.set_http_host(
            queue.clone(),
            std::time::Duration::from_secs_f64(grace.max(0.0)),
        );
        crate::web::PyHttpQueue {
            queue,
            runtime: self.server.runtime().clone(),
        }
    }

    /// Whether a request path belongs to the Socket.IO server.
    fn handles_path(&self, path: &str) -> bool {
        self.server.handles_path(path)
    }

    /// Answers an HTTP request of the Socket.IO path in the background; the response
    /// arrives as an `Http` completion with `token` (`None`: not a Socket.IO request).
    #[pyo3(signature = (token, method, target, headers, body, client=None, secure=false))]
    #[allow(clippy::too_many_arguments)]
    fn handle_http(
        &self,
        py: Python<'_>,
        token: u64,
        method: &str,
        target: &str,
        headers: &Bound<'_, PyAny>,
        body: Vec<u8>,
        client: Option<(String, u16)>,
        secure: bool,
    ) -> PyResult<()> {
        let parts = bridge::secured(bridge::request_parts(method, target, headers)?, secure);
        let remote = bridge::remote(client);
        let (server, host) = (self.server.clone(), self.host.clone());
        let runtime = self.server.runtime().clone();
        // Started on this thread (see `host_exchange`): a poll registers before the next
        // request or a cancel from the event loop reaches the core.
        let handler = async move { server.handle_http(parts, remote, Bytes::from(body)).await };
        py.detach(|| {
            self.http_in_flight
                .start(&runtime, token, handler, move |response| {
                    host.push_local(LocalEvent::Http { token, response })
                })
        });
        Ok(())
    }

    /// The client of request `token` went away before its answer (ASGI `http.disconnect`):
    /// a pending long-poll ends its session, as engine.io's does. No `Http` completion
    /// follows for a request cancelled before its answer.
    fn cancel_http(&self, py: Python<'_>, token: u64) {
        py.detach(|| self.http_in_flight.cancel(token));
    }

    /// Answers an HTTP request on the calling thread (WSGI), without the GIL while waiting:
    /// `(status, headers, body)`, or `None` outside the Socket.IO path.
    #[pyo3(signature = (method, target, headers, body, client=None, secure=false))]
    #[allow(clippy::too_many_arguments)]
    fn handle_http_blocking<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        target: &str,
        headers: &Bound<'py, PyAny>,
        body: Vec<u8>,
        client: Option<(String, u16)>,
        secure: bool,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let parts = bridge::secured(bridge::request_parts(method, target, headers)?, secure);
        let remote = bridge::remote(client);
        let server = self.server.clone();
        let response = py.detach(move || {
            let rt = server.runtime().clone();
            rt.block_on(server.handle_http(parts, remote, Bytes::from(body)))
        });
        match response {
            None => Ok(None),
            Some(r) => Ok(Some(
                bridge::response_to_py(py, &r)?
                    .into_pyobject(py)?
                    .into_any(),
            )),
        }
    }

    /// Opens a WebSocket the host frames (ASGI); an int is the HTTP status to refuse with.
    #[pyo3(signature = (target, headers, client=None, secure=false))]
    fn open_websocket<'py>(
        &self,
        py: Python<'py>,
        target: &str,
        headers: &Bound<'py, PyAny>,
        client: Option<(String, u16)>,
        secure: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let parts = bridge::secured(bridge::request_parts("GET", target, headers)?, secure);
        match self.server.open_websocket(&parts, bridge::remote(client)) {
            Err(status) => Ok(status.into_pyobject(py)?.into_any()),
            Ok(channel) => {
                let ws = PyWebSocket {
                    channel,
                    host: self.host.clone(),
                    runtime: self.server.runtime().clone(),
                };
                Ok(Bound::new(py, ws)?.into_any())
            }
        }
    }

    /// Takes over the WebSocket upgrade an ASGI server accepted on descriptor `fd`: the core
    /// duplicates the descriptor, writes the 101 (or the refusal) and runs the connection as
    /// its own listener does. The ASGI server must then drop its copy without writing to it.
    /// Raises `OSError` (keeping nothing) when `fd` is not a plain TCP or Unix socket.
    #[pyo3(signature = (fd, target, headers, client=None))]
    fn take_over_websocket(
        &self,
        fd: i32,
        target: &str,
        headers: &Bound<'_, PyAny>,
        client: Option<(String, u16)>,
    ) -> PyResult<()> {
        let parts = bridge::request_parts("GET", target, headers)?;
        let socket = {
            // Registering with the reactor needs the runtime's context.
            let _entered = self.server.runtime().enter();
            roomcast::engineio::AdoptedSocket::duplicate(fd)?
        };
        let remote = bridge::remote(client).or_else(|| socket.peer_addr());
        let served = self
            .server
            .serve_adopted_websocket(socket, parts, remote, None);
        self.server.runtime().spawn(served);
        Ok(())
    }

    /// Live object counts: (sessions, namespaces, sockets, rooms), then the refusals of the
    /// listener: (connections, sessions, timed-out requests).
    fn stats(&self) -> (usize, usize, usize, usize, u64, u64, u64) {
        let s = self.server.stats();
        (
            s.sessions,
            s.namespaces,
            s.sockets,
            s.rooms,
            s.refused_connections,
            s.refused_sessions,
            s.timed_out_requests,
        )
    }
}

fn server_closed_err() -> PyErr {
    Python::attach(server_closed)
}
