//! The Engine.IO server: its sessions, the native listener's limits, the hooks a host sets
//! (client files, fallback, an app on the same port, `allowRequest`) and shutdown.
//!
//! What happens to a new session is not this crate's business: a [`SessionAcceptor`] takes it
//! (the Socket.IO client in `roomcast`, or [`crate::SessionHandler`] for an Engine.IO-only
//! server, see [`EngineServer::new`]).

use crate::handshake::RequestInfo;
use crate::id::Sid;
use crate::observer::{ContextValue, EngineObserver, ExtraHeaders, RefusedRequest};
use crate::pending::Pending;
use crate::session::{CloseReason, EngineSession, SessionHandler, TransportKind};
use crate::transport::client_files::ClientFiles;
use crate::transport::host_http::HttpHost;
use crate::transport::limits::{default_max_connections, ConnectionLimits, Refusals};
use crate::EngineConfig;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify};

/// Takes over each new session: sets its handler ([`EngineSession::set_handler`]). The
/// handler calls [`EngineServer::release_session`] when the session closes.
pub trait SessionAcceptor: Send + Sync + 'static {
    /// `session` passed its handshake and is registered; its open packet is not sent yet.
    fn accept(&self, session: &Arc<EngineSession>, server: &EngineServer);
}

/// Answers HTTP requests outside the Engine.IO path (the native listener's fallback).
pub type HttpFallback =
    Arc<dyn Fn(&http::request::Parts) -> Option<http::Response<Bytes>> + Send + Sync>;

/// Decides whether a handshake may open a session (engine.io's `allowRequest`): a refusal is
/// answered 403 `{"code":4,"message":"Forbidden"}`.
pub type AllowRequest = Arc<dyn Fn(&RequestInfo) -> Pending<bool> + Send + Sync>;

/// What the Engine.IO layer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineStats {
    pub sessions: usize,
    /// TCP connections the native listener refused (`max_connections`,
    /// `max_connections_per_ip`) since the server started.
    pub refused_connections: u64,
    /// Handshakes refused with 503 (`max_sessions`).
    pub refused_sessions: u64,
    /// Requests cut off by `http_header_timeout` or `http_body_timeout`.
    pub timed_out_requests: u64,
}

/// How long closing waits for connections to flush, at the least.
const DEFAULT_DRAIN_GRACE: Duration = Duration::from_secs(2);

pub(crate) struct EngineShared {
    pub(crate) config: Arc<EngineConfig>,
    pub(crate) runtime: Handle,
    acceptor: Arc<dyn SessionAcceptor>,
    sessions: Mutex<HashMap<Sid, Arc<EngineSession>>>,
    pub(crate) client_files: RwLock<Option<ClientFiles>>,
    pub(crate) fallback: RwLock<Option<HttpFallback>>,
    /// The app answering other requests on the native listener, and how long closing
    /// waits for its in-flight requests.
    pub(crate) http_host: RwLock<Option<Arc<dyn HttpHost>>>,
    http_grace: Mutex<Duration>,
    allow_request: RwLock<Option<AllowRequest>>,
    observer: RwLock<Option<Arc<dyn EngineObserver>>>,
    traffic: std::sync::OnceLock<Arc<crate::traffic::TrafficMeter>>,
    directory: RwLock<Option<Arc<dyn crate::directory::SessionDirectory>>>,
    closing: AtomicBool,
    shutdown: watch::Sender<bool>,
    listeners: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    live_connections: AtomicUsize,
    connections_done: Notify,
    /// Numbers requests in the order they reached the server (see [`EngineShared::next_arrival`]).
    arrivals: AtomicU64,
    pub(crate) refusals: Refusals,
    /// Caps of the native listener.
    pub(crate) connection_limits: Arc<ConnectionLimits>,
}

impl EngineShared {
    /// The cluster's session directory, when requests may be handed to other nodes.
    pub(crate) fn directory(&self) -> Option<Arc<dyn crate::directory::SessionDirectory>> {
        self.directory.read().clone()
    }

