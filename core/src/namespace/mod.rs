//! Namespaces: static (`of("/chat")`) and dynamic children of a [`ParentNamespace`].

mod local;
mod recipients;

use crate::adapter::RemoteSocket;
use crate::adapter::{Adapter, LocalNamespace, Room};
use crate::handlers::Handlers;
use crate::host::{NamespaceHandler, NamespaceMatcher};
use crate::id::Sid;
use crate::operator::BroadcastOperator;
use crate::server::ServerShared;
use crate::socket::{EmitError, SocketRef};
use crate::Payload;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use tokio::runtime::Handle;

/// A namespace: its connected sockets, its adapter (rooms) and its handler.
pub struct Namespace {
    me: Weak<Namespace>,
    name: String,
    server: Weak<ServerShared>,
    runtime: Handle,
    hand_off: Arc<crate::hand_off::HandOff>,
    sockets: RwLock<HashMap<Sid, SocketRef>>,
    adapter: Arc<dyn Adapter>,
    handler: RwLock<Arc<dyn NamespaceHandler>>,
    handlers: Arc<Handlers>,
    ack_ids: AtomicU64,
    parent: Option<Arc<ParentNamespace>>,
    parser: crate::socketio::parser::Parser,
    max_pending_acks: usize,
    recovery: Option<crate::recovery::RecoveryStore>,
    /// CONNECTs resolved to this namespace whose middlewares have not finished.
    admissions: AtomicUsize,
    /// Whether a socket ever joined, or the server created it (`of(name)` under a matching
    /// parent): a dynamic child that admitted nobody and was not asked for may be evicted.
    ever_joined: AtomicBool,
    /// Whether it waits in the server's queue of children a CONNECT at the cap may evict.
    eviction_queued: AtomicBool,
    /// Whether the server dropped it from its map (removed or evicted): a host or a parent
    /// may still hold it, but no client reaches it any more.
    removed: AtomicBool,
    /// Whether a language host must run middlewares of this namespace's own before a socket
    /// joins (see [`Namespace::set_has_middlewares`]).
    own_middlewares: AtomicU8,
    /// (per socket, per server) bytes of events that may wait for a language host.
    host_backlog_limits: (usize, usize),
    monitor: crate::monitor::MonitorSlot,
    /// Large broadcast selections kept between broadcasts.
    recipients: recipients::RecipientCache,
}

impl Namespace {
    pub(crate) fn host_backlog_limits(&self) -> (usize, usize) {
        self.host_backlog_limits
    }

    pub(crate) fn new(
        name: &str,
        server: &Arc<ServerShared>,
        parent: Option<Arc<ParentNamespace>>,
    ) -> Arc<Namespace> {
        let (handlers, handler): (Arc<Handlers>, Arc<dyn NamespaceHandler>) = match &parent {
            Some(p) => (p.handlers.clone(), p.handler.read().clone()),
            None => {
                let h = Arc::new(Handlers::default());
                (h.clone(), h)
            }
        };
        let own_middlewares = match &parent {
            Some(p) if p.host_decides_child_middlewares.load(Ordering::Acquire) => UNDECIDED,
            _ => NO_MIDDLEWARES,
        };
        let nsp = Arc::new_cyclic(|me| Namespace {
            me: me.clone(),
            name: name.to_string(),
            server: Arc::downgrade(server),
            runtime: server.runtime.clone(),
            hand_off: server.hand_off.clone(),
            sockets: RwLock::new(HashMap::new()),
            adapter: server.create_adapter(name),
            handler: RwLock::new(handler),
            handlers,
            ack_ids: AtomicU64::new(0),
            parent,
            parser: server.config.parser,
            max_pending_acks: server.config.max_pending_acks,
            host_backlog_limits: (
                server.config.max_host_backlog_per_socket,
                server.config.max_host_backlog,
            ),
            recovery: server
                .config
                .connection_state_recovery
                .map(crate::recovery::RecoveryStore::new),
            admissions: AtomicUsize::new(0),
            ever_joined: AtomicBool::new(false),
            eviction_queued: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            own_middlewares: AtomicU8::new(own_middlewares),
            monitor: server.monitor.clone(),
            recipients: recipients::RecipientCache::default(),
        });
        let view: Arc<dyn LocalNamespace> = nsp.clone();
        nsp.adapter.init(&view);
        nsp
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The connection state recovery store, when recovery is on.
    pub fn recovery(&self) -> Option<&crate::recovery::RecoveryStore> {
        self.recovery.as_ref()
    }

    /// How many acknowledgements one socket may be awaited for at once.
    pub(crate) fn max_pending_acks(&self) -> usize {
        self.max_pending_acks
    }

    /// The Socket.IO parser packets are encoded with.
    pub fn parser(&self) -> crate::socketio::parser::Parser {
        self.parser
    }

    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
    }

