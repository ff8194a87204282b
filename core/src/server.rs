//! The server: options, namespaces, Engine.IO sessions, the native listener and shutdown.

use crate::adapter::{AdapterFactory, MemoryAdapter};
use crate::admission::{check_dynamic_name, Admission, Refusal};
use crate::engineio::session::SessionHandler;
use crate::engineio::{CloseReason, EngineConfig, EngineSession};
use crate::host::{NamespaceListener, NamespaceMatcher, Pending};
use crate::id::Sid;
use crate::namespace::{Namespace, ParentNamespace};
use crate::socket::DisconnectReason;
use crate::transport::host_http::HttpHost;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify};

/// Server options (socket.io's `ServerOptions`), with the reference defaults.
#[derive(Clone)]
pub struct ServerConfig {
    pub engine: EngineConfig,
    /// How long a connection may stay without joining a namespace (default 45 s).
    pub connect_timeout: Duration,
    /// Remove a dynamic child namespace when its last socket leaves.
    pub cleanup_empty_child_namespaces: bool,
    /// The most dynamic child namespaces that may exist at once (default 10,000); a CONNECT
    /// that would create one more is refused with "Too many namespaces".
    pub max_child_namespaces: usize,
    /// Acknowledgements one socket may be awaited for at once (default 10,000); past it
    /// `emit_with_ack` fails with [`crate::EmitError::TooManyPendingAcks`] and sends nothing.
    pub max_pending_acks: usize,
    /// Creates each namespace's adapter (default: in-memory).
    pub adapter: Arc<dyn AdapterFactory>,
    /// The Socket.IO parser every client of this server uses.
    pub parser: crate::socketio::parser::Parser,
    /// Connection state recovery (`connectionStateRecovery`); off by default.
    pub connection_state_recovery: Option<crate::recovery::RecoveryConfig>,
    /// Bytes of client events one socket may have waiting for a language host (Python,
    /// JavaScript) that falls behind (16 MiB by default); past it the connection is closed
    /// with the reason "host backlog full".
    pub max_host_backlog_per_socket: usize,
    /// The same for all sockets of the server together (256 MiB by default).
    pub max_host_backlog: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            engine: EngineConfig::default(),
            connect_timeout: Duration::from_millis(45_000),
            cleanup_empty_child_namespaces: false,
            max_child_namespaces: crate::admission::DEFAULT_MAX_CHILD_NAMESPACES,
            max_pending_acks: 10_000,
            adapter: Arc::new(|_: &str| -> Arc<dyn crate::Adapter> {
                Arc::new(MemoryAdapter::new())
            }),
            parser: crate::socketio::parser::Parser::Default,
            connection_state_recovery: None,
            max_host_backlog_per_socket: 16 << 20,
            max_host_backlog: 256 << 20,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("engine", &self.engine)
            .field("connect_timeout", &self.connect_timeout)
            .field(
                "cleanup_empty_child_namespaces",
                &self.cleanup_empty_child_namespaces,
            )
            .field("max_child_namespaces", &self.max_child_namespaces)
            .field("max_pending_acks", &self.max_pending_acks)
            .finish()
    }
}

/// How long closing waits for connections to flush, at the least.
const DEFAULT_DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Answers HTTP requests outside the Socket.IO path (the native listener's fallback).
pub type HttpFallback =
    Arc<dyn Fn(&http::request::Parts) -> Option<http::Response<Bytes>> + Send + Sync>;

/// Decides whether a handshake may open a session (socket.io's `allowRequest`): a refusal is
/// answered 403 `{"code":4,"message":"Forbidden"}`.
pub type AllowRequest = Arc<dyn Fn(&crate::handshake::RequestInfo) -> Pending<bool> + Send + Sync>;

/// Counts of live objects, for leak checks and monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerStats {
    pub sessions: usize,
    pub namespaces: usize,
    pub sockets: usize,
    pub rooms: usize,
    /// TCP connections the native listener refused (`max_connections`,
    /// `max_connections_per_ip`) since the server started.
    pub refused_connections: u64,
    /// Handshakes refused with 503 (`max_sessions`).
    pub refused_sessions: u64,
    /// Requests cut off by `http_header_timeout` or `http_body_timeout`.
    pub timed_out_requests: u64,
}

