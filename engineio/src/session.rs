//! One Engine.IO session: its sid, its outbound queue, the transport it is on, the
//! heartbeat and the polling → WebSocket upgrade.
//!
//! Drivers (the native hyper/WebSocket listener, or a host's own HTTP server) only move
//! bytes: they hand inbound packets to [`EngineSession::on_packet`] and drain outbound frames
//! with [`EngineSession::poll`] (long-polling) or [`EngineSession::next_frames`] (WebSocket).

use super::packet::{Frame, Inbound, NOOP, PING};
use super::packet_events::{EnginePacket, PacketEvent};
use super::payload;
use super::EngineConfig;
use crate::handshake::RequestInfo;
use crate::id::Sid;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A poll that arrives during an upgrade waits until the WebSocket has read what the client
/// sent before it (a `5` makes the poll a 400), at most this long if that task is stuck.
const UPGRADE_CHECK_BOUND: Duration = Duration::from_secs(1);

/// How long a client's close (`1` by POST) still answers a poll with a noop when no poll was
/// waiting: a GET the client sent together with the close may be read after it. The POST is
/// answered only after this, so a poll sent after the answer finds the session gone.
const CLIENT_CLOSE_GRACE: Duration = Duration::from_millis(100);

/// The transport a session currently uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Polling,
    WebSocket,
}

impl TransportKind {
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// Why a session closed; the strings are the reference server's disconnect reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed the connection or sent an Engine.IO `close` packet.
    TransportClose,
    /// The connection failed (I/O error, overlapping polls, oversized body).
    TransportError,
    /// No pong within pingInterval + pingTimeout.
    PingTimeout,
    /// The client sent a packet that could not be decoded.
    ParseError,
    /// The server closed the session (every socket of it disconnected, or `close(true)`).
    ForcedClose,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The outbound queue passed its bound because the client does not read fast enough.
    SlowConsumer,
    /// The client's events waiting for the language host passed their bound.
    HostBacklogFull,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerShuttingDown => "server shutting down",
            CloseReason::SlowConsumer => "slow consumer",
            CloseReason::HostBacklogFull => "host backlog full",
        }
    }
}

/// An inbound message handed to the Socket.IO layer.
#[derive(Debug, Clone)]
pub enum Message<'a> {
    Text(&'a str),
    Binary(Bytes),
}

/// The layer above Engine.IO (Socket.IO's client) receives a session's messages through this.
pub trait SessionHandler: Send + Sync + 'static {
    /// The session was created and registered; its open packet is on its way.
    fn on_open(&self, _session: &Arc<EngineSession>) {}
    fn on_message(&self, session: &Arc<EngineSession>, message: Message<'_>);
    fn on_close(&self, session: &Arc<EngineSession>, reason: CloseReason);
    /// A WebSocket started probing this polling session (`done` false), or took over as its
    /// transport (`done` true).
    fn on_upgrade(&self, _session: &Arc<EngineSession>, _done: bool) {}
    /// A packet came or went, or the transport drained; only for sessions that asked with
    /// [`EngineSession::set_notify_packets`].
    fn on_packet_event(&self, _session: &Arc<EngineSession>, _event: PacketEvent) {}
}

/// Why a poll or post was refused; the driver answers 400 and the session is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    #[error("overlapping polling requests from the client")]
    Overlap,
    #[error("the session is not on the polling transport")]
    WrongTransport,
    /// The session ended (a poll took its close, its heartbeat deadline passed, or the
    /// client closed it): for the client it is unknown, even while its sid is still routable.
    #[error("the session has ended")]
    Gone,
}

