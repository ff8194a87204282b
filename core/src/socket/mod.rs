//! A socket: one client's connection to one namespace.

mod emit;
mod event;
mod lifecycle;

pub use crate::adapter::{AckCollector, AckResponse};
use crate::adapter::{BroadcastOptions, Room};
pub use crate::disconnect_reason::DisconnectReason;
use crate::id::Sid;
use crate::namespace::Namespace;
use crate::operator::BroadcastOperator;
use crate::socketio::client::Client;
use crate::Payload;
pub use emit::SendFlags;
pub(crate) use event::incoming_payload;
pub use event::{check_event, AckError, AckSender, EmitError, IncomingEvent};
use parking_lot::Mutex;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;

/// A shared handle to a socket; cheap to clone and safe to use from any thread.
pub type SocketRef = Arc<Socket>;

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

/// Where a socket restored from the cluster is in catching up.
pub(crate) enum CatchUp {
    Off,
    /// Everything queued for the client waits behind its missed packets.
    Holding(Vec<Held>),
    /// The missed packets went up to this offset: a broadcast at or before it that the
    /// stream's reader delivers late is one the client has.
    Skipping(String),
}

/// Frames queued while held, and the offset of the broadcast they carry, if any.
pub(crate) struct Held {
    pub(crate) frames: Vec<crate::engineio::Frame>,
    pub(crate) flags: SendFlags,
    pub(crate) offset: Option<String>,
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
    /// A session restored from the cluster catching up (see [`Socket::hold`]); the flag
    /// keeps the lock off the path of every other socket's packets.
    catching_up: AtomicBool,
    catch_up: Mutex<CatchUp>,
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
            catching_up: AtomicBool::new(false),
            catch_up: Mutex::new(CatchUp::Off),
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

    /// What the client sent on this socket's connection that the server has not handled yet,
    /// while it runs over a WebSocket the server can ask about (see
    /// [`EngineSession::input`]); None over long-polling.
    ///
    /// [`EngineSession::input`]: crate::EngineSession::input
    pub fn input(&self) -> Option<crate::InputWaiting> {
        self.client.session.input()
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
        self.nsp.recipients_changed();
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

    pub fn connected(&self) -> bool {
        self.state.lock().connected
    }

    /// Called once CONNECT is queued; see `announced`.
    pub(crate) fn mark_announced(&self) {
        self.announced.store(true, Ordering::Release);
        self.nsp.recipients_changed();
    }

    /// Whether a broadcast may be queued straight on the session: no outgoing listener hears
    /// of it and the socket is not catching up after a reconnection.
    pub(crate) fn takes_broadcasts_plainly(&self) -> bool {
        !self.notify_outgoing.load(Ordering::Relaxed) && !self.catching_up.load(Ordering::Acquire)
    }

    /// The Engine.IO session the socket's packets are queued on.
    pub(crate) fn session(&self) -> &Arc<crate::engineio::EngineSession> {
        &self.client.session
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

    /// Leaves every room, its own id's included (socket.io's `leaveAll`): the socket then
    /// gets only what is sent to it by reference, until it joins again.
    pub fn leave_all(&self) {
        crate::hand_off::barrier();
        self.nsp.adapter().index().del_all(&self.id);
    }

    /// The rooms the socket is in, its own id among them.
    pub fn rooms(&self) -> Vec<Room> {
        self.nsp.adapter().index().socket_rooms(&self.id)
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
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("nsp", &self.ns())
            .finish()
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Socket>();
    check::<BroadcastOptions>();
}
