//! `NativeServer`: one roomcast server, its event queue, and the questions JavaScript answers.

use crate::engine_events::{EngineEvent, EngineEvents, NodeObserver};
use crate::event_batch::EventBatch;
use crate::http::HttpExchanges;
use crate::in_flight::InFlight;
use crate::mailbox::{Delivery, Mailbox, Waker};
use crate::namespace::NativeNamespace;
use crate::options::NativeOptions;
use crate::records::{self, Record};
use crate::replies::{Parked, Replies};
use crate::runtime;
use crate::websocket;
use napi_derive::napi;
use parking_lot::Mutex;
use roomcast::{
    ConnectError, EventQueue, HostEvent, ParentNamespace, Pending, QueueHandler, QueueMatcher,
    Server,
};
use std::collections::HashMap;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

/// How long closing waits for the attached server's connections to end after the core's own
/// close (which bounds its writers at 2 s and a WebSocket close handshake at 1 s).
const ATTACHED_CLOSE_BOUND: Duration = Duration::from_secs(3);
use tokio::sync::oneshot;

/// State shared by the JavaScript-facing object and the tasks it starts.
pub struct Shared {
    pub io: Server,
    pub queue: Arc<EventQueue>,
    pub mailbox: Arc<Mailbox>,
    pub waker: Arc<Waker>,
    /// A batch waiting for bytes its clients already sent (see `held_batch`).
    held: crate::held_batch::HeldBatch,
    /// Wakes JavaScript once the bytes a held batch waits for are handled.
    input_handled: roomcast::InputNotify,
    pub replies: Replies,
    handlers: Mutex<HashMap<u32, Arc<QueueHandler>>>,
    parents: Mutex<Vec<(Arc<ParentNamespace>, u32)>>,
    /// Cancels an HTTP request still being answered (the client went away).
    pub http: HttpExchanges,
    pub http_bodies: Mutex<HashMap<u64, crate::http::BodySender>>,
    pub websockets: Mutex<HashMap<u64, websocket::Conn>>,
    /// The attached server's requests and WebSockets whose last record is still to come.
    pub in_flight: Arc<InFlight>,
    /// WebSocket upgrades of the attached server whose descriptor the core took over.
    pub taken_over: std::sync::atomic::AtomicU64,
    /// Of those, the ones taken over as Node accepted them, before its `upgrade` event.
    pub taken_over_at_accept: std::sync::atomic::AtomicU64,
    /// Connections of an attached `https.Server` the core terminated TLS on and handed back
    /// to Node (their first request was not a Socket.IO WebSocket).
    pub tls_handed_back: std::sync::atomic::AtomicU64,
    /// The certificate and key of `setTls`.
    pub tls: parking_lot::RwLock<Option<roomcast::engineio::transport::tls::TlsSettings>>,
    /// Handshakes waiting for JavaScript's `allowRequest` verdict.
    allow_requests: Mutex<HashMap<u64, oneshot::Sender<bool>>>,
    next_allow_request: std::sync::atomic::AtomicU64,
    /// `io.engine`'s events; the core reports them once the first is enabled.
    engine_events: Arc<EngineEvents>,
    engine_observed: std::sync::atomic::AtomicBool,
    /// No sticky sessions: the directory settings applied when the own listener binds.
    route_sessions: Option<crate::options::NativeRouteSessions>,
}

impl Shared {
    pub(crate) fn parent_id(&self, parent: &Arc<ParentNamespace>) -> Option<u32> {
        self.parents
            .lock()
            .iter()
            .find(|(p, _)| Arc::ptr_eq(p, parent))
            .map(|(_, id)| *id)
    }
}

/// Live object counts (`io.engine.clientsCount` and leak checks).
#[napi(object)]
pub struct Stats {
    pub sessions: u32,
    pub namespaces: u32,
    pub sockets: u32,
    pub rooms: u32,
    /// Refusals since the start: connections past `maxConnections` / `maxConnectionsPerIp`,
    /// handshakes past `maxSessions`, requests past `httpHeaderTimeout` / `httpBodyTimeout`.
    pub refused_connections: f64,
    pub refused_sessions: f64,
    pub timed_out_requests: f64,
    /// WebSocket upgrades of the attached `http.Server` run natively from their descriptor
    /// since the start (the others are piped through JavaScript).
    pub taken_over_web_sockets: f64,
    /// Of those, the ones taken over as Node accepted the connection (the request head was
    /// already there), so Node never parsed it.
    pub taken_over_at_accept: f64,
    /// Connections of an attached `https.Server` whose TLS the core terminated and whose
    /// first request it handed back to Node.
    pub tls_handed_back: f64,
}