struct State {
    transport: TransportKind,
    /// The client answered `3probe`; we wait for its `5`.
    upgrading: bool,
    queue: VecDeque<Frame>,
    /// Bytes of the frames in `queue`.
    queued_bytes: usize,
    closed: Option<CloseReason>,
    poll_waiting: bool,
    post_active: bool,
    /// A WebSocket is probing this session (only one may).
    probing: bool,
    /// A poll has answered the close.
    close_delivered: bool,
    /// The close found a poll waiting and nothing queued: that poll answers it alone (`1`).
    /// A close that must wait for the next poll is answered after a noop (`6␞1`), as
    /// engine.io's polling transport flushes a buffered close.
    close_found_poll: bool,
    /// The host turn (see `host_turn`) in which the last frame was queued.
    regular_turn: u64,
    closed_at: Option<Instant>,
    /// Polls that arrived during an upgrade ask the WebSocket to read what it has received
    /// (numbered); the WebSocket answers up to `checks_done`.
    checks_asked: u64,
    checks_done: u64,
    /// When the session times out unless the client's heartbeat comes first (v4: the pong
    /// to the ping sent; v3: the client's next ping). Requests compare their arrival with it,
    /// so a request read after the deadline cannot win over the timer task.
    heartbeat_deadline: Option<Instant>,
}

/// One Engine.IO session.
pub struct EngineSession {
    pub sid: Sid,
    /// Engine.IO protocol revision (4, or 3 for socket.io v2 clients).
    pub protocol: u8,
    /// A v3 polling client that takes binary payloads (no `b64=1`).
    pub supports_binary: bool,
    pub request: RequestInfo,
    config: Arc<EngineConfig>,
    state: Mutex<State>,
    /// Wakes a parked poll / the WebSocket writer when frames are queued or the state changes.
    wake: Notify,
    /// Signalled when a writer has taken everything from the queue.
    drained: Notify,
    /// Asks the probing WebSocket to read what it has received (see `checks_asked`).
    upgrade_check: Notify,
    /// Signalled once, by `close` (apart from `wake`, which every first push signals too).
    closed: Notify,
    /// Shared with the heartbeat task so it need not keep the session alive while it waits.
    pong: Arc<Notify>,
    handler: Mutex<Option<Arc<dyn SessionHandler>>>,
    /// Report packets to the handler ([`SessionHandler::on_packet_event`]); off unless a host
    /// listens, as each report copies a packet.
    notify_packets: AtomicBool,
}

impl EngineSession {
    /// Creates a session and starts its heartbeat. The caller registers it and sends the
    /// open packet ([`EngineSession::open_frame`]) first on its transport.
    pub fn new(
        config: Arc<EngineConfig>,
        transport: TransportKind,
        request: RequestInfo,
    ) -> Arc<EngineSession> {
        // Engine.IO v3 (socket.io v2 clients) says `EIO=3` or nothing, as the reference reads it.
        let protocol = if request.query_param("EIO") == Some("4") {
            4
        } else {
            3
        };
        let supports_binary = request.query_param("b64").is_none();
        let created = Instant::now();
        // v3: the client pings; v4: the server's first ping is due one interval from now.
        let first_deadline =
            (protocol == 3).then(|| created + config.ping_interval + config.ping_timeout);
        let session = Arc::new(EngineSession {
            sid: Sid::generate(),
            protocol,
            supports_binary,
            request,
            config,
            state: Mutex::new(State {
                transport,
                upgrading: false,
                queue: VecDeque::new(),
                queued_bytes: 0,
                closed: None,
                poll_waiting: false,
                post_active: false,
                probing: false,
                close_delivered: false,
                close_found_poll: false,
                regular_turn: 0,
                closed_at: None,
                checks_asked: 0,
                checks_done: 0,
                heartbeat_deadline: first_deadline,
            }),
            wake: Notify::new(),
            drained: Notify::new(),
            upgrade_check: Notify::new(),
            closed: Notify::new(),
            pong: Arc::new(Notify::new()),
            handler: Mutex::new(None),
            notify_packets: AtomicBool::new(false),
        });
        session.spawn_heartbeat(created);
        session
    }

