//! Adapters keep a namespace's rooms and carry broadcasts to their recipients.
//!
//! Every adapter owns a local [`RoomIndex`]; the trait's default methods implement the
//! in-memory behaviour on it, so the Redis adapter only overrides what crosses nodes. An
//! adapter sees its namespace through [`LocalNamespace`] only.

mod cluster;
mod local;
mod memory;
mod rooms;

pub use cluster::{AckCollector, AckResponse, RemoteSocket, ServerSideAck, ServerSideEvent};
pub use local::LocalNamespace;
pub use memory::MemoryAdapter;
pub use rooms::{Room, RoomIndex, RoomLifecycle, RoomWatcher};

use crate::engineio::Frame;
use crate::Payload;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// Modifiers of a broadcast, as socket.io's `BroadcastFlags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Drop for recipients whose transport is not writable right now.
    pub volatile: bool,
    /// `Some(false)`: send without compression (permessage-deflate, a poll's gzip); `None`,
    /// as unset in socket.io, compresses as `Some(true)` does.
    pub compress: Option<bool>,
    /// Do not forward to other nodes of a cluster.
    pub local: bool,
    /// Acknowledgement timeout for broadcasts with acks.
    pub timeout: Option<Duration>,
}

impl BroadcastFlags {
    /// Whether the packets may be compressed.
    pub fn compressed(&self) -> bool {
        self.compress != Some(false)
    }
}

/// Who a broadcast or a cluster operation is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Union of these rooms; empty means every socket of the namespace.
    pub rooms: Vec<Room>,
    /// Sockets in any of these rooms are skipped (a socket id excludes that socket).
    pub except: Vec<Room>,
    pub flags: BroadcastFlags,
}

/// An event encoded once for every recipient: the frames to queue, plus what a cluster
/// adapter needs to re-encode it for other nodes.
#[derive(Debug, Clone)]
pub struct BroadcastPacket {
    pub nsp: String,
    pub event: String,
    pub args: Payload,
    /// Ack id shared by every recipient (broadcasts with acks).
    pub ack_id: Option<u64>,
    pub frames: Arc<[Frame]>,
}

impl BroadcastPacket {
    pub fn new(
        parser: crate::socketio::parser::Parser,
        nsp: &str,
        event: &str,
        args: Payload,
        ack_id: Option<u64>,
    ) -> BroadcastPacket {
        let frames = parser.event(nsp, ack_id, event, &args);
        BroadcastPacket {
            nsp: nsp.to_string(),
            event: event.to_string(),
            args,
            ack_id,
            frames: frames.into(),
        }
    }
}

/// Connection state recovery kept by a cluster adapter instead of the namespace's memory
/// (socket.io's `persistSession` / `restoreSession`): sessions outlive the node that held them,
/// and broadcasts carry the cluster's offsets, so a client dropped by one node recovers on any.
pub trait SessionStore: Send + Sync {
    /// Keeps a disconnected socket's state for `ttl`.
    fn persist(&self, session: crate::recovery::PersistedSession, ttl: Duration);

    /// The session of `pid` and the packets after `offset` it missed; `None` when the session
    /// expired, was restored already, or the offset is unknown. A session restores once.
    fn restore(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'static, Option<crate::recovery::RestoredSession>>;

    /// The broadcasts after `offset` (exclusive) that reach a socket in `rooms`, each with
    /// its offset appended: asked once the restored socket sees broadcasts again, for those
    /// appended after [`crate::recovery::RestoredSession::read_up_to`] meanwhile.
    fn missed_after(
        &self,
        offset: &str,
        rooms: &[Room],
    ) -> BoxFuture<'static, Vec<(String, Payload)>>;
}

/// The adapter of one namespace.
pub trait Adapter: Send + Sync + 'static {
    /// This node's rooms of the namespace.
    fn index(&self) -> &RoomIndex;