    /// The handler the core calls for this namespace's sockets.
    pub fn handler(&self) -> Arc<dyn NamespaceHandler> {
        self.handler.read().clone()
    }

    /// Replaces the handler (a language binding installs its [`crate::QueueHandler`]).
    pub fn set_handler(&self, handler: Arc<dyn NamespaceHandler>) {
        *self.handler.write() = handler;
    }

    /// The Rust closures of this namespace (shared with the parent for dynamic children).
    pub fn handlers(&self) -> &Arc<Handlers> {
        &self.handlers
    }

    /// The dynamic namespace this one was created from, if any.
    pub fn parent(&self) -> Option<&Arc<ParentNamespace>> {
        self.parent.as_ref()
    }

    /// The runtime the server's tasks run on.
    pub fn runtime(&self) -> &Handle {
        &self.runtime
    }

    pub(crate) fn hand_off(&self) -> &Arc<crate::hand_off::HandOff> {
        &self.hand_off
    }

    pub(crate) fn recipient_cache(&self) -> &recipients::RecipientCache {
        &self.recipients
    }

    /// A socket of this namespace was announced or changed how it takes broadcasts: kept
    /// selections are walked again.
    pub(crate) fn recipients_changed(&self) {
        self.recipients.sockets_changed();
    }

    /// The server's monitor, when it is instrumented.
    pub(crate) fn monitor(&self) -> Option<&Arc<dyn crate::monitor::SocketMonitor>> {
        self.monitor.get()
    }

    pub(crate) fn server(&self) -> Option<Arc<ServerShared>> {
        self.server.upgrade()
    }

    pub(crate) fn admission_started(&self) {
        self.admissions.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn admission_ended(&self) {
        self.admissions.fetch_sub(1, Ordering::AcqRel);
    }

    /// No CONNECT is on its way into this namespace.
    pub(crate) fn no_admission_pending(&self) -> bool {
        self.admissions.load(Ordering::Acquire) == 0
    }

    pub(crate) fn ever_joined(&self) -> bool {
        self.ever_joined.load(Ordering::Acquire)
    }

    /// A child the server created on purpose stays like one a socket joined.
    pub(crate) fn mark_kept(&self) {
        self.ever_joined.store(true, Ordering::Release);
    }

    pub(crate) fn weak(&self) -> Weak<Namespace> {
        self.me.clone()
    }

    /// A dynamic child nobody joined, with no socket and no CONNECT on its way in: one a
    /// CONNECT at `max_child_namespaces` may evict. Stable only under the server's map lock
    /// (CONNECTs start under it).
    pub(crate) fn evictable(&self) -> bool {
        self.parent.is_some()
            && !self.ever_joined()
            && self.socket_count() == 0
            && self.no_admission_pending()
    }

    /// Marks it queued for eviction; false when it already was. Called under the queue's lock.
    pub(crate) fn enter_eviction_queue(&self) -> bool {
        !self.eviction_queued.swap(true, Ordering::AcqRel)
    }

    pub(crate) fn leave_eviction_queue(&self) {
        self.eviction_queued.store(false, Ordering::Release);
    }

    /// The server dropped it from its map; called under the map's write lock.
    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
    }

    /// Whether the server dropped it (see [`crate::Server::on_namespace_removed`]).
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    /// Says whether this namespace has middlewares of its own, beyond its handler's (a
    /// dynamic child in a host where a `new_namespace` listener or `child.use()` may add
    /// some). [`crate::QueueHandler`] asks the host only when it has.
    pub fn set_has_middlewares(&self, yes: bool) {
        let state = if yes { HAS_MIDDLEWARES } else { NO_MIDDLEWARES };
        self.own_middlewares.store(state, Ordering::Release);
    }

    /// Whether a CONNECT must wait for the host's middlewares of this namespace: it has
    /// some, or it is a child the host has not seen yet, so it cannot know.
    pub fn host_may_have_middlewares(&self) -> bool {
        self.own_middlewares.load(Ordering::Acquire) != NO_MIDDLEWARES
    }

    /// Ack ids are per namespace, shared by socket emits and broadcasts, as in socket.io.
    pub fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// A connected socket by id.
    pub fn get_socket(&self, sid: &str) -> Option<SocketRef> {
        self.sockets.read().get(sid).cloned()
    }

    /// Runs `f` on the map of connected sockets, under its read lock (`f` must not connect
    /// or remove sockets).
    pub(crate) fn with_sockets<R>(&self, f: impl FnOnce(&HashMap<Sid, SocketRef>) -> R) -> R {
        f(&self.sockets.read())
    }