    /// The handshake packet: sid, upgrades, heartbeat timings and maxPayload.
    pub fn open_frame(&self) -> Frame {
        let upgrades: &[&str] = match self.transport() {
            TransportKind::Polling if self.config.transports.websocket => &["websocket"],
            _ => &[],
        };
        super::packet::open_packet(
            self.sid.as_str(),
            upgrades,
            self.config.ping_interval.as_millis() as u64,
            self.config.ping_timeout.as_millis() as u64,
            self.config.max_http_buffer_size as u64,
        )
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn transport(&self) -> TransportKind {
        self.state.lock().transport
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed.is_some()
    }

    /// Number of frames waiting to be written.
    pub fn queued(&self) -> usize {
        self.state.lock().queue.len()
    }

    /// Whether the heartbeat deadline has passed; closes the session with "ping timeout" if
    /// so (the timer task may not have run yet).
    fn heartbeat_expired(self: &Arc<Self>, st: &State) -> bool {
        st.closed.is_none() && st.heartbeat_deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn spawn_heartbeat(self: &Arc<Self>, created: Instant) {
        let weak = Arc::downgrade(self);
        let interval = self.config.ping_interval;
        let timeout = self.config.ping_timeout;
        if self.protocol == 3 {
            // v3: the client pings; no ping within interval + timeout closes the session.
            tokio::spawn(async move {
                loop {
                    let Some(session) = weak.upgrade() else {
                        return;
                    };
                    if session.is_closed() {
                        return;
                    }
                    let pings = session.pong.clone();
                    drop(session);
                    let ping = pings.notified();
                    tokio::pin!(ping);
                    if tokio::time::timeout(interval + timeout, ping)
                        .await
                        .is_err()
                    {
                        if let Some(session) = weak.upgrade() {
                            session.close(CloseReason::PingTimeout);
                        }
                        return;
                    }
                }
            });
            return;
        }
        tokio::spawn(async move {
            let mut due = created + interval;
            loop {
                tokio::time::sleep_until(due.into()).await;
                let Some(session) = weak.upgrade() else {
                    return;
                };
                if session.is_closed() {
                    return;
                }
                let pong = session.pong.notified();
                tokio::pin!(pong);
                pong.as_mut().enable();
                // From when the ping was due, as the reference's timers count.
                let deadline = due + timeout;
                session.state.lock().heartbeat_deadline = Some(deadline);
                if session.send(PING).is_err() {
                    return;
                }
                if tokio::time::timeout_at(deadline.into(), pong).await.is_ok() {
                    due = Instant::now() + interval;
                } else {
                    session.close(CloseReason::PingTimeout);
                    return;
                }
            }
        });
    }

    /// Queues one frame. Fails when the session is closed.
    pub fn send(self: &Arc<Self>, frame: Frame) -> Result<(), CloseReason> {
        self.send_all(std::slice::from_ref(&frame))
    }

    /// Queues several frames back to back (a packet and its binary attachments).
    pub fn send_all(self: &Arc<Self>, frames: &[Frame]) -> Result<(), CloseReason> {
        let was_empty;
        {
            let mut st = self.state.lock();
            if let Some(reason) = st.closed {
                return Err(reason);
            }
            let bytes: usize = frames.iter().map(Frame::len).sum();
            was_empty = st.queue.is_empty();
            let over_frames = st.queue.len() + frames.len() > self.config.max_queued_frames;
            // An empty queue takes any one message, so the byte bound never refuses a message
            // the client could read at once.
            let over_bytes = !was_empty && st.queued_bytes + bytes > self.config.max_queued_bytes;
            if over_frames || over_bytes {
                let queued = (st.queue.len(), st.queued_bytes);
                drop(st);
                tracing::warn!(
                    sid = %self.sid,
                    queued_frames = queued.0,
                    queued_bytes = queued.1,
                    max_frames = self.config.max_queued_frames,
                    max_bytes = self.config.max_queued_bytes,
                    "outbound queue full: disconnecting a client that does not read (slow consumer)"
                );
                self.close(CloseReason::SlowConsumer);
                return Err(CloseReason::SlowConsumer);
            }
            st.queued_bytes += bytes;
            st.queue.extend(frames.iter().cloned());
            st.regular_turn = super::host_turn::current();
        }
        if self.notify_packets.load(Ordering::Relaxed) {
            for frame in frames {
                self.report(PacketEvent::Created(EnginePacket::sent(frame)));
            }
        }
        // Every consumer drains the whole queue, so only the push that made it non-empty
        // needs to wake one; later pushes are picked up by that same wake-up.
        if was_empty && !super::wake_batch::defer(self) {
            self.wake_writer();
        }
        Ok(())
    }

    /// Wakes a parked poll or WebSocket writer to take the queued frames.
    pub(super) fn wake_writer(&self) {
        self.wake.notify_waiters();
    }

    /// Queues frames only if the transport can take them right now (socket.io's `volatile`):
    /// nothing is waiting in the queue, i.e. the client is reading as fast as we write, and —
    /// for a host that ends its turns (see `host_turn`) — nothing was queued in the host's
    /// current turn. A client with a backlog (a slow reader, or a poll not yet re-issued after
    /// a burst) misses the packet instead of growing the backlog.
    pub fn send_volatile(self: &Arc<Self>, frames: &[Frame]) -> bool {
        {
            let st = self.state.lock();
            let turn = super::host_turn::current();
            let sent_this_turn = turn != 0 && st.regular_turn == turn;
            if st.closed.is_some() || !st.queue.is_empty() || sent_this_turn {
                return false;
            }
        }
        // A volatile packet that goes out makes the transport busy as a regular one does.
        self.send_all(frames).is_ok()
    }

    /// Feeds one inbound Engine.IO packet from any transport.
    pub fn on_packet(self: &Arc<Self>, packet: Inbound<'_>) {
        if self.notify_packets.load(Ordering::Relaxed) {
            self.report(PacketEvent::Received(EnginePacket::received(&packet)));
        }
        match packet {
            Inbound::Pong(_) if self.protocol == 3 => self.close(CloseReason::TransportError),
            Inbound::Pong(_) => {
                self.state.lock().heartbeat_deadline = None;
                self.pong.notify_one();
            }
            Inbound::Ping(data) if self.protocol == 3 => {
                let config = &self.config;
                self.state.lock().heartbeat_deadline =
                    Some(Instant::now() + config.ping_interval + config.ping_timeout);
                let _ = self.send(Frame::text(format!("3{data}")));
                self.pong.notify_one();
            }
            Inbound::Ping(_) => {
                // In v4 only the server pings; engine.io treats a client ping as an error
                // ("invalid heartbeat direction"). The upgrade probe is handled by the driver.
                self.close(CloseReason::TransportError);
            }
            Inbound::Message(text) => {
                if let Some(h) = self.handler() {
                    h.on_message(self, Message::Text(text));
                }
            }
            Inbound::Binary(bytes) => {
                if let Some(h) = self.handler() {
                    h.on_message(self, Message::Binary(bytes));
                }
            }
            Inbound::Close => self.close(CloseReason::TransportClose),
            Inbound::Open | Inbound::Upgrade | Inbound::Noop => {}
        }
    }

    /// Reports every packet received and queued, and each drain, to the handler from now on.
    pub fn set_notify_packets(&self, on: bool) {
        self.notify_packets.store(on, Ordering::Relaxed);
    }

    fn report(self: &Arc<Self>, event: PacketEvent) {
        if let Some(h) = self.handler() {
            h.on_packet_event(self, event);
        }
    }

    /// After a transport took the queue.
    fn drained_by_transport(self: &Arc<Self>) {
        if self.notify_packets.load(Ordering::Relaxed) {
            self.report(PacketEvent::Drain);
        }
    }

    /// Installs the layer above (done once, right after creation).
    pub fn set_handler(&self, handler: Arc<dyn SessionHandler>) {
        *self.handler.lock() = Some(handler);
    }

    fn handler(&self) -> Option<Arc<dyn SessionHandler>> {
        self.handler.lock().clone()
    }

    /// Closes the session once; later calls are ignored. Wakes every parked reader.
    ///
    /// On long-polling, the queued packets are still answered, then the `close` packet in a
    /// response of its own (a client handles it before the packets of the same payload), or
    /// a noop when the client closed.
    pub fn close(self: &Arc<Self>, reason: CloseReason) {
        {
            let mut st = self.state.lock();
            if st.closed.is_some() {
                return;
            }
            st.closed = Some(reason);
            st.closed_at = Some(Instant::now());
            st.close_found_poll = st.poll_waiting && st.queue.is_empty();
        }
        self.wake.notify_waiters();
        self.closed.notify_waiters();
        if let Some(h) = self.handler.lock().take() {
            h.on_close(self, reason);
        }
    }

    // ---- long-polling ----

    /// Answers a polling GET: the queued frames, parking until there are some.
    /// After close it answers the `close` packet.
    /// The body is binary (`application/octet-stream`) only for v3 clients that take binary.
    pub async fn poll(self: &Arc<Self>) -> Result<(Vec<u8>, bool), PollError> {
        let check;
        {
            let mut st = self.state.lock();
            self.check_alive(&mut st)?;
            if st.transport != TransportKind::Polling {
                return Err(PollError::WrongTransport);
            }
            if st.poll_waiting {
                drop(st);
                self.close(CloseReason::TransportError);
                return Err(PollError::Overlap);
            }
            st.poll_waiting = true;
            // The client's `5` may already be on the WebSocket, unread by its task: that
            // task reads what it has before it answers this check.
            check = st.upgrading.then(|| {
                st.checks_asked += 1;
                (st.checks_asked, Instant::now() + UPGRADE_CHECK_BOUND)
            });
        }
        if check.is_some() {
            self.upgrade_check.notify_one();
        }
        // If the client gives up on the request, the session is dead (the reference closes
        // it with "transport error").
        let mut guard = PollGuard {
            session: self,
            done: false,
        };
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let holding;
            {
                let mut st = self.state.lock();
                if !st.queue.is_empty() {
                    let frames: Vec<Frame> = st.queue.drain(..).collect();
                    st.queued_bytes = 0;
                    st.poll_waiting = false;
                    guard.done = true;
                    drop(st);
                    self.drained.notify_waiters();
                    self.drained_by_transport();
                    return Ok(self.encode_payload(&frames));
                }
                if let Some(reason) = st.closed {
                    st.poll_waiting = false;
                    st.close_delivered = true;
                    guard.done = true;
                    let found_poll = st.close_found_poll;
                    drop(st);
                    self.drained.notify_waiters();
                    let last: Vec<Frame> = match reason {
                        CloseReason::TransportClose => vec![NOOP],
                        // engine.io discards the transport on shutdown and sends nothing to
                        // a later poll; a close packet tells the client more.
                        CloseReason::ServerShuttingDown => vec![super::packet::CLOSE],
                        _ if found_poll => vec![super::packet::CLOSE],
                        _ => vec![NOOP, super::packet::CLOSE],
                    };
                    return Ok(self.encode_payload(&last));
                }
                let upgraded = st.transport != TransportKind::Polling;
                if upgraded && check.is_some() {
                    // The client's `5` came before this poll: polling is over for it.
                    st.poll_waiting = false;
                    guard.done = true;
                    return Err(PollError::WrongTransport);
                }
                let checking = check.is_some_and(|(ticket, bound)| {
                    st.checks_done < ticket && Instant::now() < bound
                });
                if (st.upgrading && !checking) || upgraded {
                    // Releases the pending GET so the client can finish the upgrade.
                    st.poll_waiting = false;
                    guard.done = true;
                    return Ok(self.encode_payload(&[NOOP]));
                }
                holding = st.upgrading && checking;
            }
            match check {
                Some((_, bound)) if holding => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(bound.into()) => {}
                    }
                }
                _ => notified.await,
            }
        }
    }

    /// Refuses a request to a session that has ended for the client, though its sid may
    /// still be routable: a poll took the close, the heartbeat deadline passed before the
    /// request was read, or the client's own close was answered.
    fn check_alive(
        self: &Arc<Self>,
        st: &mut parking_lot::MutexGuard<'_, State>,
    ) -> Result<(), PollError> {
        if self.heartbeat_expired(st) {
            parking_lot::MutexGuard::unlocked(st, || self.close(CloseReason::PingTimeout));
            return Err(PollError::Gone);
        }
        let client_close_over = st.closed == Some(CloseReason::TransportClose)
            && st
                .closed_at
                .is_some_and(|at| at.elapsed() >= CLIENT_CLOSE_GRACE);
        if st.close_delivered || client_close_over {
            return Err(PollError::Gone);
        }
        Ok(())
    }

    /// After a POST that carried the client's close: waits until a poll the client sent
    /// with it has taken the noop, or the grace for one has passed, so the POST's answer
    /// comes after both and a poll sent after that answer finds the session gone.
    pub async fn client_close_settled(&self) {
        let deadline = {
            let st = self.state.lock();
            match (st.closed, st.closed_at) {
                (Some(CloseReason::TransportClose), Some(at))
                    if st.transport == TransportKind::Polling && !st.close_delivered =>
                {
                    at + CLIENT_CLOSE_GRACE
                }
                _ => return,
            }
        };
        let _ = tokio::time::timeout_at(deadline.into(), self.close_delivered()).await;
    }

    /// Marks a polling POST as in progress (before its body is read). A second POST while
    /// one is in progress closes the session, as in engine.io.
    pub fn begin_post(self: &Arc<Self>) -> Result<PostGuard<'_>, PollError> {
        {
            let mut st = self.state.lock();
            self.check_alive(&mut st)?;
            if st.transport != TransportKind::Polling && !st.upgrading {
                return Err(PollError::WrongTransport);
            }
            if st.post_active {
                drop(st);
                self.close(CloseReason::TransportError);
                return Err(PollError::Overlap);
            }
            st.post_active = true;
        }
        Ok(PostGuard { session: self })
    }

    /// Encodes frames as a polling response body for this session's protocol.
    pub fn encode_payload(&self, frames: &[Frame]) -> (Vec<u8>, bool) {
        if self.protocol == 3 {
            super::payload_v3::encode(frames, self.supports_binary)
        } else {
            (payload::encode(frames), false)
        }
    }

    /// Handles a polling POST body (bounded by the driver). `binary` is a v3 client's
    /// `application/octet-stream` payload.
    pub fn post(self: &Arc<Self>, body: &[u8], binary: bool) {
        let decoded = match (self.protocol, binary) {
            (3, true) => super::payload_v3::decode_binary_payload(body),
            (3, false) => std::str::from_utf8(body)
                .map_err(|_| super::packet::PacketError::BadLength)
                .and_then(super::payload_v3::decode_text_payload),
            _ => std::str::from_utf8(body)
                .map_err(|_| super::packet::PacketError::Empty)
                .and_then(payload::decode),
        };
        match decoded {
            Ok(packets) => {
                for p in packets {
                    self.on_packet(p);
                }
            }
            Err(e) => {
                tracing::debug!(sid = %self.sid, error = %e, "malformed polling payload");
                self.close(CloseReason::ParseError);
            }
        }
    }

    /// A WebSocket may start probing this session: it is on polling and no other probe runs.
    /// The claim ends when the returned [`Probe`] finishes the upgrade or is dropped.
    pub fn try_begin_probe(self: &Arc<Self>) -> Option<Probe> {
        let mut st = self.state.lock();
        if st.transport != TransportKind::Polling || st.probing || st.closed.is_some() {
            return None;
        }
        st.probing = true;
        Some(Probe {
            session: self.clone(),
            finished: false,
        })
    }

    // ---- WebSocket ----

    /// The client sent `2probe` on a new WebSocket: from now on a parked poll is released.
    pub fn start_upgrade(self: &Arc<Self>) {
        self.state.lock().upgrading = true;
        self.wake.notify_waiters();
        if let Some(h) = self.handler() {
            h.on_upgrade(self, false);
        }
    }

    /// For the probing WebSocket: resolves when a poll asks it to read what it has received.
    pub async fn upgrade_check_asked(&self) {
        self.upgrade_check.notified().await;
    }

    /// The probing WebSocket has read everything it had received, without a `5`: the polls
    /// that asked so far may be answered.
    pub fn upgrade_checked(&self) {
        {
            let mut st = self.state.lock();
            st.checks_done = st.checks_asked;
        }
        self.wake.notify_waiters();
    }

    /// The client sent `5`: the WebSocket becomes the transport and takes over the queue.
    ///
    /// Also when the session closed during the probe: the client paused polling for the
    /// upgrade and now reads only the WebSocket, so whatever the close left queued (a
    /// DISCONNECT) goes out there before it closes, as engine.io flushes its write buffer on
    /// the new transport. No poll will fetch the close any more, so the sid need not wait
    /// for one.
    fn finish_upgrade(self: &Arc<Self>) {
        {
            let mut st = self.state.lock();
            st.upgrading = false;
            st.transport = TransportKind::WebSocket;
            if st.closed.is_some() {
                st.close_delivered = true;
            }
        }
        self.wake.notify_waiters();
        self.drained.notify_waiters();
        if let Some(h) = self.handler() {
            h.on_upgrade(self, true);
        }
    }

    /// The probe ended before `5`: stay on polling, and let a later WebSocket probe again.
    fn abort_upgrade(self: &Arc<Self>) {
        {
            let mut st = self.state.lock();
            if st.transport != TransportKind::Polling {
                return;
            }
            st.upgrading = false;
            st.probing = false;
        }
        // A poll held for the probe's check need not wait for a WebSocket that is gone.
        self.wake.notify_waiters();
    }

    /// For the WebSocket writer: waits for queued frames and takes them all. `None` once the
    /// session is closed and drained.
    pub async fn next_frames(self: &Arc<Self>, into: &mut Vec<Frame>) -> Option<()> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.state.lock();
                if st.transport == TransportKind::WebSocket && !st.queue.is_empty() {
                    into.extend(st.queue.drain(..));
                    st.queued_bytes = 0;
                    drop(st);
                    self.drained.notify_waiters();
                    self.drained_by_transport();
                    return Some(());
                }
                if st.closed.is_some() {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Resolves once a closed polling session has answered its last poll (the queued packets,
    /// then the close), so its sid must stay routable until then.
    pub async fn close_delivered(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.state.lock().close_delivered {
                return;
            }
            notified.await;
        }
    }

    /// Resolves once the session is closed because its peer stopped reading or answering
    /// (slow consumer, ping timeout); never for other reasons, whose writers finish normally.
    pub async fn stalled(&self) {
        loop {
            let notified = self.closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.state.lock().closed {
                Some(CloseReason::SlowConsumer | CloseReason::PingTimeout) => return,
                Some(_) => break,
                None => {}
            }
            notified.await;
        }
        std::future::pending().await
    }

    /// The reason the session closed, if it did.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.state.lock().closed
    }
}

