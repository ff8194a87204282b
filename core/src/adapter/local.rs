//! The namespace as its adapter sees it: a name, an encoding and this node's sockets. Adapters
//! are written against this view alone; [`crate::Namespace`] implements it.

use super::{AckCollector, BroadcastOptions, BroadcastPacket, RemoteSocket, Room, ServerSideEvent};
use crate::socketio::parser::Parser;
use tokio::runtime::Handle;

/// This node's side of a namespace. Every method that selects sockets reads the rooms from
/// the namespace's adapter's [`super::RoomIndex`].
pub trait LocalNamespace: Send + Sync + 'static {
    fn name(&self) -> &str;

    /// How the namespace's clients decode packets (to encode a broadcast from another node).
    fn parser(&self) -> Parser;

    /// Where the namespace's tasks run.
    fn runtime(&self) -> &Handle;

    /// A fresh ack id for a broadcast with acks.
    fn next_ack_id(&self) -> u64;

    /// Queues `packet` to the local sockets `opts` selects; returns how many got it.
    fn deliver(&self, packet: &BroadcastPacket, opts: &BroadcastOptions) -> usize;

    /// [`LocalNamespace::deliver`] for a broadcast with acks: each recipient registers the
    /// packet's ack id to `collector`.
    fn deliver_with_ack(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        collector: &AckCollector,
    ) -> usize;

    /// The local sockets `opts` selects, with their handshake, rooms and data.
    fn fetch(&self, opts: &BroadcastOptions) -> Vec<RemoteSocket>;

    /// Makes the local sockets `opts` selects join `rooms`.
    fn join(&self, opts: &BroadcastOptions, rooms: &[Room]);

    /// Makes the local sockets `opts` selects leave `rooms`.
    fn leave(&self, opts: &BroadcastOptions, rooms: &[Room]);

    /// Disconnects the local sockets `opts` selects (`close`: their whole connection).
    fn disconnect(&self, opts: &BroadcastOptions, close: bool);

    /// An event another server sent with `serverSideEmit`.
    fn deliver_server_side(&self, event: ServerSideEvent);

    /// Whether connection state recovery is on: broadcasts then carry offsets.
    fn recovers(&self) -> bool;
}
