//! The Socket.IO server: its options, its namespaces, and the Engine.IO server under it
//! (sessions, the native listener, shutdown).

mod eviction;
mod hosting;
mod registry;

pub(crate) use registry::{Resolved, ServerShared};
pub use roomcast_engineio::{AllowRequest, HttpFallback};

use crate::adapter::{AdapterFactory, MemoryAdapter};
use crate::engineio::{EngineConfig, EngineServer};
use crate::host::{NamespaceMatcher, Pending};
use crate::namespace::{Namespace, ParentNamespace};
use crate::socket::DisconnectReason;
use crate::transport::host_http::HttpHost;
use bytes::Bytes;
use parking_lot::RwLock;
use registry::normalize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

/// Server options (socket.io's `ServerOptions`), with the reference defaults.
#[derive(Clone)]
pub struct ServerConfig {
    pub engine: EngineConfig,
    /// How long a connection may stay without joining a namespace (default 45 s).
    pub connect_timeout: Duration,
    /// Remove a dynamic child namespace when its last socket leaves.
    pub cleanup_empty_child_namespaces: bool,
    /// The most dynamic child namespaces that may exist at once (default 10,000). A CONNECT
    /// that would create one more evicts the oldest child nobody ever joined (one a
    /// middleware refused, with no CONNECT on its way in), or is refused with "Too many
    /// namespaces" when there is none.
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

/// How long closing waits for the adapters to send what they still hold.
const ADAPTER_CLOSE_BOUND: Duration = Duration::from_secs(5);

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
        Server::build(config, runtime)
    }

    fn build(config: ServerConfig, runtime: Handle) -> Server {
        crate::admin::mark_process_start();
        let shared = Arc::new_cyclic(|me| ServerShared {
            engine: EngineServer::with_acceptor(
                config.engine.clone(),
                runtime.clone(),
                crate::socketio::client::acceptor(me.clone()),
            ),
            hand_off: crate::hand_off::HandOff::new(&runtime),
            config,
            runtime,
            me: me.clone(),
            namespaces: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
            children: AtomicUsize::new(0),
            evictable: Default::default(),
            namespace_listeners: RwLock::new(Vec::new()),
            removal_listeners: RwLock::new(Vec::new()),
            monitor: Default::default(),
            instrumented: Default::default(),
            namespace_emptied: tokio::sync::Notify::new(),
        });
        let server = Server { shared };
        // The default namespace always exists, as in socket.io.
        server.of("/");
        server
    }

    /// The Engine.IO server under this one (sessions, transports, the native listener).
    pub fn engine(&self) -> &EngineServer {
        &self.shared.engine
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
    /// is never evicted (it is removed only by `cleanup_empty_child_namespaces`), and it is
    /// created even past `max_child_namespaces` (the server, not a client, asked for it).
    pub fn of_child(&self, parent: &Arc<ParentNamespace>, name: &str) -> Arc<Namespace> {
        let name = normalize(name);
        let shared = &self.shared;
        let created = {
            let mut map = shared.namespaces.write();
            if let Some(n) = map.get(&name) {
                // A child a client's CONNECT created is the server's from now on.
                if n.parent().is_some() {
                    n.mark_kept();
                }
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

    /// Calls `f` for every dynamic child the server drops from now on: emptied under
    /// `cleanup_empty_child_namespaces`, or evicted at `max_child_namespaces`. A child of the
    /// same name may be created again right after; compare with `Arc::ptr_eq`.
    pub fn on_namespace_removed(&self, f: impl Fn(&Arc<Namespace>) + Send + Sync + 'static) {
        self.shared.removal_listeners.write().push(Arc::new(f));
    }

    /// The namespace `name` if it exists now; never creates one.
    pub fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        self.shared.namespaces.read().get(&normalize(name)).cloned()
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
        self.shared.engine.serve_client_files(files);
    }

    /// Answers requests outside the Socket.IO path on the native listener (404 otherwise).
    pub fn set_fallback(
        &self,
        f: impl Fn(&http::request::Parts) -> Option<http::Response<Bytes>> + Send + Sync + 'static,
    ) {
        self.shared.engine.set_fallback(Arc::new(f));
    }

    /// Hands every request outside the Socket.IO path to `host` (a web app on the same
    /// port, WebSocket included); [`Server::close`] lets its in-flight requests finish for up
    /// to `grace`. Fixed content from [`Server::set_fallback`] is answered first.
    pub fn set_http_host(&self, host: Arc<dyn HttpHost>, grace: Duration) {
        self.shared.engine.set_http_host(host, grace);
    }

    /// Vets every handshake before a session opens (by Origin, a token, an address...).
    /// The function may answer later ([`Pending::Later`]) without blocking anything.
    pub fn set_allow_request(
        &self,
        f: impl Fn(&crate::handshake::RequestInfo) -> Pending<bool> + Send + Sync + 'static,
    ) {
        self.shared.engine.set_allow_request(Arc::new(f));
    }

    /// Reports Engine.IO connections, their close, refused requests and the headers a host
    /// adds to responses (engine.io's `connection`, `connection_error`, `initial_headers`
    /// and `headers` events) to `observer`. Nothing is reported without one.
    pub fn set_engine_observer(&self, observer: Arc<dyn crate::engineio::EngineObserver>) {
        self.shared.engine.set_observer(observer);
    }

    /// Whether the `allowRequest` hook (if any) lets this handshake through.
    pub async fn allows(&self, info: &crate::handshake::RequestInfo) -> bool {
        self.shared.engine.allows(info).await
    }

    /// Live object counts.
    pub fn stats(&self) -> ServerStats {
        let engine = self.shared.engine.stats();
        let namespaces = self.shared.namespaces.read();
        ServerStats {
            refused_connections: engine.refused_connections,
            refused_sessions: engine.refused_sessions,
            timed_out_requests: engine.timed_out_requests,
            sessions: engine.sessions,
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
        self.shared.engine.listen(addr).await
    }

    /// [`Server::listen`] serving HTTPS and `wss://`, terminating TLS with `tls` (see
    /// [`crate::transport::tls::TlsSettings::from_pem`]).
    pub async fn listen_tls(
        &self,
        addr: impl tokio::net::ToSocketAddrs,
        tls: crate::transport::tls::TlsSettings,
    ) -> std::io::Result<SocketAddr> {
        self.shared.engine.listen_tls(addr, tls).await
    }

    /// Serves on an already bound listener.
    pub fn listen_on(&self, listener: tokio::net::TcpListener) -> std::io::Result<SocketAddr> {
        self.shared.engine.listen_on(listener)
    }

    /// Serves HTTPS and `wss://` on an already bound listener: see
    /// [`crate::EngineServer::listen_tls_on`].
    pub fn listen_tls_on(
        &self,
        listener: tokio::net::TcpListener,
        tls: crate::transport::tls::TlsSettings,
    ) -> std::io::Result<SocketAddr> {
        self.shared.engine.listen_tls_on(listener, tls)
    }

    /// Disconnects every socket with "server shutting down", flushes and closes every
    /// connection, closes the adapters and releases the listening ports.
    pub async fn close(&self) {
        let engine = &self.shared.engine;
        if !engine.begin_close().await {
            return;
        }
        // Broadcasts the hosts handed off before closing go out before the goodbyes.
        self.shared.hand_off.flush().await;
        for nsp in self.namespaces() {
            for s in nsp.sockets() {
                s.on_close(DisconnectReason::ServerShuttingDown);
            }
        }
        engine.finish_close().await;
        // A host answers `disconnecting` later; a recoverable session the adapter keeps is
        // written after that, and must precede the adapters' close. Waited for only then: a
        // host that closes from its own event loop answers nothing until `close` returns.
        let keeps_sessions = self
            .namespaces()
            .iter()
            .any(|n| n.recovery().is_some() && n.adapter().session_store().is_some());
        if keeps_sessions {
            self.sockets_gone(tokio::time::Instant::now() + ADAPTER_CLOSE_BOUND)
                .await;
        }
        let namespaces = self.namespaces();
        for nsp in &namespaces {
            nsp.adapter().close();
        }
        // Sessions persisted by the goodbyes above may still be on their way to the cluster.
        let flushed =
            futures_util::future::join_all(namespaces.iter().map(|n| n.adapter().closed()));
        if tokio::time::timeout(ADAPTER_CLOSE_BOUND, flushed)
            .await
            .is_err()
        {
            tracing::warn!("adapters still sending after {ADAPTER_CLOSE_BOUND:?}: closing anyway");
        }
    }

    /// Waits until no namespace has a socket left, or `deadline`.
    async fn sockets_gone(&self, deadline: tokio::time::Instant) {
        loop {
            let emptied = self.shared.namespace_emptied.notified();
            tokio::pin!(emptied);
            emptied.as_mut().enable();
            if self.namespaces().iter().all(|n| n.socket_count() == 0) {
                return;
            }
            if tokio::time::timeout_at(deadline, emptied).await.is_err() {
                tracing::warn!("sockets still leaving when closing the adapters");
                return;
            }
        }
    }

    /// Whether [`Server::close`] has been called.
    pub fn is_closed(&self) -> bool {
        self.shared.engine.is_closed()
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("stats", &self.stats())
            .finish()
    }
}
