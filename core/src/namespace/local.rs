//! The namespace as its adapter sees it ([`LocalNamespace`]): this node's sockets, selected by
//! room from the adapter's index.

use super::recipients::Recipients;
use super::Namespace;
use crate::adapter::{
    AckCollector, BroadcastOptions, BroadcastPacket, LocalNamespace, RemoteSocket, Room,
    ServerSideEvent,
};
use crate::id::Sid;
use crate::socket::SendFlags;
use crate::socket::SocketRef;
use crate::socketio::parser::Parser;
use tokio::runtime::Handle;

impl Namespace {
    /// Calls `f` for each local socket `opts` selects.
    fn for_each_local(&self, opts: &BroadcastOptions, mut f: impl FnMut(&SocketRef)) {
        // One pass under the namespace's and the index's read locks (nothing takes them in
        // the other order, nor holds one while writing the other): a broadcast to a large room
        // copies each recipient's handle once and looks nothing up twice. Delivery happens
        // after both locks are released.
        let index = self.adapter().index();
        self.with_sockets(|sockets| {
            index.for_each_target(opts, |sid: &Sid| {
                // A socket whose CONNECT is not queued yet does not exist for the client: a
                // packet queued now would precede it (socket.io adds and announces in one
                // tick).
                if let Some(s) = sockets.get(sid).filter(|s| s.announced()) {
                    f(s);
                }
            })
        });
    }

    /// The local sockets `opts` selects.
    pub(crate) fn select_local(&self, opts: &BroadcastOptions) -> Vec<SocketRef> {
        let mut out = Vec::new();
        self.for_each_local(opts, |s| out.push(s.clone()));
        out
    }

    /// The sockets `opts.except` names, when there are few enough to compare each recipient
    /// with.
    fn few_excepted(&self, opts: &BroadcastOptions) -> Option<Vec<SocketRef>> {
        const FEW: usize = 8;
        let sids = self.adapter().index().members_up_to(&opts.except, FEW)?;
        Some(self.with_sockets(|sockets| {
            sids.iter()
                .filter_map(|s| sockets.get(s).cloned())
                .collect()
        }))
    }

    /// [`Namespace::select_local`], sorted by how each socket takes a broadcast.
    fn walk_recipients(&self, opts: &BroadcastOptions) -> Recipients {
        let mut out = Recipients::default();
        self.for_each_local(opts, |s| out.push(s));
        out
    }
}

impl LocalNamespace for Namespace {
    fn name(&self) -> &str {
        Namespace::name(self)
    }

    fn parser(&self) -> Parser {
        Namespace::parser(self)
    }

    fn runtime(&self) -> &Handle {
        Namespace::runtime(self)
    }

    fn next_ack_id(&self) -> u64 {
        Namespace::next_ack_id(self)
    }

    fn deliver(&self, packet: &BroadcastPacket, opts: &BroadcastOptions) -> usize {
        let flags = SendFlags::of(&opts.flags);
        if self.monitor().is_some() {
            // The monitor hears of every recipient, through the socket.
            return self
                .select_local(opts)
                .iter()
                .filter(|socket| socket.deliver_broadcast(packet, flags))
                .count();
        }
        let index = self.adapter().index();
        let generation = index.generation();
        let cache = self.recipient_cache();
        // A broadcast that excepts a few sockets (`socket.to(room)` excepts its own) uses the
        // selection without the exception, so every sender to a room shares one.
        if !opts.except.is_empty() {
            if let Some(excepted) = self.few_excepted(opts) {
                let whole = BroadcastOptions {
                    rooms: opts.rooms.clone(),
                    ..BroadcastOptions::default()
                };
                let recipients = cache.get(&whole, generation, || self.walk_recipients(&whole));
                // The exception and the selection must be of one state of the rooms; after a
                // join or leave in between, the walk below takes both at once.
                if index.generation() == generation {
                    return recipients.deliver(packet, flags, &excepted);
                }
            }
        }
        cache
            .get(opts, generation, || self.walk_recipients(opts))
            .deliver(packet, flags, &[])
    }

    fn deliver_with_ack(
        &self,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        collector: &AckCollector,
    ) -> usize {
        let mut count = 0;
        for socket in self.select_local(opts) {
            if let Some(id) = packet.ack_id {
                socket.register_collector(id, collector.clone());
            }
            if socket.deliver_broadcast(packet, SendFlags::of(&opts.flags)) {
                count += 1;
            }
        }
        count
    }

    fn fetch(&self, opts: &BroadcastOptions) -> Vec<RemoteSocket> {
        self.select_local(opts)
            .iter()
            .map(RemoteSocket::from_local)
            .collect()
    }

    fn join(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for s in self.select_local(opts) {
            s.join(rooms.iter().cloned());
        }
    }

    fn leave(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for s in self.select_local(opts) {
            for r in rooms {
                s.leave(r);
            }
        }
    }

    fn disconnect(&self, opts: &BroadcastOptions, close: bool) {
        for s in self.select_local(opts) {
            s.disconnect(close);
        }
    }

    fn deliver_server_side(&self, event: ServerSideEvent) {
        if let Some(me) = self.me.upgrade() {
            me.handler().server_side_event(&me, event);
        }
    }

    fn recovers(&self) -> bool {
        self.recovery().is_some()
    }
}
