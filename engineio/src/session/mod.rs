//! One Engine.IO session: its sid, its outbound queue, the transport it is on, the
//! heartbeat and the polling → WebSocket upgrade.
//!
//! Drivers (the native hyper/WebSocket listener, or a host's own HTTP server) only move
//! bytes: they hand inbound packets to [`EngineSession::on_packet`] and drain outbound frames
//! with [`EngineSession::poll`] (long-polling) or [`EngineSession::next_frames`] (WebSocket).

use super::packet_events::{EnginePacket, PacketEvent};
use super::EngineConfig;
use crate::handshake::RequestInfo;
use crate::id::Sid;
use crate::packet::{Frame, Inbound, PING};
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

/// The fields a queued frame touches come first (see [`EngineSession`]'s layout): a broadcast
/// to ten thousand sessions then reads two cache lines of each, not five.
#[repr(C)]
struct State {
    queue: VecDeque<Frame>,
    /// Bytes of the frames in `queue`.
    queued_bytes: usize,
    /// The host turn (see `host_turn`) in which the last frame was queued.
    regular_turn: u64,
    closed: Option<CloseReason>,
    /// A meter is set or packet reports are on: every queued frame is also reported.
    observed: bool,
    transport: TransportKind,
    /// The client answered `3probe`; we wait for its `5`.
    upgrading: bool,
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
    /// Frames ever taken from `queue`: the front of `queue` is frame number `dequeued`.
    dequeued: u64,
    /// The numbers of the queued frames sent with compression off (`compress(false)`).
    uncompressed: VecDeque<u64>,
    /// The arrival number of the waiting poll (see `EngineShared::next_arrival`).
    poll_arrival: u64,
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

impl State {
    /// Takes every queued frame into `into`; `uncompressed` gets the positions in `into` of
    /// those sent with compression off.
    fn take_queue(&mut self, into: &mut Vec<Frame>, uncompressed: &mut Vec<usize>) {
        let front = self.dequeued;
        self.dequeued += self.queue.len() as u64;
        let base = into.len();
        uncompressed.extend(
            self.uncompressed
                .drain(..)
                .map(|n| base + (n - front) as usize),
        );
        into.extend(self.queue.drain(..));
        self.queued_bytes = 0;
    }
}

/// One Engine.IO session.
///
/// Laid out in declaration order from a cache-line boundary: `config` and the state's lock
/// and queue fill the first line, the rest of the hot state the second, so a broadcast can
/// prefetch both ([`EngineSession::prefetch_outbox`]) before it queues.
#[repr(C, align(64))]
pub struct EngineSession {
    config: Arc<EngineConfig>,
    state: Mutex<State>,
    /// Counts this session's message packets once a server is monitored.
    meter: std::sync::OnceLock<Arc<crate::traffic::TrafficMeter>>,
    /// Report packets to the handler ([`SessionHandler::on_packet_event`]); off unless a host
    /// listens, as each report copies a packet.
    notify_packets: AtomicBool,
    /// Wakes a parked poll / the WebSocket writer when frames are queued or the state changes.
    wake: Notify,
    pub sid: Sid,
    /// Engine.IO protocol revision (4, or 3 for socket.io v2 clients).
    pub protocol: u8,
    /// A v3 polling client that takes binary payloads (no `b64=1`).
    pub supports_binary: bool,
    pub request: RequestInfo,
    /// Signalled when a writer has taken everything from the queue.
    drained: Notify,
    /// Asks the probing WebSocket to read what it has received (see `checks_asked`).
    upgrade_check: Notify,
    /// Signalled once, by `close` (apart from `wake`, which every first push signals too).
    closed: Notify,
    /// Shared with the heartbeat task so it need not keep the session alive while it waits.
    pong: Arc<Notify>,
    handler: Mutex<Option<Arc<dyn SessionHandler>>>,
    /// While a WebSocket whose socket can be asked about runs this session: that socket's
    /// input (see [`EngineSession::input`]).
    unread_input: Mutex<Option<crate::InputWaiting>>,
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
                observed: false,
                queue: VecDeque::new(),
                queued_bytes: 0,
                dequeued: 0,
                uncompressed: VecDeque::new(),
                closed: None,
                poll_waiting: false,
                poll_arrival: 0,
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
            meter: std::sync::OnceLock::new(),
            unread_input: Mutex::new(None),
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
        crate::packet::open_packet(
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

    /// The input of this session's WebSocket while it runs on a socket the server can ask
    /// about: what the client sent that the server has not handled yet (see
    /// [`crate::SocketInput`]). None over long-polling and for a host's WebSocket.
    ///
    /// For a host that handles an event a turn after it arrived (socket.io does): an event
    /// the client followed at once with a disconnect is dropped there, and the host can tell
    /// that more is coming before it hands the event on.
    pub fn input(&self) -> Option<crate::InputWaiting> {
        self.unread_input.lock().clone()
    }

    /// Gives `input` as [`EngineSession::input`] until the guard drops (the WebSocket run is
    /// over).
    pub(crate) fn watch_input(&self, input: crate::InputWaiting) -> InputWatch<'_> {
        *self.unread_input.lock() = Some(input);
        InputWatch(self)
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
        self.send_all_with(frames, true)
    }