    /// Where recoverable sessions live when connection state recovery is on: `None` (the
    /// default) keeps them in the namespace's memory and numbers broadcasts there. An adapter
    /// that answers `Some` also appends each eligible broadcast's offset itself (a broadcast
    /// without acks, not volatile, not local: its last argument, the offset its clients
    /// send back when they reconnect), locally and on every node.
    fn session_store(&self) -> Option<&dyn SessionStore> {
        None
    }

    /// Called once when the namespace is created (keep a `Weak` of it: the namespace owns
    /// its adapter).
    fn init(&self, _nsp: &Arc<dyn LocalNamespace>) {}

    /// Called when the namespace or the server closes.
    fn close(&self) {}

    /// Resolves when what [`Adapter::close`] started is done (cluster messages still queued,
    /// sessions persisted at shutdown, sent); [`crate::Server::close`] waits for it, bounded.
    fn closed(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }

    /// Delivers `packet` to the local recipients selected by `opts`; a cluster adapter also
    /// forwards it unless `opts.flags.local`.
    fn broadcast(
        &self,
        nsp: &dyn LocalNamespace,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
    ) {
        nsp.deliver(packet, opts);
    }

    /// Like [`Adapter::broadcast`] but every recipient gets the packet's ack id registered to
    /// `collector`. Returns the number of local recipients; a cluster adapter adds remote
    /// counts through `collector` as they arrive.
    fn broadcast_with_ack(
        &self,
        nsp: &dyn LocalNamespace,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        collector: &AckCollector,
    ) -> usize {
        nsp.deliver_with_ack(packet, opts, collector)
    }

    /// Sockets selected by `opts`, with their rooms and data, on every node.
    fn fetch_sockets(
        &self,
        nsp: &dyn LocalNamespace,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let list = nsp.fetch(opts);
        Box::pin(async move { Ok(list) })
    }

    /// Makes the selected sockets join `rooms`, on every node.
    fn add_sockets(&self, nsp: &dyn LocalNamespace, opts: &BroadcastOptions, rooms: &[Room]) {
        nsp.join(opts, rooms);
    }

    /// Makes the selected sockets leave `rooms`, on every node.
    fn del_sockets(&self, nsp: &dyn LocalNamespace, opts: &BroadcastOptions, rooms: &[Room]) {
        nsp.leave(opts, rooms);
    }

    /// Disconnects the selected sockets, on every node.
    fn disconnect_sockets(&self, nsp: &dyn LocalNamespace, opts: &BroadcastOptions, close: bool) {
        nsp.disconnect(opts, close);
    }

    /// Sends an event to the other servers of the cluster (nothing to do on one node).
    fn server_side_emit(
        &self,
        _nsp: &dyn LocalNamespace,
        _event: &str,
        _args: &Payload,
    ) -> Result<(), AdapterError> {
        Ok(())
    }

    /// Sends an event to the other servers and collects one answer from each.
    fn server_side_emit_with_ack(
        &self,
        _nsp: &dyn LocalNamespace,
        _event: &str,
        _args: &Payload,
    ) -> BoxFuture<'static, Result<Vec<Payload>, AdapterError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Every room of the namespace, on every node.
    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, AdapterError>> {
        let rooms = self.index().rooms();
        Box::pin(async move { Ok(rooms) })
    }
}

/// Why a cluster-wide adapter operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("timeout reached while waiting for {operation} responses ({received} of {expected} nodes answered)")]
    Timeout {
        operation: &'static str,
        received: usize,
        expected: usize,
    },
    #[error("adapter unavailable: {0}")]
    Unavailable(String),
}

/// Creates the adapter of each namespace.
pub trait AdapterFactory: Send + Sync + 'static {
    fn create(&self, nsp_name: &str) -> Arc<dyn Adapter>;
}

impl<F> AdapterFactory for F
where
    F: Fn(&str) -> Arc<dyn Adapter> + Send + Sync + 'static,
{
    fn create(&self, nsp_name: &str) -> Arc<dyn Adapter> {
        self(nsp_name)
    }
}