    /// Every connected socket.
    pub fn sockets(&self) -> Vec<SocketRef> {
        self.sockets.read().values().cloned().collect()
    }

    pub fn socket_count(&self) -> usize {
        self.sockets.read().len()
    }

    /// Registers a socket whose middlewares passed; it joins the room named by its id.
    pub(crate) fn add_socket(&self, socket: &SocketRef) {
        self.sockets
            .write()
            .insert(socket.id().clone(), socket.clone());
        self.recipients.sockets_changed();
        let own: Room = Arc::from(socket.id().as_str());
        self.adapter.index().add_all(socket.id(), [own]);
        self.ever_joined.store(true, Ordering::Release);
    }

    /// Takes the socket out; true when it was the last one (then call
    /// [`Namespace::left_empty`] once the host has heard of its disconnect).
    pub(crate) fn remove_socket(&self, sid: &Sid) -> bool {
        self.adapter.index().del_all(sid);
        let now_empty = {
            let mut sockets = self.sockets.write();
            sockets.remove(sid);
            sockets.is_empty()
        };
        self.recipients.clear();
        if now_empty {
            if let Some(server) = self.server() {
                server.namespace_emptied.notify_waiters();
            }
        }
        now_empty
    }

    /// `cleanupEmptyChildNamespaces`: the last socket left. Runs after the host was told of
    /// that socket's disconnect, so the host hears of the removal after it.
    pub(crate) fn left_empty(&self) {
        if self
            .parent
            .as_ref()
            .is_some_and(|p| p.cleanup_empty_children)
        {
            if let Some(server) = self.server() {
                server.remove_child_namespace(self);
            }
        }
    }

    // ---- Rust convenience API (closures) ----

    /// Adds a connection handler (`nsp.on("connection", ...)`).
    pub fn on_connection(&self, f: impl Fn(SocketRef) + Send + Sync + 'static) {
        self.handlers.on_connection(f);
    }

    /// Adds an asynchronous connection handler; the socket's events wait until it finishes.
    pub fn on_connection_async<F, Fut>(&self, f: F)
    where
        F: Fn(SocketRef) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.handlers.on_connection_async(f);
    }

    /// Adds a middleware (`nsp.use(...)`); an `Err` refuses the connection.
    pub fn use_middleware<F, Fut>(&self, f: F)
    where
        F: Fn(SocketRef) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), crate::ConnectError>> + Send + 'static,
    {
        self.handlers.use_middleware(f);
    }

    // ---- broadcasting ----

    /// An operator over the whole namespace.
    pub fn broadcast(self: &Arc<Self>) -> BroadcastOperator {
        BroadcastOperator::new(self.clone())
    }

    pub fn to<I, R>(self: &Arc<Self>, rooms: I) -> BroadcastOperator
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.broadcast().to(rooms)
    }

    /// Same as [`Namespace::to`] (socket.io's `in`).
    pub fn within<I, R>(self: &Arc<Self>, rooms: I) -> BroadcastOperator
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.broadcast().to(rooms)
    }

    pub fn except<I, R>(self: &Arc<Self>, rooms: I) -> BroadcastOperator
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.broadcast().except(rooms)
    }

    /// Emits to every socket of the namespace.
    pub fn emit(self: &Arc<Self>, event: &str, args: Payload) -> Result<(), EmitError> {
        self.broadcast().emit(event, args)
    }

    pub async fn fetch_sockets(self: &Arc<Self>) -> Result<Vec<RemoteSocket>, crate::AdapterError> {
        self.broadcast().fetch_sockets().await
    }

    pub fn sockets_join<I, R>(self: &Arc<Self>, rooms: I)
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.broadcast().sockets_join(rooms)
    }

    pub fn sockets_leave<I, R>(self: &Arc<Self>, rooms: I)
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.broadcast().sockets_leave(rooms)
    }

    pub fn disconnect_sockets(self: &Arc<Self>, close: bool) {
        self.broadcast().disconnect_sockets(close)
    }

    // ---- between servers ----

    /// Sends an event to this namespace on the other servers of the cluster
    /// (`nsp.serverSideEmit`); a no-op with the in-memory adapter.
    pub fn server_side_emit(self: &Arc<Self>, event: &str, args: Payload) -> Result<(), EmitError> {
        crate::socket::check_event(event, &args)?;
        if let Err(e) = self.adapter.server_side_emit(&**self, event, &args) {
            tracing::warn!(nsp = %self.name, error = %e, "serverSideEmit failed");
        }
        Ok(())
    }

    /// Like [`Namespace::server_side_emit`], collecting one answer per other server.
    pub fn server_side_emit_with_ack(
        self: &Arc<Self>,
        event: &str,
        args: Payload,
    ) -> Result<
        impl std::future::Future<Output = Result<Vec<Payload>, crate::AdapterError>> + Send + 'static,
        EmitError,
    > {
        crate::socket::check_event(event, &args)?;
        Ok(self
            .adapter
            .server_side_emit_with_ack(&**self, event, &args))
    }

    /// Handles an event sent by another server with `serverSideEmit` (Rust API).
    pub fn on_server_side(
        &self,
        event: impl Into<String>,
        f: impl Fn(&Arc<Namespace>, Payload, Option<crate::host::ServerSideAck>) + Send + Sync + 'static,
    ) {
        self.handlers.on_server_side(event, f);
    }

    /// Delivers a server-side event from the adapter to the namespace's handler.
    pub fn deliver_server_side(self: &Arc<Self>, event: crate::host::ServerSideEvent) {
        self.handler().server_side_event(self, event);
    }
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .finish()
    }
}

