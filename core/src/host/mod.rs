//! The host interface: the one seam between the core and whoever owns the application logic
//! (Rust closures, a Python interpreter, a Node.js event loop).
//!
//! The core calls a namespace's [`NamespaceHandler`] for every lifecycle step and event, in
//! order per socket. Steps that must wait for the host — middlewares, the connection handler,
//! `disconnecting` — return [`Pending`], so the core awaits the host's answer on a task and
//! never blocks a runtime thread on it.
//!
//! Language bindings do not implement the trait themselves: they use [`QueueHandler`], which
//! turns every call into a [`HostEvent`] on an [`EventQueue`]. The queue wakes the host once
//! per batch (not once per event); the host drains it on its own thread and answers through
//! the [`Reply`] carried by the events that need an answer.

mod queue;

use crate::namespace::Namespace;
use crate::socket::{DisconnectReason, IncomingEvent, SocketRef};
use std::sync::Arc;

pub use crate::adapter::{ServerSideAck, ServerSideEvent};
pub use queue::{Completion, EventQueue, HostEvent, QueueHandler, QueueMatcher, Reply};
pub use roomcast_engineio::Pending;

/// A middleware's refusal, sent to the client as CONNECT_ERROR `{message, data}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    pub message: String,
    /// Extra JSON (text) for the client's `err.data`.
    pub data: Option<String>,
}

impl ConnectError {
    pub fn new(message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, json: impl Into<String>) -> ConnectError {
        self.data = Some(json.into());
        self
    }

    /// The CONNECT_ERROR payload.
    pub fn to_json(&self) -> String {
        let message = serde_json::to_string(&self.message).unwrap_or_else(|_| "\"\"".into());
        match &self.data {
            Some(d) => format!("{{\"message\":{message},\"data\":{d}}}"),
            None => format!("{{\"message\":{message}}}"),
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

/// What a namespace does at each step of a socket's life. Called by the core, in order per
/// socket; implementations must not block.
pub trait NamespaceHandler: Send + Sync + 'static {
    /// Runs the namespace's middlewares for a socket that is not connected yet.
    fn authorize(&self, socket: &SocketRef) -> Pending<Result<(), ConnectError>>;
    /// The socket is connected. Call [`crate::Socket::announce`] (which sends CONNECT) right
    /// before running the connection handler; resolve when the handler has run: the socket's
    /// events are held back until then so none can miss its handlers.
    fn connected(&self, socket: &SocketRef) -> Pending<()>;
    /// An event from the client.
    fn event(&self, socket: &SocketRef, event: IncomingEvent);
    /// The socket is leaving; its rooms are kept until this resolves.
    fn disconnecting(&self, socket: &SocketRef, reason: DisconnectReason) -> Pending<()>;
    /// The socket has left its rooms and its namespace.
    fn disconnected(&self, socket: &SocketRef, reason: DisconnectReason);
    /// An event is being sent to the socket; called only for sockets that asked for it with
    /// [`crate::Socket::set_notify_outgoing`] (`onAnyOutgoing`).
    fn outgoing(&self, _socket: &SocketRef, _event: &str, _args: &crate::Payload) {}
    /// Something happened to the socket's connection; called only for sockets that asked for
    /// it with [`crate::Socket::set_notify_conn`] (`socket.conn` listeners in Node).
    fn conn_event(&self, _socket: &SocketRef, _event: ConnEvent) {}
    /// An event from another server of the cluster (`serverSideEmit`).
    fn server_side_event(&self, _nsp: &Arc<Namespace>, _event: ServerSideEvent) {}
}

/// What happens to a socket's connection (engine.io's `Socket` events, socket.io's socket
/// `error` before a malformed packet closes the connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnEvent {
    /// A WebSocket started probing the polling session (`upgrading`).
    Upgrading,
    /// The WebSocket became the transport (`upgrade`).
    Upgrade,
    /// The client broke the protocol; the connection closes right after.
    Error(String),
    /// The connection closed, for this reason (`close`).
    Close(&'static str),
    /// An Engine.IO packet from the client (`packet`); with
    /// [`crate::Socket::set_notify_packets`] only, like the two below.
    Packet(crate::engineio::EnginePacket),
    /// An Engine.IO packet queued for the client (`packetCreate`), and whether it may be
    /// compressed (its `options.compress`).
    PacketCreate(crate::engineio::EnginePacket, bool),
    /// The transport took everything queued (`drain`).
    Drain,
}

/// Decides whether a dynamic namespace accepts a name (`io.of(regex | predicate)`).
pub trait NamespaceMatcher: Send + Sync + 'static {
    /// `auth` is the CONNECT payload as JSON text.
    fn matches(&self, name: &str, auth: &str) -> Pending<bool>;
}

impl<F> NamespaceMatcher for F
where
    F: Fn(&str, &str) -> bool + Send + Sync + 'static,
{
    fn matches(&self, name: &str, auth: &str) -> Pending<bool> {
        Pending::Ready(self(name, auth))
    }
}

/// Notified when namespaces are created.
pub type NamespaceListener = Arc<dyn Fn(&Arc<Namespace>) + Send + Sync>;
