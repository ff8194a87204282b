//! Adapters keep a namespace's rooms and carry broadcasts to their recipients.
//!
//! Every adapter owns a local [`RoomIndex`]; the trait's default methods implement the
//! in-memory behaviour on it, so the Redis adapter only overrides what crosses nodes.

mod memory;
mod rooms;

pub use memory::MemoryAdapter;
pub use rooms::{Room, RoomIndex};

use crate::engineio::Frame;
use crate::id::Sid;
use crate::namespace::Namespace;
use crate::operator::RemoteSocket;
use crate::Payload;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// Modifiers of a broadcast, as socket.io's `BroadcastFlags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Drop for recipients whose transport is not writable right now.
    pub volatile: bool,
    /// Ask for compression where the transport supports it.
    pub compress: bool,
    /// Do not forward to other nodes of a cluster.
    pub local: bool,
    /// Acknowledgement timeout for broadcasts with acks.
    pub timeout: Option<Duration>,
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

/// The adapter of one namespace.
pub trait Adapter: Send + Sync + 'static {
    /// This node's rooms of the namespace.
    fn index(&self) -> &RoomIndex;

    /// Called once when the namespace is created.
    fn init(&self, _nsp: &Arc<Namespace>) {}

    /// Called when the namespace or the server closes.
    fn close(&self) {}

    /// Delivers `packet` to the local recipients selected by `opts`; a cluster adapter also
    /// forwards it unless `opts.flags.local`.
    fn broadcast(&self, nsp: &Arc<Namespace>, packet: &BroadcastPacket, opts: &BroadcastOptions) {
        deliver_local(nsp, self.index(), packet, opts);
    }

    /// Like [`Adapter::broadcast`] but every recipient gets the packet's ack id registered to
    /// `collector`. Returns the number of local recipients; a cluster adapter adds remote
    /// counts through `collector` as they arrive.
    fn broadcast_with_ack(
        &self,
        nsp: &Arc<Namespace>,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        collector: &crate::socket::AckCollector,
    ) -> usize {
        local_broadcast_with_ack(nsp, self.index(), packet, opts, collector)
    }

    /// Sockets selected by `opts`, with their rooms and data, on every node.
    fn fetch_sockets(
        &self,
        nsp: &Arc<Namespace>,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let list = local_sockets(nsp, self.index(), opts)
            .into_iter()
            .map(|s| RemoteSocket::from_local(&s))
            .collect();
        Box::pin(async move { Ok(list) })
    }

    /// Makes the selected sockets join `rooms`, on every node.
    fn add_sockets(&self, nsp: &Arc<Namespace>, opts: &BroadcastOptions, rooms: &[Room]) {
        for s in local_sockets(nsp, self.index(), opts) {
            s.join(rooms.iter().cloned());
        }
    }

    /// Makes the selected sockets leave `rooms`, on every node.
    fn del_sockets(&self, nsp: &Arc<Namespace>, opts: &BroadcastOptions, rooms: &[Room]) {
        for s in local_sockets(nsp, self.index(), opts) {
            for r in rooms {
                s.leave(r);
            }
        }
    }

    /// Disconnects the selected sockets, on every node.
    fn disconnect_sockets(&self, nsp: &Arc<Namespace>, opts: &BroadcastOptions, close: bool) {
        for s in local_sockets(nsp, self.index(), opts) {
            s.disconnect(close);
        }
    }

    /// Sends an event to the other servers of the cluster (nothing to do on one node).
    fn server_side_emit(
        &self,
        _nsp: &Arc<Namespace>,
        _event: &str,
        _args: &Payload,
    ) -> Result<(), AdapterError> {
        Ok(())
    }

    /// Sends an event to the other servers and collects one answer from each.
    fn server_side_emit_with_ack(
        &self,
        _nsp: &Arc<Namespace>,
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

/// Queues `packet` to every local socket `opts` selects. Shared by every adapter.
pub fn deliver_local(
    nsp: &Arc<Namespace>,
    index: &RoomIndex,
    packet: &BroadcastPacket,
    opts: &BroadcastOptions,
) -> usize {
    local_sockets(nsp, index, opts)
        .iter()
        .filter(|socket| socket.deliver_broadcast(packet, opts.flags.volatile))
        .count()
}

/// Queues a broadcast with acks to the local sockets `opts` selects, registering the
/// packet's ack id to `collector` on each; returns how many got it.
pub fn local_broadcast_with_ack(
    nsp: &Arc<Namespace>,
    index: &RoomIndex,
    packet: &BroadcastPacket,
    opts: &BroadcastOptions,
    collector: &crate::socket::AckCollector,
) -> usize {
    let mut count = 0;
    for socket in local_sockets(nsp, index, opts) {
        if let Some(id) = packet.ack_id {
            socket.register_collector(id, collector.clone());
        }
        if socket.deliver_broadcast(packet, opts.flags.volatile) {
            count += 1;
        }
    }
    count
}

/// The local sockets `opts` selects.
pub fn local_sockets(
    nsp: &Arc<Namespace>,
    index: &RoomIndex,
    opts: &BroadcastOptions,
) -> Vec<crate::SocketRef> {
    // One pass under the namespace's and the index's read locks (nothing takes them in the
    // other order, nor holds one while writing the other): a broadcast to a large room copies
    // each recipient's handle once and looks nothing up twice. Delivery happens after both
    // locks are released.
    let mut out = Vec::new();
    nsp.with_sockets(|sockets| {
        index.for_each_target(opts, |sid: &Sid| {
            // A socket whose CONNECT is not queued yet does not exist for the client: a
            // packet queued now would precede it (socket.io adds and announces in one tick).
            if let Some(s) = sockets.get(sid).filter(|s| s.announced()) {
                out.push(s.clone());
            }
        })
    });
    out
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
