//! A socket: one client's connection to one namespace.

pub use crate::adapter::{AckCollector, AckResponse};
use crate::adapter::{BroadcastOptions, Room};
pub use crate::disconnect_reason::DisconnectReason;
use crate::engineio::{CloseReason, Frame};
use crate::host::Pending;
use crate::id::Sid;
use crate::namespace::Namespace;
use crate::operator::BroadcastOperator;
use crate::socketio::client::Client;
use crate::socketio::packet::{self, PacketKind, RESERVED_EVENTS};
use crate::Payload;
use bytes::Bytes;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::oneshot;

/// A shared handle to a socket; cheap to clone and safe to use from any thread.
pub type SocketRef = Arc<Socket>;

/// An event received from a client.
pub struct IncomingEvent {
    pub name: String,
    pub args: Payload,
    /// Present when the client asked for an acknowledgement.
    pub ack: Option<AckSender>,
}

impl IncomingEvent {
    /// What the event holds in memory, near enough for backlog bounds.
    pub fn byte_len(&self) -> usize {
        self.name.len()
            + self.args.json.len()
            + self.args.binaries.iter().map(|b| b.len()).sum::<usize>()
    }
}

impl fmt::Debug for IncomingEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingEvent")
            .field("name", &self.name)
            .field("args", &self.args.json)
            .field("binaries", &self.args.binaries.len())
            .field("ack", &self.ack.is_some())
            .finish()
    }
}

/// Answers a client's acknowledgement request. Consuming `send` makes a second answer
/// impossible; hosts that expose a callable keep it in an `Option` and ignore later calls.
pub struct AckSender {
    socket: SocketRef,
    id: u64,
}

impl AckSender {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends the acknowledgement with `args` (a JSON array, binaries as placeholders).
    pub fn send(self, args: Payload) {
        self.socket.send_ack(self.id, args);
    }
}

/// Why an acknowledgement did not arrive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("operation has timed out")]
    Timeout,
    #[error("socket disconnected before the acknowledgement arrived")]
    Disconnected,
}

/// Why an emit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    #[error("too many binary attachments ({0}, at most {max})", max = packet::MAX_ATTACHMENTS)]
    TooManyAttachments(usize),
    #[error("the socket is disconnected")]
    Disconnected,
    #[error(
        "{0} acknowledgements are already awaited from this socket (the max_pending_acks \
         limit): the event was not sent; give emits a timeout or raise the limit"
    )]
    TooManyPendingAcks(usize),
}

/// Checks an event before it is encoded: reserved names (`connect`, `disconnect`, …) and more
/// binary attachments than a packet may carry are refused. Emitters outside a server use it too.
pub fn check_event(event: &str, args: &Payload) -> Result<(), EmitError> {
    if RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_string()));
    }
    if args.binaries.len() > packet::MAX_ATTACHMENTS {
        return Err(EmitError::TooManyAttachments(args.binaries.len()));
    }
    Ok(())
}

/// Called once with an acknowledgement's arguments or the reason it did not come.
pub type AckCallback = Box<dyn FnOnce(Result<Payload, AckError>) + Send + 'static>;

enum AckWaiter {
    One(oneshot::Sender<Payload>),
    /// Runs inline when the ack packet is read, so it is ordered with the socket's events.
    Callback(AckCallback),
    Collect(AckCollector),
}

struct State {
    connected: bool,
    /// What [`Socket::announce`] still has to do; `None` once done (or never needed).
    announcement: Option<Announcement>,
    /// Events are handed to the host only after its connection handler has run.
    ready: bool,
    backlog: Vec<IncomingEvent>,
    /// Bytes of `backlog`.
    backlog_bytes: usize,
    acks: HashMap<u64, AckWaiter>,
}

/// A connected socket's entry into its namespace (its own room, the CONNECT packet), held
/// until the host starts its connection handler.
pub(crate) struct Announcement {
    /// The rooms and missed packets of a recovered session.
    pub(crate) restored: Option<Box<crate::recovery::RestoredSession>>,
    /// Held until the socket is in its namespace: a dynamic child stays while a socket on its
    /// way in holds it, and goes if that socket never arrives.
    pub(crate) _admission: crate::admission::Admission,
}