    /// The next arrival number. Requests of one session may travel on different connections,
    /// which the runtime serves in any order; where the order decides an answer (two polls
    /// overlapping), the request that arrived first is handled as the first. A connection of
    /// the native listener takes its number when accepted (its first request arrived no
    /// earlier), a later request on it when hyper hands it over, a host's request when the
    /// host hands it over.
    pub(crate) fn next_arrival(&self) -> u64 {
        self.arrivals.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn session(&self, sid: &str) -> Option<Arc<EngineSession>> {
        self.sessions.lock().get(sid).cloned()
    }

    /// Whether `max_sessions` leaves room for one more (checked before a handshake; a burst
    /// of concurrent handshakes can pass it by the number in flight).
    pub(crate) fn has_room_for_session(&self) -> bool {
        self.config
            .max_sessions
            .is_none_or(|max| self.sessions.lock().len() < max)
    }

    fn remove_session(&self, sid: &Sid) {
        self.sessions.lock().remove(sid);
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
}

/// An Engine.IO v4 server (and v3 with [`EngineConfig::allow_eio3`]). Cheap to clone: clones
/// share the same server.
#[derive(Clone)]
pub struct EngineServer {
    pub(crate) shared: Arc<EngineShared>,
}

impl EngineServer {
    /// An Engine.IO-only server on the current tokio runtime: every session's messages go to
    /// `handler`, which answers with [`EngineSession::send`].
    ///
    /// # Panics
    /// Outside a tokio runtime; use [`EngineServer::with_runtime`] there.
    pub fn new(config: EngineConfig, handler: Arc<dyn SessionHandler>) -> EngineServer {
        EngineServer::with_runtime(config, handler, Handle::current())
    }

    /// [`EngineServer::new`] with tasks on `runtime`.
    pub fn with_runtime(
        config: EngineConfig,
        handler: Arc<dyn SessionHandler>,
        runtime: Handle,
    ) -> EngineServer {
        EngineServer::with_acceptor(config, runtime, crate::standalone::acceptor(handler))
    }

    /// A server whose new sessions go to `acceptor` (how a protocol on top of Engine.IO,
    /// such as Socket.IO, takes them over).
    pub fn with_acceptor(
        config: EngineConfig,
        runtime: Handle,
        acceptor: Arc<dyn SessionAcceptor>,
    ) -> EngineServer {
        let config = Arc::new(config);
        let (shutdown, _) = watch::channel(false);
        let connection_limits = ConnectionLimits::new(
            config
                .max_connections
                .unwrap_or_else(default_max_connections),
            config.max_connections_per_ip,
        );
        EngineServer {
            shared: Arc::new(EngineShared {
                config,
                runtime,
                acceptor,
                sessions: Mutex::new(HashMap::new()),
                client_files: RwLock::new(None),
                fallback: RwLock::new(None),
                http_host: RwLock::new(None),
                http_grace: Mutex::new(DEFAULT_DRAIN_GRACE),
                allow_request: RwLock::new(None),
                observer: RwLock::new(None),
                traffic: std::sync::OnceLock::new(),
                directory: RwLock::new(None),
                closing: AtomicBool::new(false),
                shutdown,
                listeners: Mutex::new(Vec::new()),
                live_connections: AtomicUsize::new(0),
                connections_done: Notify::new(),
                arrivals: AtomicU64::new(1),
                refusals: Default::default(),
                connection_limits,
            }),
        }
    }

    pub fn config(&self) -> &Arc<EngineConfig> {
        &self.shared.config
    }

    pub fn runtime(&self) -> &Handle {
        &self.shared.runtime
    }

    /// Creates a session, registers it and gives it to the acceptor.
    pub(crate) fn open_session(
        &self,
        transport: TransportKind,
        info: RequestInfo,
    ) -> Arc<EngineSession> {
        let session = EngineSession::new(self.shared.config.clone(), transport, info);
        self.shared
            .sessions
            .lock()
            .insert(session.sid.clone(), session.clone());
        if let Some(meter) = self.shared.traffic.get() {
            session.set_meter(meter);
            meter.connection();
        }
        let acceptor = self.shared.acceptor.clone();
        acceptor.accept(&session, self);
        if let Some(observer) = self.observer() {
            observer.connection(&session);
        }
        session
    }

    /// Forgets a closed session, as the reference does at once, except on long-polling
    /// when the client is still owed an answer: after a server-side close, the packets queued
    /// before it and the close (until a poll has taken them, bounded by the heartbeat so a
    /// vanished client cannot pin the sid); after the client's own close, the noop for a poll
    /// it sent with it (see [`EngineSession::client_close_settled`]).
    pub fn release_session(&self, session: &Arc<EngineSession>, reason: CloseReason) {
        if let Some(directory) = self.shared.directory() {
            directory.unregister(session.sid.as_str());
        }
        if let Some(meter) = self.shared.traffic.get() {
            meter.disconnection(reason.as_str());
        }
        if let Some(observer) = self.observer() {
            observer.closed(session, reason);
        }
        let config = session.config();
        let bound = match reason {
            _ if session.transport() != TransportKind::Polling => None,
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
            self.shared.remove_session(&session.sid);
            return;
        };
        let shared = self.shared.clone();
        let session = session.clone();
        self.shared.runtime.spawn(async move {
            let _ = tokio::time::timeout(bound, session.close_delivered()).await;
            shared.remove_session(&session.sid);
        });
    }

    /// The open session `sid`, if any.
    pub fn session(&self, sid: &str) -> Option<Arc<EngineSession>> {
        self.shared.session(sid)
    }

    /// Serves the client files at the Engine.IO path (socket.io's `serveClient`).
    pub fn serve_client_files(&self, files: ClientFiles) {
        *self.shared.client_files.write() = Some(files);
    }

    /// Answers requests outside the Engine.IO path on the native listener (404 otherwise).
    pub fn set_fallback(&self, f: HttpFallback) {
        *self.shared.fallback.write() = Some(f);
    }

    /// Hands every request outside the Engine.IO path to `host` (a web app on the same
    /// port, WebSocket included); closing lets its in-flight requests finish for up to
    /// `grace`. Fixed content from [`EngineServer::set_fallback`] is answered first.
    pub fn set_http_host(&self, host: Arc<dyn HttpHost>, grace: Duration) {
        *self.shared.http_host.write() = Some(host);
        *self.shared.http_grace.lock() = grace.max(DEFAULT_DRAIN_GRACE);
    }

    /// Vets every handshake before a session opens (by Origin, a token, an address...).
    pub fn set_allow_request(&self, f: AllowRequest) {
        *self.shared.allow_request.write() = Some(f);
    }

    /// Whether the `allowRequest` hook (if any) lets this handshake through.
    pub async fn allows(&self, info: &RequestInfo) -> bool {
        let hook = self.shared.allow_request.read().clone();
        let allowed = match hook {
            None => true,
            Some(f) => f(info).resolve().await,
        };
        if !allowed {
            if let Some(observer) = self.observer() {
                observer.connection_error(RefusedRequest {
                    error: crate::EngineError::Forbidden,
                    method: "GET".into(),
                    request: info.clone(),
                    context: vec![("message", ContextValue::Absent)],
                });
            }
        }
        allowed
    }

    /// Reports the server's connections, refusals and response headers to `observer`
    /// (engine.io's server events); replaces the previous one.
    pub fn set_observer(&self, observer: Arc<dyn EngineObserver>) {
        *self.shared.observer.write() = Some(observer);
    }

    /// Counts the traffic of every session, those open now and those to come, in `meter`
    /// (for monitoring). The first meter set stays; it is returned.
    pub fn set_traffic_meter(
        &self,
        meter: Arc<crate::traffic::TrafficMeter>,
    ) -> Arc<crate::traffic::TrafficMeter> {
        let meter = self.shared.traffic.get_or_init(|| meter).clone();
        let open: Vec<Arc<EngineSession>> = self.shared.sessions.lock().values().cloned().collect();
        for session in open {
            session.set_meter(&meter);
        }
        meter
    }

    /// Lets any node of a cluster answer any request: a request for a session this server
    /// does not hold is handed to the node `directory` names (no sticky sessions needed in
    /// front). Sessions opened from now on are registered.
    pub fn set_session_directory(&self, directory: Arc<dyn crate::directory::SessionDirectory>) {
        *self.shared.directory.write() = Some(directory);
    }

    /// Sessions open now, and how many of them are on long-polling (engine.io's
    /// `clientsCount`, the admin UI's `pollingClientsCount`).
    pub fn open_session_counts(&self) -> (usize, usize) {
        let sessions = self.shared.sessions.lock();
        let open = sessions.values().filter(|s| !s.is_closed());
        open.fold((0, 0), |(all, polling), s| {
            let on_polling = s.transport() == TransportKind::Polling;
            (all + 1, polling + usize::from(on_polling))
        })
    }

    pub(crate) fn observer(&self) -> Option<Arc<dyn EngineObserver>> {
        self.shared.observer.read().clone()
    }

    /// Tells the observer (if any) that a request was refused.
    pub(crate) fn report_refusal(
        &self,
        parts: &http::request::Parts,
        remote: Option<SocketAddr>,
        error: crate::EngineError,
        context: impl FnOnce() -> Vec<(&'static str, ContextValue)>,
    ) {
        if let Some(observer) = self.observer() {
            observer.connection_error(RefusedRequest {
                error,
                method: parts.method.to_string(),
                request: crate::transport::http::request_info(parts, remote),
                context: context(),
            });
        }
    }

    /// The headers the observer adds to a successful response: none, at once, unless it
    /// listens.
    pub(crate) async fn extra_headers(
        &self,
        parts: &http::request::Parts,
        remote: Option<SocketAddr>,
    ) -> ExtraHeaders {
        let initial = !parts
            .uri
            .query()
            .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "sid"));
        match self.observer() {
            Some(observer) if observer.wants_headers(initial) => {
                let info = crate::transport::http::request_info(parts, remote);
                observer
                    .headers(info, parts.method.as_str(), initial)
                    .resolve()
                    .await
            }
            _ => Vec::new(),
        }
    }

    pub fn stats(&self) -> EngineStats {
        let (refused_connections, refused_sessions, timed_out_requests) =
            self.shared.refusals.counts();
        EngineStats {
            sessions: self.shared.sessions.lock().len(),
            refused_connections,
            refused_sessions,
            timed_out_requests,
        }
    }

    /// Binds the native listener (HTTP long-polling and WebSocket) and serves in the
    /// background; returns the bound address (port 0 picks a free port).
    pub async fn listen(
        &self,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> std::io::Result<SocketAddr> {
        self.bind_and_serve(addr, None).await
    }

    /// [`EngineServer::listen`] serving HTTPS and `wss://`, terminating TLS with `tls`.
    pub async fn listen_tls(
        &self,
        addr: impl tokio::net::ToSocketAddrs,
        tls: crate::transport::tls::TlsSettings,
    ) -> std::io::Result<SocketAddr> {
        self.bind_and_serve(addr, Some(tls)).await
    }

    async fn bind_and_serve(
        &self,
        addr: impl tokio::net::ToSocketAddrs,
        tls: Option<crate::transport::tls::TlsSettings>,
    ) -> std::io::Result<SocketAddr> {
        let mut last_error = None;
        for candidate in tokio::net::lookup_host(addr).await? {
            match bind_listener(candidate) {
                Ok(listener) => return self.serve_listener(listener, tls),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to listen on")
        }))
    }

    /// Serves on an already bound listener.
    pub fn listen_on(&self, listener: tokio::net::TcpListener) -> std::io::Result<SocketAddr> {
        self.serve_listener(listener, None)
    }

    /// Serves HTTPS (and `wss://`) on an already bound listener, terminating TLS with `tls`.
    pub fn listen_tls_on(
        &self,
        listener: tokio::net::TcpListener,
        tls: crate::transport::tls::TlsSettings,
    ) -> std::io::Result<SocketAddr> {
        self.serve_listener(listener, Some(tls))
    }

    fn serve_listener(
        &self,
        listener: tokio::net::TcpListener,
        tls: Option<crate::transport::tls::TlsSettings>,
    ) -> std::io::Result<SocketAddr> {
        let local = listener.local_addr()?;
        let task = self
            .shared
            .runtime
            .spawn(crate::transport::http::accept_loop(
                self.clone(),
                listener,
                tls,
            ));
        self.shared.listeners.lock().push(task);
        Ok(local)
    }

    /// Closes every session ("server shutting down"), flushes what was queued and releases
    /// the ports.
    pub async fn close(&self) {
        if self.begin_close().await {
            self.finish_close().await;
        }
    }

    /// The first half of [`EngineServer::close`], for a server on top that has goodbyes of
    /// its own to queue before the sessions close: stops accepting and releases the ports.
    /// False when closing had already begun.
    pub async fn begin_close(&self) -> bool {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return false;
        }
        // The ports are released before any client hears the goodbye: a client that saw its
        // disconnect may bind the port at once (socket.io's close() frees it synchronously).
        // The accept loops only accept; the connections they started run on their own tasks.
        let listeners: Vec<_> = std::mem::take(&mut *self.shared.listeners.lock());
        for l in listeners {
            l.abort();
            let _ = l.await;
        }
        true
    }