    /// [`EngineSession::send_all`]; with `compress` false the frames go out without
    /// permessage-deflate, and a poll that carries only such frames is not compressed
    /// (socket.io's `compress(false)`).
    pub fn send_all_with(
        self: &Arc<Self>,
        frames: &[Frame],
        compress: bool,
    ) -> Result<(), CloseReason> {
        let was_empty;
        let observed;
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
            if !compress {
                let first = st.dequeued + st.queue.len() as u64;
                st.uncompressed.extend(first..first + frames.len() as u64);
            }
            st.queued_bytes += bytes;
            st.queue.extend(frames.iter().cloned());
            st.regular_turn = crate::host_turn::current();
            observed = st.observed;
        }
        if observed {
            self.report_sent(frames, compress);
        }
        // Every consumer drains the whole queue, so only the push that made it non-empty
        // needs to wake one; later pushes are picked up by that same wake-up.
        if was_empty && !crate::wake_batch::defer(self) {
            self.wake_writer();
        }
        Ok(())
    }

    /// Counts queued frames in the meter and reports them to a listening host.
    #[cold]
    fn report_sent(self: &Arc<Self>, frames: &[Frame], compress: bool) {
        if let Some(meter) = self.meter.get() {
            for frame in frames {
                if let Some(bytes) = frame.message_len() {
                    meter.packet_out(bytes);
                }
            }
        }
        if self.notify_packets.load(Ordering::Relaxed) {
            for frame in frames {
                self.report(PacketEvent::Created(EnginePacket::sent(frame), compress));
            }
        }
    }

    /// Asks the CPU to fetch the state a queued frame touches. A broadcast calls it a few
    /// sessions ahead of the one it queues to, so the memory reads of many sessions overlap
    /// instead of stalling one after another.
    #[inline]
    pub fn prefetch_outbox(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let first = (self as *const EngineSession).cast::<i8>();
            // SAFETY: prefetching is a hint with no effect on memory; both addresses lie
            // within this session (it is 64-byte aligned and larger than two lines).
            #[allow(unused_unsafe)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(first);
                _mm_prefetch::<_MM_HINT_T0>(first.wrapping_add(64));
            }
        }
    }

    /// Whether frames wait in the queue for a transport.
    pub(crate) fn has_queued(&self) -> bool {
        !self.state.lock().queue.is_empty()
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
        self.send_volatile_with(frames, true)
    }

    /// [`EngineSession::send_volatile`] with the compress option of
    /// [`EngineSession::send_all_with`].
    pub fn send_volatile_with(self: &Arc<Self>, frames: &[Frame], compress: bool) -> bool {
        {
            let st = self.state.lock();
            let turn = crate::host_turn::current();
            let sent_this_turn = turn != 0 && st.regular_turn == turn;
            if st.closed.is_some() || !st.queue.is_empty() || sent_this_turn {
                return false;
            }
        }
        // A volatile packet that goes out makes the transport busy as a regular one does.
        self.send_all_with(frames, compress).is_ok()
    }

    /// Feeds one inbound Engine.IO packet from any transport.
    pub fn on_packet(self: &Arc<Self>, packet: Inbound<'_>) {
        if let Some(meter) = self.meter.get() {
            match &packet {
                Inbound::Message(text) => meter.packet_in(text.len()),
                Inbound::Binary(bytes) => meter.packet_in(bytes.len()),
                _ => {}
            }
        }
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

    /// Counts this session's message packets in `meter` from now on (set once).
    pub(crate) fn set_meter(&self, meter: &Arc<crate::traffic::TrafficMeter>) {
        let _ = self.meter.set(meter.clone());
        self.state.lock().observed = true;
    }

    /// Reports every packet received and queued, and each drain, to the handler from now on.
    pub fn set_notify_packets(&self, on: bool) {
        self.notify_packets.store(on, Ordering::Relaxed);
        self.state.lock().observed = on || self.meter.get().is_some();
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

    /// The reason the session closed, if it did.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.state.lock().closed
    }
}

/// Withdraws a WebSocket's [`crate::InputWaiting`] from its session when dropped.
pub(crate) struct InputWatch<'a>(&'a EngineSession);

impl Drop for InputWatch<'_> {
    fn drop(&mut self) {
        *self.0.unread_input.lock() = None;
    }
}

impl std::fmt::Debug for EngineSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSession")
            .field("sid", &self.sid)
            .finish()
    }
}

mod polling;
#[cfg(test)]
mod tests;
mod websocket;

pub use polling::{PollAnswer, PostGuard};
pub use websocket::Probe;