#[napi]
pub struct NativeServer {
    pub(crate) shared: Arc<Shared>,
}

fn token_of(t: f64) -> u64 {
    if t.is_finite() && t >= 0.0 {
        t as u64
    } else {
        0
    }
}

#[napi]
impl NativeServer {
    /// JavaScript reads the descriptor of [`NativeServer::take_wake_fd`] and calls `drain`
    /// whenever bytes arrive.
    #[napi(constructor)]
    pub fn new(options: NativeOptions) -> napi::Result<Self> {
        let rt = runtime::get()?;
        let waker = Waker::new().map_err(|e| {
            napi::Error::from_reason(format!("roomcast: cannot create its wake-up channel: {e}"))
        })?;
        let wake = waker.clone();
        let queue = EventQueue::new(move || wake.wake());
        let mailbox = Mailbox::new(waker.clone());
        let route_sessions = options.route_sessions.clone();
        let io = Server::with_runtime(options.to_config()?, rt.handle().clone());
        let announce = queue.clone();
        // Dynamic children are announced in order with their sockets' events, so JavaScript
        // knows a child before its first connection.
        io.on_new_namespace(move |nsp| {
            announce.push(HostEvent::NewNamespace {
                name: nsp.name().to_string(),
            })
        });
        // JavaScript drops its wrapper of a child the core removed or evicted, so its map
        // stays within max_child_namespaces too.
        let removals = queue.clone();
        io.on_namespace_removed(move |nsp| {
            removals.push(HostEvent::NamespaceRemoved { nsp: nsp.clone() })
        });
        let shared = Arc::new(Shared {
            io,
            queue,
            mailbox,
            input_handled: {
                let waker = waker.clone();
                Arc::new(move || waker.wake())
            },
            waker,
            held: Default::default(),
            replies: Replies::default(),
            handlers: Mutex::new(HashMap::new()),
            parents: Mutex::new(Vec::new()),
            http: HttpExchanges::default(),
            http_bodies: Mutex::new(HashMap::new()),
            websockets: Mutex::new(HashMap::new()),
            in_flight: Arc::new(InFlight::default()),
            taken_over: std::sync::atomic::AtomicU64::new(0),
            taken_over_at_accept: std::sync::atomic::AtomicU64::new(0),
            tls_handed_back: std::sync::atomic::AtomicU64::new(0),
            tls: parking_lot::RwLock::new(None),
            allow_requests: Mutex::new(HashMap::new()),
            next_allow_request: std::sync::atomic::AtomicU64::new(0),
            engine_events: Arc::new(EngineEvents::default()),
            engine_observed: std::sync::atomic::AtomicBool::new(false),
            route_sessions,
        });
        Ok(NativeServer { shared })
    }

    /// Creates (or finds) a static namespace and routes its events to JavaScript namespace
    /// `handler`.
    #[napi]
    pub fn register_namespace(&self, name: String, handler: u32) -> NativeNamespace {
        let s = &self.shared;
        let queue_handler = QueueHandler::new(handler as u64, s.queue.clone());
        s.handlers.lock().insert(handler, queue_handler.clone());
        // Installed before the namespace is reachable: no client can connect to it unseen.
        let nsp = s.io.of_with_handler(&name, queue_handler);
        NativeNamespace {
            nsp,
            queue: s.queue.clone(),
        }
    }

    /// Registers a dynamic namespace (`io.of(regex | function)`): JavaScript `handler` decides
    /// which names it accepts and handles the sockets of its children.
    #[napi]
    pub fn register_dynamic(&self, handler: u32) {
        let s = &self.shared;
        let parent = s.io.of_dynamic(QueueMatcher {
            id: handler as u64,
            queue: s.queue.clone(),
        });
        let queue_handler = QueueHandler::new(handler as u64, s.queue.clone());
        parent.set_handler(queue_handler.clone());
        // A "new_namespace" listener may give a child middlewares before its first socket is
        // admitted (socket.io runs them for that socket): JavaScript says per child.
        parent.set_host_decides_child_middlewares(true);
        s.handlers.lock().insert(handler, queue_handler);
        s.parents.lock().push((parent, handler));
    }

