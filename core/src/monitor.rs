//! What a monitor of the server (the admin UI's feed, see [`crate::admin`]) is told about
//! sockets. Nothing is reported until one is set; each report is then one call that must not
//! block (the feed queues it for a task of its own).

use crate::socket::{DisconnectReason, SocketRef};
use crate::Payload;
use std::sync::{Arc, OnceLock};

pub(crate) trait SocketMonitor: Send + Sync + 'static {
    /// The socket entered its namespace (its CONNECT is queued).
    fn connected(&self, socket: &SocketRef);
    /// The socket's connection moved to WebSocket.
    fn transport_upgraded(&self, socket: &SocketRef);
    /// The socket left its namespace.
    fn disconnected(&self, socket: &SocketRef, reason: DisconnectReason);
    /// An event from the client.
    fn event_received(&self, socket: &SocketRef, event: &str, args: &Payload);
    /// An event queued for the client (a broadcast once per recipient).
    fn event_sent(&self, socket: &SocketRef, event: &str, args: &Payload);
}

/// The server's monitor, set at most once and shared with every namespace.
pub(crate) type MonitorSlot = Arc<OnceLock<Arc<dyn SocketMonitor>>>;