pub(crate) enum Resolved {
    Found(Admission),
    Refused(Refusal),
    Pending(BoxFuture<'static, Result<Admission, Refusal>>),
}

pub(crate) struct ServerShared {
    pub(crate) config: ServerConfig,
    pub(crate) engine: Arc<EngineConfig>,
    pub(crate) runtime: Handle,
    /// Where the hosts' large broadcasts run (see [`crate::hand_off`]).
    pub(crate) hand_off: Arc<crate::hand_off::HandOff>,
    me: std::sync::Weak<ServerShared>,
    sessions: Mutex<HashMap<Sid, Arc<EngineSession>>>,
    namespaces: RwLock<HashMap<String, Arc<Namespace>>>,
    parents: RwLock<Vec<Arc<ParentNamespace>>>,
    /// Dynamic children in `namespaces`; changed under its write lock.
    children: AtomicUsize,
    namespace_listeners: RwLock<Vec<NamespaceListener>>,
    pub(crate) client_files: RwLock<Option<crate::transport::client_files::ClientFiles>>,
    pub(crate) fallback: RwLock<Option<HttpFallback>>,
    /// The app answering other requests on the native listener, and how long closing
    /// waits for its in-flight requests.
    pub(crate) http_host: RwLock<Option<Arc<dyn HttpHost>>>,
    http_grace: Mutex<Duration>,
    pub(crate) allow_request: RwLock<Option<AllowRequest>>,
    closing: AtomicBool,
    shutdown: watch::Sender<bool>,
    listeners: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    live_connections: AtomicUsize,
    connections_done: Notify,
    /// Set for an Engine.IO-only server ([`crate::EngineServer`]): sessions go to this handler
    /// instead of a Socket.IO client.
    pub(crate) engine_handler: Option<Arc<dyn SessionHandler>>,
    pub(crate) refusals: crate::transport::limits::Refusals,
    /// Caps of the native listener, created when it first listens.
    pub(crate) connection_limits: Arc<crate::transport::limits::ConnectionLimits>,
}

impl ServerShared {
    pub(crate) fn create_adapter(&self, nsp: &str) -> Arc<dyn crate::Adapter> {
        self.config.adapter.create(nsp)
    }

    pub(crate) fn session(&self, sid: &str) -> Option<Arc<EngineSession>> {
        self.sessions.lock().get(sid).cloned()
    }

    pub(crate) fn add_session(&self, session: &Arc<EngineSession>) {
        self.sessions
            .lock()
            .insert(session.sid.clone(), session.clone());
    }

    /// Whether `max_sessions` leaves room for one more (checked before a handshake; a burst
    /// of concurrent handshakes can pass it by the number in flight).
    pub(crate) fn has_room_for_session(&self) -> bool {
        self.engine
            .max_sessions
            .is_none_or(|max| self.sessions.lock().len() < max)
    }

    pub(crate) fn remove_session(&self, sid: &Sid) {
        self.sessions.lock().remove(sid);
    }