    /// `io.of(name)` for a name a RegExp parent matches: the namespace, made a child of the
    /// dynamic namespace `handler` when it does not exist yet (socket.io attaches it).
    #[napi]
    pub fn attach_child(&self, handler: u32, name: String) -> Option<NativeNamespace> {
        let s = &self.shared;
        let parent = s
            .parents
            .lock()
            .iter()
            .find(|(_, id)| *id == handler)
            .map(|(p, _)| p.clone())?;
        Some(NativeNamespace {
            nsp: s.io.of_child(&parent, &name),
            queue: s.queue.clone(),
        })
    }

    /// Whether the namespace's middlewares must run (when not, the core skips the round trip).
    #[napi]
    pub fn set_has_middlewares(&self, handler: u32, yes: bool) {
        if let Some(h) = self.shared.handlers.lock().get(&handler) {
            h.set_has_middlewares(yes);
        }
    }

    /// Everything queued since the last drain, oldest first; or a single `held` record when
    /// the batch waits for bytes its clients already sent (see `held_batch`): JavaScript then
    /// drains again on the next wake-up, or after a millisecond at the latest.
    #[napi]
    pub fn drain(&self) -> Vec<Record> {
        let s = &self.shared;
        let _entered = runtime::get().map(|rt| rt.enter());
        s.waker.begin_drain();
        let Some((events, deliveries)) = s
            .held
            .release(|| (s.queue.drain(), s.mailbox.take()), &s.input_handled)
        else {
            return vec![Record {
                kind: "held".to_string(),
                ..Default::default()
            }];
        };
        let mut out = Vec::with_capacity(events.len() + deliveries.len());
        // Consecutive client events travel as one record (see `event_batch`).
        let mut run = EventBatch::default();
        for e in events {
            match e {
                HostEvent::Event { socket, event, .. } => {
                    run.push(&socket, event);
                    if run.is_full() {
                        out.extend(run.take());
                    }
                }
                other => {
                    out.extend(run.take());
                    out.push(s.record(other));
                }
            }
        }
        out.extend(run.take());
        // A session's `engineConnection` goes before the events of this batch: one of them
        // may already be its first socket's, which JavaScript must see after it.
        let (first, rest): (Vec<Delivery>, Vec<Delivery>) = deliveries
            .into_iter()
            .partition(|d| matches!(d, Delivery::Engine(EngineEvent::Connection { .. })));
        if first.is_empty() {
            out.extend(rest.into_iter().map(records::delivery));
            return out;
        }
        let mut ordered: Vec<Record> = first.into_iter().map(records::delivery).collect();
        ordered.append(&mut out);
        ordered.extend(rest.into_iter().map(records::delivery));
        ordered
    }

    /// A middleware chain's verdict: no message means the socket may connect.
    #[napi]
    pub fn answer_authorize(&self, token: f64, message: Option<String>, data: Option<String>) {
        if let Some(Parked::Authorize(mut reply)) = self.shared.replies.take(token_of(token)) {
            reply.send(match message {
                None => Ok(()),
                Some(m) => {
                    let e = ConnectError::new(m);
                    Err(match data {
                        Some(d) => e.with_data(d),
                        None => e,
                    })
                }
            });
        }
    }

    /// The connection or disconnecting handlers have finished.
    #[napi]
    pub fn answer_done(&self, token: f64) {
        if let Some(Parked::Done(mut reply)) = self.shared.replies.take(token_of(token)) {
            let _entered = runtime::get().map(|rt| rt.enter());
            reply.send(());
        }
    }

    #[napi]
    pub fn answer_match(&self, token: f64, accept: bool) {
        if let Some(Parked::Match(mut reply)) = self.shared.replies.take(token_of(token)) {
            reply.send(accept);
        }
    }