    /// The second half of [`EngineServer::close`]: closes every session, then gives the
    /// connections a bounded moment to flush.
    pub async fn finish_close(&self) {
        let sessions: Vec<Arc<EngineSession>> =
            self.shared.sessions.lock().values().cloned().collect();
        for s in sessions {
            s.close(CloseReason::ServerShuttingDown);
        }
        // Stored even with no receiver, so a listener started later still sees it.
        self.shared.shutdown.send_replace(true);
        let done = self.shared.connections_done.notified();
        tokio::pin!(done);
        done.as_mut().enable();
        if self.shared.live_connections.load(Ordering::Acquire) > 0 {
            let _ = tokio::time::timeout(self.shared.drain_grace(), done).await;
        }
    }

    /// Whether closing has begun.
    pub fn is_closed(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire)
    }

    pub(crate) fn shared(&self) -> &Arc<EngineShared> {
        &self.shared
    }
}

impl std::fmt::Debug for EngineServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineServer")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Binds a listener as the native listener wants it (call within the runtime that will serve
/// it): address reuse, as Node does, so a restarted server takes its port back while old
/// connections linger; a deep accept queue, since with the default of 1024 a burst of connects
/// overflows it and clients wait for SYN retries (about a second); connections accepted once
/// their first bytes arrived (`TCP_DEFER_ACCEPT` on Linux). Hosts that bind themselves to learn
/// the port at once use it too.
pub fn bind_listener(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    {
        use std::os::fd::AsRawFd;
        if let Err(e) = defer_accept_until_data(socket.as_raw_fd()) {
            tracing::debug!(error = %e, "TCP_DEFER_ACCEPT not set");
        }
    }
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Hands a connection to the accept queue only once its first bytes arrived (Linux's
/// `TCP_DEFER_ACCEPT`), so connections are accepted in the order their requests came.
///
/// Accepted earlier, a connection's socket is writable at once, and the kernel reports it
/// ready from then on: its request, arriving later, would be read ahead of requests that
/// reached other connections before it (two clients' CONNECTs read in the reverse order
/// they were sent). A connection that sends nothing costs no task, no descriptor and no
/// place under `max_connections` until it does, or until the kernel hands it over anyway
/// after about 10 s of silence (the SYN-ACK retries the value allows); then the header
/// timeout applies as before.
///
/// `fd` is a TCP socket, bound or already listening (a host's listener too). Elsewhere than
/// on Linux this does nothing.
#[cfg(target_os = "linux")]
pub fn defer_accept_until_data(fd: std::os::fd::RawFd) -> std::io::Result<()> {
    let seconds: libc::c_int = 10;
    // SAFETY: an int option of the size passed; a descriptor that is not a TCP socket makes
    // the call fail, which is reported.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            std::ptr::addr_of!(seconds).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(all(unix, not(target_os = "linux")))]
pub fn defer_accept_until_data(_fd: std::os::fd::RawFd) -> std::io::Result<()> {
    Ok(())
}