/// [`Namespace::own_middlewares`]: not said yet (a new child of a parent whose host decides).
const UNDECIDED: u8 = 0;
const NO_MIDDLEWARES: u8 = 1;
const HAS_MIDDLEWARES: u8 = 2;

/// A parent's children, in creation order. Removed ones are pruned when the list has doubled
/// since the last pruning: creating a child costs amortised O(1), however many exist.
#[derive(Default)]
struct Children {
    list: Vec<Weak<Namespace>>,
    prune_at: usize,
}

impl Children {
    fn push(&mut self, nsp: &Arc<Namespace>) {
        if self.list.len() >= self.prune_at {
            self.list
                .retain(|w| w.upgrade().is_some_and(|n| !n.is_removed()));
            self.prune_at = (self.list.len() * 2).max(16);
        }
        self.list.push(Arc::downgrade(nsp));
    }
}

/// A dynamic namespace (`of(regex)` / `of(predicate)`): children are created on first
/// connect and share its handler, middlewares and connection handlers.
pub struct ParentNamespace {
    pub(crate) matcher: Arc<dyn NamespaceMatcher>,
    handler: RwLock<Arc<dyn NamespaceHandler>>,
    handlers: Arc<Handlers>,
    children: Mutex<Children>,
    /// Remove a child when its last socket leaves (socket.io's `cleanupEmptyChildNamespaces`).
    pub(crate) cleanup_empty_children: bool,
    /// Whether each child's middlewares are known only once the host has seen the child.
    host_decides_child_middlewares: AtomicBool,
}

impl ParentNamespace {
    pub(crate) fn new(
        matcher: Arc<dyn NamespaceMatcher>,
        cleanup_empty_children: bool,
    ) -> Arc<ParentNamespace> {
        let handlers = Arc::new(Handlers::default());
        Arc::new(ParentNamespace {
            matcher,
            handler: RwLock::new(handlers.clone()),
            handlers,
            children: Mutex::new(Children::default()),
            cleanup_empty_children,
            host_decides_child_middlewares: AtomicBool::new(false),
        })
    }

    /// For hosts where a child gets middlewares of its own when the host first sees it
    /// (socket.io's `new_namespace` listeners may call `child.use()` before the child's first
    /// socket is admitted): a new child's CONNECTs wait for the host until it calls
    /// [`Namespace::set_has_middlewares`] on the child; with `false` there, the core admits
    /// the child's sockets without a round trip (unless the handler has middlewares).
    pub fn set_host_decides_child_middlewares(&self, yes: bool) {
        self.host_decides_child_middlewares
            .store(yes, Ordering::Release);
    }

    /// Replaces the handler its future children get.
    pub fn set_handler(&self, handler: Arc<dyn NamespaceHandler>) {
        *self.handler.write() = handler;
    }

    pub fn on_connection(&self, f: impl Fn(SocketRef) + Send + Sync + 'static) {
        self.handlers.on_connection(f);
    }

    pub fn on_connection_async<F, Fut>(&self, f: F)
    where
        F: Fn(SocketRef) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.handlers.on_connection_async(f);
    }

    pub fn use_middleware<F, Fut>(&self, f: F)
    where
        F: Fn(SocketRef) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), crate::ConnectError>> + Send + 'static,
    {
        self.handlers.use_middleware(f);
    }

    pub(crate) fn add_child(&self, nsp: &Arc<Namespace>) {
        self.children.lock().push(nsp);
    }

    /// The children that exist now (created and not removed since).
    pub fn children(&self) -> Vec<Arc<Namespace>> {
        self.children
            .lock()
            .list
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|n| !n.is_removed())
            .collect()
    }

    /// Emits to every socket of every child.
    pub fn emit(&self, event: &str, args: Payload) -> Result<(), EmitError> {
        for child in self.children() {
            child.emit(event, args.clone())?;
        }
        Ok(())
    }
}