    /// Serves the admin UI's namespace and reports this server to it (`instrument()`).
    #[napi]
    pub fn instrument(&self, options: crate::options::NativeAdmin) -> napi::Result<()> {
        use roomcast::admin::{AdminAuth, AdminMode, AdminOptions};
        let fail = |e: roomcast::admin::AdminError| napi::Error::from_reason(e.to_string());
        let auth = match (options.username, options.password_hash) {
            (Some(user), Some(hash)) => AdminAuth::basic(user, hash).map_err(fail)?,
            _ => AdminAuth::Disabled,
        };
        if !(options.stats_interval.is_finite() && options.stats_interval > 0.0) {
            return Err(napi::Error::from_reason(
                "the stats interval must be a positive number of milliseconds",
            ));
        }
        let mut admin = AdminOptions::new(auth)
            .namespace(options.namespace)
            .read_only(options.read_only)
            .mode(AdminMode::parse(&options.mode).map_err(fail)?)
            .stats_interval(std::time::Duration::from_secs_f64(
                options.stats_interval / 1000.0,
            ));
        if let Some(id) = options.server_id {
            admin = admin.server_id(id);
        }
        self.shared.io.instrument(admin).map_err(fail)
    }

    /// No sticky sessions for a server attached to an `http.Server` bound to `host:port`.
    #[napi]
    pub fn route_sessions_at(&self, host: String, port: u32) -> napi::Result<()> {
        let Some(route) = &self.shared.route_sessions else {
            return Ok(());
        };
        let ip: std::net::IpAddr = host
            .parse()
            .map_err(|e| napi::Error::from_reason(format!("roomcast: address {host}: {e}")))?;
        let port = u16::try_from(port).map_err(|_| {
            napi::Error::from_reason(format!("roomcast: port {port} is out of range"))
        })?;
        let rt = runtime::get()?;
        let _entered = rt.enter();
        route.apply(&self.shared.io, std::net::SocketAddr::new(ip, port))
    }

    /// Routes every handshake through JavaScript's `allowRequest` (an `allowRequest` record;
    /// answer with `answerAllowRequest`). The verdict is awaited on a task: nothing blocks.
    #[napi]
    pub fn enable_allow_request(&self) {
        let weak = Arc::downgrade(&self.shared);
        self.shared.io.set_allow_request(move |request| {
            let Some(shared) = weak.upgrade() else {
                return Pending::Ready(false);
            };
            let token = shared
                .next_allow_request
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            let (tx, rx) = oneshot::channel();
            shared.allow_requests.lock().insert(token, tx);
            shared.mailbox.push(Delivery::AllowRequest {
                token,
                request: request.clone(),
            });
            // A verdict that never comes (the server was dropped) refuses.
            Pending::Later(Box::pin(async move { rx.await.unwrap_or(false) }))
        });
    }