/// Ends a POST's in-progress mark when dropped.
pub struct PostGuard<'a> {
    session: &'a Arc<EngineSession>,
}

impl Drop for PostGuard<'_> {
    fn drop(&mut self) {
        self.session.state.lock().post_active = false;
    }
}

/// A WebSocket's claim on the upgrade of a polling session (only one exists at a time).
///
/// Dropped without [`Probe::finish`] — the 101 never reached the client, the WebSocket closed
/// or erred before `5`, the upgrade timed out, or its task ended — it gives the claim back,
/// so the session goes on over polling and the client can probe again.
pub struct Probe {
    session: Arc<EngineSession>,
    finished: bool,
}

impl Probe {
    pub fn session(&self) -> &Arc<EngineSession> {
        &self.session
    }

    /// The client sent `5`: the WebSocket becomes the transport (see `finish_upgrade`).
    pub fn finish(mut self) -> Arc<EngineSession> {
        self.finished = true;
        self.session.finish_upgrade();
        self.session.clone()
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if !self.finished {
            self.session.abort_upgrade();
        }
    }
}

struct PollGuard<'a> {
    session: &'a Arc<EngineSession>,
    done: bool,
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.session.state.lock().poll_waiting = false;
            self.session.close(CloseReason::TransportError);
        }
    }
}