    /// Forgets a closed session, as the reference does at once, except on long-polling
    /// when the client is still owed an answer: after a server-side close, the packets queued
    /// before it and the close (until a poll has taken them, bounded by the heartbeat so a
    /// vanished client cannot pin the sid); after the client's own close, the noop for a poll
    /// it sent with it (see [`EngineSession::client_close_settled`]).
    pub(crate) fn release_session(
        self: &Arc<Self>,
        session: &Arc<EngineSession>,
        reason: CloseReason,
    ) {
        let config = session.config();
        let bound = match reason {
            _ if session.transport() != crate::engineio::TransportKind::Polling => None,
            CloseReason::ForcedClose
            | CloseReason::ServerShuttingDown
            | CloseReason::SlowConsumer
            | CloseReason::HostBacklogFull => Some(config.ping_interval + config.ping_timeout),
            CloseReason::TransportClose => Some(Duration::from_secs(1)),
            CloseReason::TransportError | CloseReason::PingTimeout | CloseReason::ParseError => {
                None
            }
        };
        let Some(bound) = bound else {
            self.remove_session(&session.sid);
            return;
        };
        let server = self.clone();
        let session = session.clone();
        self.runtime.clone().spawn(async move {
            let _ = tokio::time::timeout(bound, session.close_delivered()).await;
            server.remove_session(&session.sid);
        });
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// How long closing lets in-flight HTTP requests and queued writes finish.
    pub(crate) fn drain_grace(&self) -> Duration {
        *self.http_grace.lock()
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn connection_opened(&self) {
        self.live_connections.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn connection_closed(&self) {
        if self.live_connections.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.connections_done.notify_waiters();
        }
    }

    fn of(&self, name: &str) -> Arc<Namespace> {
        let name = normalize(name);
        if let Some(n) = self.namespaces.read().get(&name) {
            return n.clone();
        }
        let me = self.me.upgrade().expect("server is alive while in use");
        let created = {
            let mut map = self.namespaces.write();
            if let Some(n) = map.get(&name) {
                return n.clone();
            }
            let nsp = Namespace::new(&name, &me, None);
            map.insert(name, nsp.clone());
            nsp
        };
        self.announce(&created);
        created
    }

    fn announce(&self, nsp: &Arc<Namespace>) {
        let listeners: Vec<NamespaceListener> = self.namespace_listeners.read().clone();
        for l in listeners {
            l(nsp);
        }
    }

    /// Starts a CONNECT into the existing namespace `name`. The map's lock keeps a refused
    /// CONNECT from removing the child between the look-up and the start.
    fn admit(&self, name: &str) -> Option<Admission> {
        let map = self.namespaces.read();
        map.get(name).map(|n| Admission::begin(n.clone()))
    }

    fn create_child(
        &self,
        parent: &Arc<ParentNamespace>,
        name: &str,
    ) -> Result<Admission, Refusal> {
        let me = self.me.upgrade().expect("server is alive while in use");
        let admission = {
            let mut map = self.namespaces.write();
            if let Some(n) = map.get(name) {
                return Ok(Admission::begin(n.clone()));
            }
            let limit = self.config.max_child_namespaces;
            if self.children.load(Ordering::Acquire) >= limit {
                tracing::warn!(
                    nsp = name,
                    limit,
                    "CONNECT refused: max_child_namespaces reached"
                );
                return Err(Refusal::TooManyChildren(limit));
            }
            Admission::begin(self.insert_child(&mut map, &me, parent, name))
        };
        parent.add_child(admission.namespace());
        self.announce(admission.namespace());
        Ok(admission)
    }

    /// A child that is in the map from now on; called under the map's write lock.
    fn insert_child(
        &self,
        map: &mut HashMap<String, Arc<Namespace>>,
        me: &Arc<ServerShared>,
        parent: &Arc<ParentNamespace>,
        name: &str,
    ) -> Arc<Namespace> {
        let nsp = Namespace::new(name, me, Some(parent.clone()));
        map.insert(name.to_string(), nsp.clone());
        self.children.fetch_add(1, Ordering::AcqRel);
        nsp
    }

    /// Removes `nsp` from the map if it is still there and `keep` does not hold.
    fn remove_child_unless(&self, nsp: &Namespace, keep: impl FnOnce(&Namespace) -> bool) {
        let mut map = self.namespaces.write();
        let current = map
            .get(nsp.name())
            .is_some_and(|n| std::ptr::eq(Arc::as_ptr(n), nsp));
        if current && !keep(nsp) {
            map.remove(nsp.name());
            self.children.fetch_sub(1, Ordering::AcqRel);
            drop(map);
            nsp.adapter().close();
        }
    }

    /// `cleanupEmptyChildNamespaces`: the last socket left (and none is on its way in).
    pub(crate) fn remove_child_namespace(&self, nsp: &Namespace) {
        self.remove_child_unless(nsp, |n| n.socket_count() > 0 || !n.no_admission_pending());
    }

    /// A CONNECT into a child ended without a socket joining: a child that nobody ever
    /// joined never existed for anyone; one emptied meanwhile goes under
    /// `cleanupEmptyChildNamespaces` (its removal had waited for this CONNECT).
    pub(crate) fn remove_unjoined_child(&self, nsp: &Namespace) {
        let cleanup = nsp.parent().is_some_and(|p| p.cleanup_empty_children);
        self.remove_child_unless(nsp, |n| {
            (n.ever_joined() && !cleanup) || n.socket_count() > 0 || !n.no_admission_pending()
        });
    }

    pub(crate) fn resolve_namespace(&self, name: &str, auth: &str) -> Resolved {
        if let Some(admission) = self.admit(name) {
            return Resolved::Found(admission);
        }
        let parents: Vec<Arc<ParentNamespace>> = self.parents.read().clone();
        if parents.is_empty() {
            return Resolved::Refused(Refusal::Invalid);
        }
        if let Err(refusal) = check_dynamic_name(name) {
            return Resolved::Refused(refusal);
        }
        let mut later = Vec::new();
        for (i, p) in parents.iter().enumerate() {
            match p.matcher.matches(name, auth) {
                Pending::Ready(true) if later.is_empty() => {
                    return match self.create_child(p, name) {
                        Ok(admission) => Resolved::Found(admission),
                        Err(refusal) => Resolved::Refused(refusal),
                    };
                }
                Pending::Ready(true) => later.push((i, Pending::Ready(true))),
                Pending::Ready(false) => {}
                pending @ Pending::Later(_) => later.push((i, pending)),
            }
        }
        if later.is_empty() {
            return Resolved::Refused(Refusal::Invalid);
        }
        // Matchers answer in registration order, as socket.io tries parents in order.
        let me = self.me.clone();
        let name = name.to_string();
        Resolved::Pending(Box::pin(async move {
            for (i, answer) in later {
                let ok = match answer {
                    Pending::Ready(b) => b,
                    Pending::Later(f) => f.await,
                };
                if ok {
                    let server = me.upgrade().ok_or(Refusal::Invalid)?;
                    if let Some(admission) = server.admit(&name) {
                        return Ok(admission);
                    }
                    return server.create_child(&parents[i], &name);
                }
            }
            Err(Refusal::Invalid)
        }))
    }
}

/// Binds with a deep accept queue: with the default of 1024 a burst of connects overflows it
/// and clients wait for SYN retries (about a second).
fn bind_with_backlog(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Namespace names always start with `/`.
fn normalize(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    }
}

/// A Socket.IO server. Cheap to clone: clones share the same server.
#[derive(Clone)]
pub struct Server {
    pub(crate) shared: Arc<ServerShared>,
}

impl Server {
    /// Creates a server on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime; use [`Server::with_runtime`] there.
    pub fn new(config: ServerConfig) -> Server {
        Server::with_runtime(config, Handle::current())
    }

    /// Creates a server whose tasks run on `runtime` (for hosts that own their runtime).
    pub fn with_runtime(config: ServerConfig, runtime: Handle) -> Server {
        Server::build(config, runtime, None)
    }

    /// A server whose sessions go to `engine_handler` when set (Engine.IO only).
    pub(crate) fn build(
        config: ServerConfig,
        runtime: Handle,
        engine_handler: Option<Arc<dyn SessionHandler>>,
    ) -> Server {
        let engine = Arc::new(config.engine.clone());
        let (shutdown, _) = watch::channel(false);
        let hand_off = crate::hand_off::HandOff::new(&runtime);
        let connection_limits = crate::transport::limits::ConnectionLimits::new(
            engine
                .max_connections
                .unwrap_or_else(crate::transport::limits::default_max_connections),
            engine.max_connections_per_ip,
        );
        let shared = Arc::new_cyclic(|me| ServerShared {
            config,
            engine,
            runtime,
            hand_off,
            me: me.clone(),
            sessions: Mutex::new(HashMap::new()),
            namespaces: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
            children: AtomicUsize::new(0),
            namespace_listeners: RwLock::new(Vec::new()),
            client_files: RwLock::new(None),
            fallback: RwLock::new(None),
            http_host: RwLock::new(None),
            http_grace: Mutex::new(DEFAULT_DRAIN_GRACE),
            allow_request: RwLock::new(None),
            closing: AtomicBool::new(false),
            shutdown,
            listeners: Mutex::new(Vec::new()),
            live_connections: AtomicUsize::new(0),
            connections_done: Notify::new(),
            engine_handler,
            refusals: Default::default(),
            connection_limits,
        });
        let server = Server { shared };
        // The default namespace always exists, as in socket.io.
        server.of("/");
        server
    }

    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    pub fn runtime(&self) -> &Handle {
        &self.shared.runtime
    }

    /// The namespace `name`, created on first use (`io.of("/chat")`).
    pub fn of(&self, name: &str) -> Arc<Namespace> {
        self.shared.of(name)
    }

    /// Like [`Server::of`], but a namespace this call creates already has `handler` when it
    /// becomes reachable, so no client can connect to it in between (language bindings install
    /// their [`crate::QueueHandler`] this way). An existing namespace gets `handler` too.
    pub fn of_with_handler(
        &self,
        name: &str,
        handler: Arc<dyn crate::NamespaceHandler>,
    ) -> Arc<Namespace> {
        let name = normalize(name);
        let created = {
            let mut map = self.shared.namespaces.write();
            if let Some(n) = map.get(&name) {
                n.set_handler(handler);
                return n.clone();
            }
            let nsp = Namespace::new(&name, &self.shared, None);
            nsp.set_handler(handler);
            map.insert(name, nsp.clone());
            nsp
        };
        self.shared.announce(&created);
        created
    }

    /// The default namespace `/` (`io.sockets`).
    pub fn sockets(&self) -> Arc<Namespace> {
        self.shared.of("/")
    }

    /// A dynamic namespace: any name `matcher` accepts becomes a child namespace on its first
    /// connection (`io.of(/^\/dyn-\d+$/)` or `io.of((name, auth, next) => ...)`).
    pub fn of_dynamic(&self, matcher: impl NamespaceMatcher) -> Arc<ParentNamespace> {
        let parent = ParentNamespace::new(
            Arc::new(matcher),
            self.shared.config.cleanup_empty_child_namespaces,
        );
        self.shared.parents.write().push(parent.clone());
        parent
    }

    /// The namespace `name`, created as a child of `parent` when it does not exist yet —
    /// socket.io's `io.of("/dynamic-101")` under `io.of(/^\/dynamic-\d+$/)`: the parent's
    /// handlers serve it, `parent.emit()` reaches it. Unlike a child a CONNECT created, it
    /// is not removed when a middleware refuses its only client (unless
    /// `cleanup_empty_child_namespaces`), and it is created even past `max_child_namespaces`
    /// (the server, not a client, asked for it).
    pub fn of_child(&self, parent: &Arc<ParentNamespace>, name: &str) -> Arc<Namespace> {
        let name = normalize(name);
        let shared = &self.shared;
        let created = {
            let mut map = shared.namespaces.write();
            if let Some(n) = map.get(&name) {
                return n.clone();
            }
            let nsp = shared.insert_child(&mut map, &shared.clone(), parent, &name);
            nsp.mark_kept();
            nsp
        };
        parent.add_child(&created);
        shared.announce(&created);
        created
    }

    /// Calls `f` for every namespace created from now on (`io.on("new_namespace")`).
    pub fn on_new_namespace(&self, f: impl Fn(&Arc<Namespace>) + Send + Sync + 'static) {
        self.shared.namespace_listeners.write().push(Arc::new(f));
    }

    /// Every namespace that exists now.
    pub fn namespaces(&self) -> Vec<Arc<Namespace>> {
        self.shared.namespaces.read().values().cloned().collect()
    }

    /// Serves one browser client bundle at `<path>socket.io.js` and `<path>socket.io.min.js`
    /// (socket.io's `serveClient`), with an `ETag` and compressed as the request accepts.
    pub fn serve_client(&self, bundle: Bytes) {
        self.serve_client_files(crate::ClientFiles::from_bundle(bundle));
    }

    /// Serves the client files (socket.io's `serveClient`): see [`crate::ClientFiles`].
    pub fn serve_client_files(&self, files: crate::ClientFiles) {
        *self.shared.client_files.write() = Some(files);
    }

    /// Answers requests outside the Socket.IO path on the native listener (404 otherwise).
    pub fn set_fallback(
        &self,
        f: impl Fn(&http::request::Parts) -> Option<http::Response<Bytes>> + Send + Sync + 'static,
    ) {
        *self.shared.fallback.write() = Some(Arc::new(f));
    }

    /// Hands every request outside the Socket.IO path to `host` (a web app on the same
    /// port, WebSocket included); [`Server::close`] lets its in-flight requests finish for up
    /// to `grace`. Fixed content from [`Server::set_fallback`] is answered first.
    pub fn set_http_host(&self, host: Arc<dyn HttpHost>, grace: Duration) {
        *self.shared.http_host.write() = Some(host);
        *self.shared.http_grace.lock() = grace.max(DEFAULT_DRAIN_GRACE);
    }

    /// Vets every handshake before a session opens (by Origin, a token, an address...).
    /// The function may answer later ([`Pending::Later`]) without blocking anything.
    pub fn set_allow_request(
        &self,
        f: impl Fn(&crate::handshake::RequestInfo) -> Pending<bool> + Send + Sync + 'static,
    ) {
        *self.shared.allow_request.write() = Some(Arc::new(f));
    }

    /// Whether the `allowRequest` hook (if any) lets this handshake through.
    pub async fn allows(&self, info: &crate::handshake::RequestInfo) -> bool {
        let hook = self.shared.allow_request.read().clone();
        match hook.map(|f| f(info)) {
            None | Some(Pending::Ready(true)) => true,
            Some(Pending::Ready(false)) => false,
            Some(Pending::Later(fut)) => fut.await,
        }
    }

    /// Live object counts.
    pub fn stats(&self) -> ServerStats {
        let namespaces = self.shared.namespaces.read();
        let (refused_connections, refused_sessions, timed_out_requests) =
            self.shared.refusals.counts();
        ServerStats {
            refused_connections,
            refused_sessions,
            timed_out_requests,
            sessions: self.shared.sessions.lock().len(),
            namespaces: namespaces.len(),
            sockets: namespaces.values().map(|n| n.socket_count()).sum(),
            rooms: namespaces
                .values()
                .map(|n| n.adapter().index().room_count())
                .sum(),
        }
    }

    /// Binds the native listener (HTTP long-polling and WebSocket) and serves in the
    /// background; returns the bound address (port 0 picks a free port).
    pub async fn listen(
        &self,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> std::io::Result<SocketAddr> {
        let mut last_error = None;
        for candidate in tokio::net::lookup_host(addr).await? {
            match bind_with_backlog(candidate) {
                Ok(listener) => return self.listen_on(listener),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to listen on")
        }))
    }

    /// Serves on an already bound listener.
    pub fn listen_on(&self, listener: tokio::net::TcpListener) -> std::io::Result<SocketAddr> {
        let local = listener.local_addr()?;
        let task = self
            .shared
            .runtime
            .spawn(crate::transport::http::accept_loop(self.clone(), listener));
        self.shared.listeners.lock().push(task);
        Ok(local)
    }

    /// Disconnects every socket with "server shutting down", flushes and closes every
    /// connection, closes the adapters and releases the listening ports.
    pub async fn close(&self) {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        // The ports are released before any client hears the goodbye: a client that saw its
        // disconnect may bind the port at once (socket.io's close() frees it synchronously).
        // The accept loops only accept; the connections they started run on their own tasks.
        let listeners: Vec<_> = std::mem::take(&mut *self.shared.listeners.lock());
        for l in listeners {
            l.abort();
            let _ = l.await;
        }
        // Broadcasts the hosts handed off before closing go out before the goodbyes.
        self.shared.hand_off.flush().await;
        for nsp in self.namespaces() {
            for s in nsp.sockets() {
                s.on_close(DisconnectReason::ServerShuttingDown);
            }
        }
        let sessions: Vec<Arc<EngineSession>> =
            self.shared.sessions.lock().values().cloned().collect();
        for s in sessions {
            s.close(CloseReason::ServerShuttingDown);
        }
        // Stored even with no receiver, so a listener started later still sees it.
        self.shared.shutdown.send_replace(true);
        // Give writers a bounded moment to flush what was queued before the close.
        let done = self.shared.connections_done.notified();
        tokio::pin!(done);
        done.as_mut().enable();
        if self.shared.live_connections.load(Ordering::Acquire) > 0 {
            let _ = tokio::time::timeout(self.shared.drain_grace(), done).await;
        }
        for nsp in self.namespaces() {
            nsp.adapter().close();
        }
    }

    /// Whether [`Server::close`] has been called.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closing()
    }

    pub(crate) fn shared(&self) -> &Arc<ServerShared> {
        &self.shared
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("stats", &self.stats())
            .finish()
    }
}