    /// Reports one of `io.engine`'s events (`connection` with the session's close,
    /// `connection_error`, `initial_headers`, `headers`) as `engine*` records from now on.
    /// The core reports nothing of the kind before the first call.
    #[napi]
    pub fn enable_engine_event(&self, event: String) -> napi::Result<()> {
        if !self.shared.engine_events.enable(&event) {
            return Err(napi::Error::from_reason(format!(
                "roomcast: io.engine has no \"{event}\" event to report"
            )));
        }
        if !self
            .shared
            .engine_observed
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            self.shared.io.set_engine_observer(Arc::new(NodeObserver {
                events: self.shared.engine_events.clone(),
                mailbox: Arc::downgrade(&self.shared.mailbox),
            }));
        }
        Ok(())
    }

    /// Closes Engine.IO session `sid` ("forced close"), with every socket on it.
    #[napi]
    pub fn close_engine_session(&self, sid: String) {
        if let Some(session) = self.shared.io.engine().session(&sid) {
            session.close(roomcast::engineio::CloseReason::ForcedClose);
        }
    }

    /// The headers `headers` / `initial_headers` listeners set, as `[name, value, ...]`.
    #[napi]
    pub fn answer_engine_headers(&self, token: f64, headers: Vec<String>) {
        let pairs = headers
            .chunks_exact(2)
            .map(|kv| (kv[0].clone(), kv[1].clone()))
            .collect();
        self.shared
            .engine_events
            .answer_headers(token_of(token), pairs);
    }

    #[napi]
    pub fn answer_allow_request(&self, token: f64, allow: bool) {
        if let Some(tx) = self.shared.allow_requests.lock().remove(&token_of(token)) {
            let _ = tx.send(allow);
        }
    }

    /// Binds the native listener (hyper + WebSocket in Rust, the fast path) and returns the
    /// bound port. Synchronous, so the port is known when `listen()` returns.
    #[napi]
    pub fn listen(&self, host: String, port: u32) -> napi::Result<u32> {
        let rt = runtime::get()?;
        let _entered = rt.enter();
        let port = u16::try_from(port).map_err(|_| {
            napi::Error::from_reason(format!("roomcast: port {port} is out of range (0-65535)"))
        })?;
        let addrs: Vec<std::net::SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| napi::Error::from_reason(format!("roomcast: cannot resolve {host}: {e}")))?
            .collect();
        let mut last_error = None;
        for addr in addrs {
            match roomcast::engineio::bind_listener(addr) {
                Ok(listener) => {
                    let tls = self.shared.tls.read().clone();
                    let served = match tls {
                        Some(tls) => self.shared.io.listen_tls_on(listener, tls),
                        None => self.shared.io.listen_on(listener),
                    };
                    let local = served.map_err(|e| {
                        napi::Error::from_reason(format!("roomcast: cannot listen on {addr}: {e}"))
                    })?;
                    if let Some(route) = &self.shared.route_sessions {
                        route.apply(&self.shared.io, local)?;
                    }
                    return Ok(local.port() as u32);
                }
                Err(e) => last_error = Some((addr, e)),
            }
        }
        Err(match last_error {
            Some((addr, e)) => {
                napi::Error::from_reason(format!("roomcast: cannot listen on {addr}: {e}"))
            }
            None => napi::Error::from_reason(format!("roomcast: {host} resolves to no address")),
        })
    }

    /// The read end of the wake-up channel (a Unix socket), for JavaScript to own and watch:
    /// readable means "call drain". Null after the first call.
    #[napi]
    pub fn take_wake_fd(&self) -> Option<i32> {
        self.shared.waker.take_reader_fd()
    }

    /// Disconnects everyone ("server shutting down"), closes every connection and the
    /// listener; a `closed` record with `token` follows.
    #[napi]
    pub fn close(&self, token: f64) -> napi::Result<()> {
        let rt = runtime::get()?;
        let shared = self.shared.clone();
        let token = token_of(token);
        rt.spawn(async move {
            shared.io.close().await;
            // Every session is closed; their HTTP answers and WebSocket ends are on the way.
            // A WebSocket may still spend its close handshake's bound after the core's close.
            if !shared.in_flight.idle_within(ATTACHED_CLOSE_BOUND).await {
                tracing::warn!("closing: some attached connections did not end in time; JavaScript destroys them");
            }
            shared.mailbox.push(Delivery::Closed { token });
        });
        Ok(())
    }

    /// Whether a request path belongs to Socket.IO (its path or the client bundle).
    #[napi]
    pub fn handles_path(&self, path: String) -> bool {
        self.shared.io.handles_path(&path)
    }

    #[napi]
    pub fn stats(&self) -> Stats {
        let st = self.shared.io.stats();
        Stats {
            sessions: st.sessions as u32,
            namespaces: st.namespaces as u32,
            sockets: st.sockets as u32,
            rooms: st.rooms as u32,
            refused_connections: st.refused_connections as f64,
            refused_sessions: st.refused_sessions as f64,
            timed_out_requests: st.timed_out_requests as f64,
            taken_over_web_sockets: self
                .shared
                .taken_over
                .load(std::sync::atomic::Ordering::Relaxed)
                as f64,
            taken_over_at_accept: self
                .shared
                .taken_over_at_accept
                .load(std::sync::atomic::Ordering::Relaxed)
                as f64,
            tls_handed_back: self
                .shared
                .tls_handed_back
                .load(std::sync::atomic::Ordering::Relaxed) as f64,
        }
    }

    /// An existing namespace by name (static, or a dynamic child already created).
    #[napi]
    pub fn namespace(&self, name: String) -> Option<NativeNamespace> {
        let s = &self.shared;
        s.io.namespaces()
            .into_iter()
            .find(|n| n.name() == name)
            .map(|nsp| NativeNamespace {
                nsp,
                queue: s.queue.clone(),
            })
    }

    /// Serves the files of socket.io-client's `dist` folder `dir` (version `version`) under
    /// the path, as socket.io's `serveClient` does.
    #[napi]
    pub fn serve_client_dist(&self, dir: String, version: String) -> napi::Result<()> {
        let files = roomcast::ClientFiles::from_dist(&dir, &version).map_err(|e| {
            napi::Error::from_reason(format!("roomcast: cannot read the client files: {e}"))
        })?;
        self.shared.io.serve_client_files(files);
        Ok(())
    }
}