/// A client's connection to one namespace.
pub struct Socket {
    id: Sid,
    nsp: Arc<Namespace>,
    client: Arc<Client>,
    auth: String,
    data: Mutex<String>,
    state: Mutex<State>,
    host_slot: OnceLock<Box<dyn Any + Send + Sync>>,
    notify_outgoing: AtomicBool,
    notify_conn: AtomicBool,
    /// CONNECT (and a recovered session's missed packets) is queued: from now on broadcasts
    /// may reach the socket. It enters its namespace a moment earlier, and a broadcast queued
    /// in between would reach the client before its CONNECT.
    announced: AtomicBool,
    /// Bytes of this socket's events queued for the language host (see [`crate::host`]).
    pub(crate) host_bytes: std::sync::atomic::AtomicUsize,
    /// Private id for connection state recovery (sent only to this client).
    pid: Option<Sid>,
    recovered: bool,
}

impl Socket {
    pub(crate) fn new(
        nsp: Arc<Namespace>,
        client: Arc<Client>,
        auth: String,
        id: Sid,
        pid: Option<Sid>,
        recovered: bool,
    ) -> SocketRef {
        Arc::new(Socket {
            id,
            pid,
            recovered,
            nsp,
            client,
            auth,
            data: Mutex::new("{}".into()),
            state: Mutex::new(State {
                connected: false,
                announcement: None,
                ready: false,
                backlog: Vec::new(),
                backlog_bytes: 0,
                acks: HashMap::new(),
            }),
            host_slot: OnceLock::new(),
            notify_outgoing: AtomicBool::new(false),
            notify_conn: AtomicBool::new(false),
            announced: AtomicBool::new(false),
            host_bytes: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// The socket id (20 characters), also the name of the room it is always in.
    pub fn id(&self) -> &Sid {
        &self.id
    }

    /// The private id used by connection state recovery, when it is on.
    pub fn pid(&self) -> Option<&Sid> {
        self.pid.as_ref()
    }

    /// Whether this socket resumed a disconnected session (`socket.recovered`).
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// The namespace name.
    pub fn ns(&self) -> &str {
        self.nsp.name()
    }

    pub fn namespace(&self) -> &Arc<Namespace> {
        &self.nsp
    }

    /// The Engine.IO session this socket rides on.
    pub fn engine_sid(&self) -> &Sid {
        &self.client.session.sid
    }

    /// Engine.IO protocol revision of the connection (4, or 3 for socket.io v2 clients).
    pub fn engine_protocol(&self) -> u8 {
        self.client.session.protocol
    }

    /// The transport the connection currently uses (`"polling"` or `"websocket"`).
    pub fn transport(&self) -> &'static str {
        self.client.session.transport().name()
    }

    /// The auth object the client sent with CONNECT, as JSON text (`{}` when none).
    pub fn auth(&self) -> &str {
        &self.auth
    }

    /// The handshake as socket.io exposes it, as a JSON object.
    pub fn handshake(&self) -> serde_json::Value {
        let req = &self.client.session.request;
        let mut headers = serde_json::Map::new();
        for (k, v) in &req.headers {
            headers.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        let mut query = serde_json::Map::new();
        for (k, v) in &req.query {
            query.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        serde_json::json!({
            "headers": headers,
            "time": req.time(),
            "address": req.address(),
            "xdomain": req.xdomain(),
            "secure": req.secure,
            "issued": req.issued,
            "url": req.url,
            "query": query,
            "auth": serde_json::from_str::<serde_json::Value>(&self.auth).unwrap_or_default(),
        })
    }

    /// Arbitrary data attached to the socket, as JSON text (shared with `fetch_sockets`).
    pub fn data(&self) -> String {
        self.data.lock().clone()
    }

    /// Replaces the socket's data (JSON text).
    pub fn set_data(&self, json: impl Into<String>) {
        *self.data.lock() = json.into();
    }

    /// A slot where the host stores its own per-socket state (set once).
    pub fn host_slot(&self) -> &OnceLock<Box<dyn Any + Send + Sync>> {
        &self.host_slot
    }

    /// Ask the core to report every outgoing event of this socket to its handler
    /// (`onAnyOutgoing`); off by default because it costs a call per recipient.
    pub fn set_notify_outgoing(&self, on: bool) {
        self.notify_outgoing.store(on, Ordering::Relaxed);
    }

    /// Ask the core to report what happens to this socket's connection to its handler
    /// ([`crate::host::ConnEvent`]); off by default, so nobody pays for events nobody hears.
    pub fn set_notify_conn(self: &Arc<Self>, on: bool) {
        self.notify_conn.store(on, Ordering::Relaxed);
        if on {
            self.client.watch(self);
        }
    }

    /// Also report every Engine.IO packet of the connection, received and sent, and each
    /// drain ([`crate::host::ConnEvent::Packet`] and the next two); implies
    /// [`Socket::set_notify_conn`]. Off by default: each report copies a packet.
    pub fn set_notify_packets(self: &Arc<Self>, on: bool) {
        if on {
            self.set_notify_conn(true);
        }
        self.client.session.set_notify_packets(on);
    }

    pub(crate) fn conn_event(self: &Arc<Self>, event: crate::host::ConnEvent) {
        if self.notify_conn.load(Ordering::Relaxed) {
            self.nsp.handler().conn_event(self, event);
        }
    }

    fn notify_outgoing(self: &Arc<Self>, event: &str, args: &Payload) {
        if self.notify_outgoing.load(Ordering::Relaxed) {
            self.nsp.handler().outgoing(self, event, args);
        }
    }

    /// Queues a broadcast's frames to this socket (outgoing listeners see it first).
    pub(crate) fn deliver_broadcast(
        self: &Arc<Self>,
        packet: &crate::adapter::BroadcastPacket,
        volatile: bool,
    ) -> bool {
        self.notify_outgoing(&packet.event, &packet.args);
        self.queue_frames(&packet.frames, volatile)
    }

    pub fn connected(&self) -> bool {
        self.state.lock().connected
    }

    /// Called once CONNECT is queued; see `announced`.
    pub(crate) fn mark_announced(&self) {
        self.announced.store(true, Ordering::Release);
    }

    /// Whether CONNECT has been queued, i.e. broadcasts and server-wide operations see it.
    pub(crate) fn announced(&self) -> bool {
        self.announced.load(Ordering::Acquire)
    }

    /// Joins rooms.
    pub fn join<I, R>(&self, rooms: I)
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        crate::hand_off::barrier();
        let rooms: Vec<Room> = rooms.into_iter().map(Into::into).collect();
        self.nsp.adapter().index().add_all(&self.id, rooms);
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        crate::hand_off::barrier();
        self.nsp.adapter().index().del(&self.id, room);
    }

    /// The rooms the socket is in, its own id among them.
    pub fn rooms(&self) -> Vec<Room> {
        self.nsp.adapter().index().socket_rooms(&self.id)
    }

    /// Answers the acknowledgement the client asked for with id `id` (prefer the
    /// [`AckSender`] of the event, which answers once; this is for hosts that keep only the
    /// id). An id the client is not waiting for is ignored by the client.
    pub fn send_ack(&self, id: u64, args: Payload) {
        let frames = self.nsp.parser().ack(self.ns(), id, &args);
        self.send_frames(&frames, false);
    }

    /// Sends an event to this client.
    pub fn emit(self: &Arc<Self>, event: &str, args: Payload) -> Result<(), EmitError> {
        crate::hand_off::barrier();
        check_event(event, &args)?;
        if self.nsp.recovery().is_some() {
            // Through the room named by the id, so the packet is kept for replay (as socket.io).
            return BroadcastOperator::new(self.nsp.clone())
                .to([self.id.as_str()])
                .emit(event, args);
        }
        self.notify_outgoing(event, &args);
        if args.binaries.len() > packet::MAX_ATTACHMENTS {
            return Err(EmitError::TooManyAttachments(args.binaries.len()));
        }
        let frames = self.nsp.parser().event(self.ns(), None, event, &args);
        if self.queue_frames(&frames, false) {
            Ok(())
        } else {
            Err(EmitError::Disconnected)
        }
    }

    /// Sends an event only if the transport can take it now (socket.io's `volatile`).
    pub fn emit_volatile(self: &Arc<Self>, event: &str, args: Payload) -> Result<(), EmitError> {
        crate::hand_off::barrier();
        check_event(event, &args)?;
        self.notify_outgoing(event, &args);
        let frames = self.nsp.parser().event(self.ns(), None, event, &args);
        self.queue_frames(&frames, true);
        Ok(())
    }

    /// Sends an event and waits for the client's acknowledgement, up to `timeout`
    /// (no timeout: until the socket disconnects).
    pub fn emit_with_ack(
        self: &Arc<Self>,
        event: &str,
        args: Payload,
        timeout: Option<Duration>,
    ) -> Result<
        impl std::future::Future<Output = Result<Payload, AckError>> + Send + 'static,
        EmitError,
    > {
        crate::hand_off::barrier();
        check_event(event, &args)?;
        let id = self.nsp.next_ack_id();
        let (tx, rx) = oneshot::channel();
        {
            let mut st = self.state.lock();
            if !st.connected {
                return Err(EmitError::Disconnected);
            }
            self.check_pending_acks(&st)?;
            st.acks.insert(id, AckWaiter::One(tx));
        }
        self.notify_outgoing(event, &args);
        let frames = self.nsp.parser().event(self.ns(), Some(id), event, &args);
        self.queue_frames(&frames, false);
        let socket = self.clone();
        Ok(async move {
            let result = match timeout {
                Some(t) => match tokio::time::timeout(t, rx).await {
                    Ok(r) => r.map_err(|_| AckError::Disconnected),
                    Err(_) => Err(AckError::Timeout),
                },
                None => rx.await.map_err(|_| AckError::Disconnected),
            };
            if result.is_err() {
                socket.state.lock().acks.remove(&id);
            }
            result
        })
    }

    /// Sends an event and calls `callback` with the client's acknowledgement — inline, when
    /// the ack packet is read, so it runs in order with the socket's incoming events — or
    /// with [`AckError::Timeout`] / [`AckError::Disconnected`].
    pub fn emit_with_ack_callback(
        self: &Arc<Self>,
        event: &str,
        args: Payload,
        timeout: Option<Duration>,
        callback: impl FnOnce(Result<Payload, AckError>) + Send + 'static,
    ) -> Result<(), EmitError> {
        crate::hand_off::barrier();
        check_event(event, &args)?;
        let id = self.nsp.next_ack_id();
        {
            let mut st = self.state.lock();
            if !st.connected {
                return Err(EmitError::Disconnected);
            }
            self.check_pending_acks(&st)?;
            st.acks.insert(id, AckWaiter::Callback(Box::new(callback)));
        }
        self.notify_outgoing(event, &args);
        let frames = self.nsp.parser().event(self.ns(), Some(id), event, &args);
        self.queue_frames(&frames, false);
        if let Some(t) = timeout {
            let weak = Arc::downgrade(self);
            self.nsp.runtime().spawn(async move {
                tokio::time::sleep(t).await;
                if let Some(socket) = weak.upgrade() {
                    let waiter = socket.state.lock().acks.remove(&id);
                    if let Some(AckWaiter::Callback(cb)) = waiter {
                        cb(Err(AckError::Timeout));
                    }
                }
            });
        }
        Ok(())
    }

    /// A client that never answers must not make the server hold waiters without end (an
    /// emit without a timeout waits until the socket disconnects).
    fn check_pending_acks(&self, st: &State) -> Result<(), EmitError> {
        let limit = self.nsp.max_pending_acks();
        if st.acks.len() >= limit {
            return Err(EmitError::TooManyPendingAcks(limit));
        }
        Ok(())
    }

    /// Broadcasts with acks always have a timeout, so their waiters are not counted against
    /// `max_pending_acks`: the broadcast is already on its way to this socket.
    pub(crate) fn register_collector(&self, id: u64, collector: AckCollector) {
        let mut st = self.state.lock();
        if st.connected {
            st.acks.insert(id, AckWaiter::Collect(collector));
        }
    }

    /// Queues encoded frames; false when dropped (volatile) or the connection is closed.
    pub fn send_frames(&self, frames: &[Frame], volatile: bool) -> bool {
        crate::hand_off::barrier();
        self.queue_frames(frames, volatile)
    }

    /// [`Socket::send_frames`] for callers that have passed the barrier already (or run on
    /// the runtime): a broadcast calls it once per recipient.
    pub(crate) fn queue_frames(&self, frames: &[Frame], volatile: bool) -> bool {
        if volatile {
            self.client.session.send_volatile(frames)
        } else {
            self.client.session.send_all(frames).is_ok()
        }
    }

    /// A broadcast to every socket of the namespace except this one.
    pub fn broadcast(self: &Arc<Self>) -> BroadcastOperator {
        BroadcastOperator::new(self.nsp.clone()).except([self.id.as_str()])
    }

    /// A broadcast to `rooms`, excluding this socket.
    pub fn to<I, R>(self: &Arc<Self>, rooms: I) -> BroadcastOperator
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.broadcast().to(rooms)
    }

    /// A broadcast excluding `rooms` and this socket.
    pub fn except<I, R>(self: &Arc<Self>, rooms: I) -> BroadcastOperator
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.broadcast().except(rooms)
    }

    /// Disconnects the socket from its namespace; with `close` the whole connection closes.
    pub fn disconnect(self: &Arc<Self>, close: bool) {
        crate::hand_off::barrier();
        if !self.connected() {
            return;
        }
        if close {
            self.client.disconnect_all();
            self.client.session.close(CloseReason::ForcedClose);
        } else {
            self.close_with_disconnect_packet();
        }
    }

    /// Leaves with reason "server namespace disconnect" after queuing DISCONNECT for the
    /// client. The socket is marked closed before the packet is queued: a client that answers
    /// the packet by closing its connection (socket.io-client does, for its last namespace) can
    /// otherwise be seen closing first, and the socket would leave with "transport close".
    pub(crate) fn close_with_disconnect_packet(self: &Arc<Self>) {
        if !self.claim_close() {
            return;
        }
        let frame = self
            .nsp
            .parser()
            .control(PacketKind::Disconnect, self.ns(), None);
        self.queue_frames(&[frame], false);
        self.finish_close(DisconnectReason::ServerNamespaceDisconnect);
    }

    // ---- driven by the client / namespace ----

    /// The socket belongs to its client from now on (a close runs its disconnect steps); it
    /// enters its namespace when [`Socket::announce`] runs.
    pub(crate) fn mark_connected(&self, announcement: Announcement) {
        let mut st = self.state.lock();
        st.connected = true;
        st.announcement = Some(announcement);
    }

    /// Enters the namespace: joins the socket's own room (and a recovered session's rooms)
    /// and sends CONNECT. A host calls this right before it runs the connection handlers, so
    /// that — as in socket.io, where both happen in one tick — no code of the host runs
    /// between the client learning it is connected and the handlers' `join`s. Runs once;
    /// later calls, and calls after the socket left, do nothing. The core calls it itself
    /// when the connection handlers have finished, for hosts that do not.
    pub fn announce(self: &Arc<Self>) {
        // A broadcast the host handed off before this call must not reach the socket.
        crate::hand_off::barrier();
        let Some(announcement) = self.state.lock().announcement.take() else {
            return;
        };
        self.client.announce(self, announcement);
    }

    /// The host's connection handler has run: hand over the events that waited for it, in
    /// order, then deliver new ones directly.
    pub(crate) fn mark_ready(self: &Arc<Self>) {
        self.announce();
        loop {
            let batch = {
                let mut st = self.state.lock();
                if st.backlog.is_empty() {
                    st.ready = true;
                    return;
                }
                st.backlog_bytes = 0;
                std::mem::take(&mut st.backlog)
            };
            for ev in batch {
                self.nsp.handler().event(self, ev);
            }
        }
    }

    pub(crate) fn on_event(self: &Arc<Self>, ev: IncomingEvent) {
        {
            let mut st = self.state.lock();
            if !st.connected {
                return;
            }
            if !st.ready {
                // Held until the connection handler has run: bounded like the host's queue.
                st.backlog_bytes += ev.byte_len();
                if st.backlog_bytes > self.nsp.host_backlog_limits().0 {
                    let held = st.backlog_bytes;
                    drop(st);
                    self.close_for_host_backlog(held);
                    return;
                }
                st.backlog.push(ev);
                return;
            }
        }
        self.nsp.handler().event(self, ev);
    }

    /// Closes the connection of a client whose events the host cannot keep up with.
    pub(crate) fn close_for_host_backlog(&self, held: usize) {
        tracing::warn!(
            socket = %self.id,
            held_bytes = held,
            "events waiting for the host passed their bound: closing the connection (host backlog full)"
        );
        self.client.session.close(CloseReason::HostBacklogFull);
    }

    pub(crate) fn make_ack_sender(self: &Arc<Self>, id: u64) -> AckSender {
        AckSender {
            socket: self.clone(),
            id,
        }
    }

    pub(crate) fn on_ack(&self, id: u64, args: Payload) {
        let waiter = self.state.lock().acks.remove(&id);
        match waiter {
            Some(AckWaiter::One(tx)) => {
                let _ = tx.send(args);
            }
            Some(AckWaiter::Callback(cb)) => cb(Ok(args)),
            Some(AckWaiter::Collect(c)) => c.respond(args),
            None => tracing::debug!(socket = %self.id, id, "ack for an unknown id ignored"),
        }
    }

    /// Leaves the namespace: `disconnecting` (rooms still there), then cleanup, then
    /// `disconnect`. Runs once.
    pub(crate) fn on_close(self: &Arc<Self>, reason: DisconnectReason) {
        if self.claim_close() {
            self.finish_close(reason);
        }
    }

    /// Marks the socket closed; false when it already was (whoever closed it first finishes
    /// the close with its reason). Pending acks fail as "disconnected".
    fn claim_close(&self) -> bool {
        let mut st = self.state.lock();
        if !st.connected {
            return false;
        }
        st.connected = false;
        st.announcement = None;
        st.backlog.clear();
        st.backlog_bytes = 0;
        // Futures waiting for an ack see their sender dropped.
        let waiters: Vec<AckWaiter> = st.acks.drain().map(|(_, w)| w).collect();
        drop(st);
        for w in waiters {
            if let AckWaiter::Callback(cb) = w {
                cb(Err(AckError::Disconnected));
            }
        }
        true
    }

    /// The rest of a close claimed by [`Socket::claim_close`]: leave the client, run the
    /// host's `disconnecting` and `disconnect` steps, persist a recoverable session.
    fn finish_close(self: &Arc<Self>, reason: DisconnectReason) {
        self.client.forget(self.ns());
        let handler = self.nsp.handler();
        let socket = self.clone();
        let finish = move || {
            if let (Some(store), Some(pid)) = (socket.nsp.recovery(), socket.pid.clone()) {
                if crate::recovery::is_recoverable(reason) {
                    store.persist(crate::recovery::PersistedSession {
                        sid: socket.id.clone(),
                        pid,
                        rooms: socket.rooms(),
                        data: socket.data(),
                    });
                }
            }
            socket.nsp.remove_socket(&socket.id);
            handler.disconnected(&socket, reason);
        };
        match self.nsp.handler().disconnecting(self, reason) {
            Pending::Ready(()) => finish(),
            Pending::Later(fut) => {
                self.nsp.runtime().spawn(async move {
                    fut.await;
                    finish();
                });
            }
        }
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("nsp", &self.ns())
            .finish()
    }
}

/// Builds a payload from received JSON argument text and binary attachments.
pub(crate) fn incoming_payload(json: String, binaries: Vec<Bytes>) -> Payload {
    Payload { json, binaries }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Socket>();
    check::<BroadcastOptions>();
}