impl std::fmt::Debug for EngineSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSession")
            .field("sid", &self.sid)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(max_queued_bytes: usize) -> Arc<EngineSession> {
        session_on(TransportKind::WebSocket, max_queued_bytes)
    }

    fn session_on(transport: TransportKind, max_queued_bytes: usize) -> Arc<EngineSession> {
        let config = EngineConfig {
            max_queued_bytes,
            ..EngineConfig::default()
        };
        let request = RequestInfo {
            query: vec![("EIO".into(), "4".into())],
            ..Default::default()
        };
        EngineSession::new(Arc::new(config), transport, request)
    }

    async fn poll_text(s: &Arc<EngineSession>) -> String {
        let (body, _) = s.poll().await.expect("a poll answer");
        String::from_utf8(body).expect("text payload")
    }

    #[tokio::test]
    async fn a_close_that_waits_for_a_poll_is_answered_after_a_noop() {
        // As engine.io's polling transport: a close buffered while no GET is pending goes out
        // as `6␞1` on the next one, also after the packets queued before it.
        let s = session_on(TransportKind::Polling, 1000);
        s.send(Frame::message("0{}")).expect("queued");
        s.close(CloseReason::ForcedClose);
        assert_eq!(poll_text(&s).await, "40{}");
        assert_eq!(poll_text(&s).await, "6\u{1e}1");

        let s = session_on(TransportKind::Polling, 1000);
        s.close(CloseReason::ForcedClose);
        assert_eq!(poll_text(&s).await, "6\u{1e}1");
    }

    #[tokio::test]
    async fn a_close_that_finds_a_poll_waiting_answers_it_alone() {
        let s = session_on(TransportKind::Polling, 1000);
        let waiting = tokio::spawn({
            let s = s.clone();
            async move { poll_text(&s).await }
        });
        // The poll parks once it has nothing to answer.
        while !s.state.lock().poll_waiting {
            tokio::task::yield_now().await;
        }
        s.close(CloseReason::ForcedClose);
        assert_eq!(waiting.await.expect("the poll"), "1");
    }

    #[tokio::test]
    async fn the_queue_is_bounded_by_bytes() {
        let s = session(1000);
        // One message larger than the bound fits an empty queue: the client can read it.
        s.send(Frame::text("x".repeat(1500)))
            .expect("first message");
        let mut taken = Vec::new();
        s.next_frames(&mut taken).await.expect("open");
        // Drained: the bound applies to what waits, not to what was sent.
        s.send(Frame::text("x".repeat(600)))
            .expect("under the bound");
        s.send(Frame::text("x".repeat(400)))
            .expect("exactly the bound");
        assert_eq!(
            s.send(Frame::text("x")),
            Err(CloseReason::SlowConsumer),
            "one byte past the bound"
        );
        assert_eq!(s.close_reason(), Some(CloseReason::SlowConsumer));
    }

    #[tokio::test]
    async fn volatile_packets_are_dropped_behind_a_backlog() {
        let s = session(1000);
        s.send(Frame::text("backlog")).expect("queued");
        assert!(!s.send_volatile(&[Frame::text("volatile")]));
        assert_eq!(s.queued(), 1);
    }

    #[tokio::test]
    async fn volatile_packets_are_dropped_in_the_host_turn_of_another_packet() {
        let s = session(1000);
        let mut taken = Vec::new();
        s.send(Frame::text("regular")).expect("queued");
        s.next_frames(&mut taken).await.expect("open");
        // The writer took it, but the host has not ended its turn: engine.io's transport
        // would not be writable yet.
        super::super::host_turn::end_host_turn();
        s.send(Frame::text("regular")).expect("queued");
        s.next_frames(&mut taken).await.expect("open");
        assert!(!s.send_volatile(&[Frame::text("same turn")]));
        super::super::host_turn::end_host_turn();
        assert!(s.send_volatile(&[Frame::text("next turn")]));
    }
}
