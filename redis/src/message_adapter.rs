//! socket.io-adapter's `ClusterAdapter` for one namespace, over whatever carries its messages
//! between nodes (a [`Transport`]): the streams adapter (a Redis stream plus pub/sub) and the
//! sharded adapter (sharded pub/sub) differ only there.

use crate::cluster::{self, random_id, Pending, Requests};
use crate::streams::message::{Body, Message};
use futures_util::future::BoxFuture;
use roomcast::adapter::{
    AckCollector, Adapter, AdapterError, BroadcastOptions, BroadcastPacket, LocalNamespace,
    RemoteSocket, Room, RoomIndex, ServerSideAck, ServerSideEvent, SessionStore,
};
use roomcast::recovery::{PersistedSession, RestoredSession};
use roomcast::Payload;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// How a node's adapters reach the other nodes. Public only so the adapter type can name it;
/// not implementable outside this crate in any useful way.
pub trait Transport: Send + Sync + Sized + 'static {
    /// Starts listening for the namespace of `adapter` (the node's tasks start with the first).
    fn register(self: &Arc<Self>, adapter: &Arc<MessageAdapter<Self>>, runtime: &Handle);
    /// Stops listening for a closed namespace's adapter.
    fn unregister(&self, nsp: &Arc<str>, uid: &str);
    /// Sends to every node of the namespace.
    fn publish(&self, message: Message);
    /// Sends to the node whose adapter is `to`.
    fn respond(&self, to: &str, message: Message);
    /// How many nodes serve the namespace, this one included.
    fn server_count(
        self: Arc<Self>,
        nsp: Arc<str>,
    ) -> BoxFuture<'static, redis::RedisResult<usize>>;
    /// How long cluster-wide requests wait for every node.
    fn requests_timeout(&self) -> Duration;

    /// [`Transport::publish`], then `then` with the offset the transport gave the message (a
    /// stream entry's id; `None` for a transport without offsets, or when it failed), called
    /// in the order of the sends.
    fn publish_then(&self, message: Message, then: OnAppended) {
        self.publish(message);
        then(None);
    }

    /// Resolves once a closed node has sent what it still held.
    fn flushed(self: Arc<Self>) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }

    /// Whether recoverable sessions live in the cluster (the methods below).
    fn keeps_sessions(&self) -> bool {
        false
    }

    /// Keeps a disconnected socket's session of namespace `nsp` for `ttl`.
    fn persist(&self, _nsp: &str, _session: PersistedSession, _ttl: Duration) {}

    /// See [`SessionStore::restore`].
    fn restore(
        self: Arc<Self>,
        _nsp: Arc<str>,
        _pid: &str,
        _offset: &str,
    ) -> BoxFuture<'static, Option<RestoredSession>> {
        Box::pin(std::future::ready(None))
    }

    /// See [`SessionStore::missed_after`].
    fn missed_after(
        self: Arc<Self>,
        _nsp: Arc<str>,
        _offset: &str,
        _rooms: &[Room],
    ) -> BoxFuture<'static, Vec<(String, Payload)>> {
        Box::pin(std::future::ready(Vec::new()))
    }
}

/// Called with the offset the cluster gave a message (see [`Transport::publish_then`]).
pub(crate) type OnAppended = Box<dyn FnOnce(Option<String>) + Send>;

/// The cluster adapter of one namespace.
pub struct MessageAdapter<T: Transport> {
    pub(crate) nsp_name: Arc<str>,
    pub(crate) uid: String,
    index: RoomIndex,
    node: Arc<T>,
    me: Weak<MessageAdapter<T>>,
    nsp: OnceLock<Weak<dyn LocalNamespace>>,
    requests: Arc<Requests>,
}

impl<T: Transport> MessageAdapter<T> {
    pub(crate) fn new(node: Arc<T>, nsp: &str) -> Arc<MessageAdapter<T>> {
        Arc::new_cyclic(|me| MessageAdapter {
            nsp_name: Arc::from(nsp),
            uid: random_id(),
            index: RoomIndex::new(),
            node,
            me: me.clone(),
            nsp: OnceLock::new(),
            requests: Arc::default(),
        })
    }

    fn namespace(&self) -> Option<Arc<dyn LocalNamespace>> {
        self.nsp.get().and_then(Weak::upgrade)
    }

    fn message(&self, body: Body) -> Message {
        Message {
            uid: self.uid.clone(),
            nsp: self.nsp_name.to_string(),
            body,
        }
    }

    /// The room index, for a transport that follows room changes.
    pub(crate) fn rooms(&self) -> &RoomIndex {
        &self.index
    }

    fn publish(&self, body: Body) {
        self.node.publish(self.message(body));
    }

    /// [`MessageAdapter::publish`]; `then` gets the offset the transport gave the message.
    fn publish_then(&self, body: Body, then: OnAppended) {
        self.node.publish_then(self.message(body), then);
    }

    fn respond(&self, uid: &str, body: Body) {
        self.node.respond(uid, self.message(body));
    }

    async fn gather<R>(
        &self,
        operation: &'static str,
        timeout: Duration,
        make: impl FnOnce(usize, oneshot::Sender<R>) -> Pending,
        body: impl FnOnce(String) -> Body,
    ) -> Result<Option<R>, AdapterError> {
        let nodes = self
            .node
            .clone()
            .server_count(self.nsp_name.clone())
            .await
            .map_err(|e| AdapterError::Unavailable(e.to_string()))?;
        self.requests
            .gather(operation, (nodes, timeout), random_id(), make, |id| {
                self.publish(body(id))
            })
            .await
    }

    fn timeout(&self, opts: &BroadcastOptions) -> Duration {
        opts.flags.timeout.unwrap_or(self.node.requests_timeout())
    }

    /// A message from another node (its own come back too, and are skipped); `offset` is its
    /// stream entry id (none for pub/sub).
    pub(crate) fn on_message(&self, message: Message, offset: Option<&str>) {
        if message.uid == self.uid || message.nsp != *self.nsp_name {
            return;
        }
        let Some(nsp) = self.namespace() else { return };
        let from = message.uid;
        match message.body {
            Body::Presence(_) => {}
            Body::Broadcast {
                request_id: None,
                event,
                args,
                opts,
            } => {
                let offset = offset.filter(|_| nsp.recovers() && !opts.flags.volatile);
                let packet = with_offset(&*nsp, &event, args, offset);
                nsp.deliver(&packet, &opts);
            }
            Body::Broadcast {
                request_id: Some(request_id),
                event,
                args,
                opts,
            } => {
                let timeout = self.timeout(&opts);
                let me = self.me.clone();
                let (to, id) = (from.clone(), request_id.clone());
                cluster::answer_broadcast_with_ack(
                    &nsp,
                    &event,
                    args,
                    opts,
                    timeout,
                    |count| {
                        self.respond(
                            &from,
                            Body::BroadcastClientCount {
                                request_id,
                                count: count as u64,
                            },
                        )
                    },
                    move |arg| {
                        if let Some(a) = me.upgrade() {
                            let request_id = id.clone();
                            a.respond(&to, Body::BroadcastAck { request_id, arg });
                        }
                    },
                );
            }
            Body::SocketsJoin { opts, rooms } => nsp.join(&opts, &rooms),
            Body::SocketsLeave { opts, rooms } => nsp.leave(&opts, &rooms),
            Body::DisconnectSockets { opts, close } => nsp.disconnect(&opts, close),
            Body::FetchSockets { request_id, opts } => {
                let sockets = nsp.fetch(&opts).iter().map(cluster::socket_json).collect();
                self.respond(
                    &from,
                    Body::FetchSocketsResponse {
                        request_id,
                        sockets,
                    },
                );
            }
            Body::ServerSideEmit {
                request_id,
                event,
                args,
            } => {
                let ack = request_id.map(|request_id| {
                    let me = self.me.clone();
                    ServerSideAck::new(move |args| {
                        if let Some(a) = me.upgrade() {
                            let body = Body::ServerSideEmitResponse {
                                request_id,
                                arg: args,
                            };
                            a.respond(&from, body);
                        }
                    })
                });
                nsp.deliver_server_side(ServerSideEvent {
                    name: event,
                    args,
                    ack,
                });
            }
            Body::FetchSocketsResponse {
                request_id,
                sockets,
            } => self
                .requests
                .on_sockets(&self.nsp_name, &request_id, &sockets),
            Body::ServerSideEmitResponse { request_id, arg } => {
                self.requests.on_server_side(&request_id, arg)
            }
            Body::BroadcastClientCount { request_id, count } => {
                self.requests.on_client_count(&request_id, count as usize)
            }
            Body::BroadcastAck { request_id, arg } => self.requests.on_ack(&request_id, arg),
        }
    }
}

impl<T: Transport> Adapter for MessageAdapter<T> {
    fn index(&self) -> &RoomIndex {
        &self.index
    }

    fn init(&self, nsp: &Arc<dyn LocalNamespace>) {
        let _ = self.nsp.set(Arc::downgrade(nsp));
        if let Some(me) = self.me.upgrade() {
            self.node.register(&me, nsp.runtime());
        }
    }

    fn close(&self) {
        self.node.unregister(&self.nsp_name, &self.uid);
    }

    fn closed(&self) -> BoxFuture<'static, ()> {
        let node = self.node.clone();
        Box::pin(async move { node.flushed().await })
    }

    fn broadcast(
        &self,
        nsp: &dyn LocalNamespace,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
    ) {
        if opts.flags.local {
            nsp.deliver(packet, opts);
            return;
        }
        let body = Body::Broadcast {
            request_id: None,
            event: packet.event.clone(),
            args: packet.args.clone(),
            opts: opts.clone(),
        };
        if !nsp.recovers() || opts.flags.volatile || !self.node.keeps_sessions() {
            self.publish(body);
            nsp.deliver(packet, opts);
            return;
        }
        // The offset is the entry's id, known once Redis appended it: local clients get the
        // packet then (as socket.io's ClusterAdapter does), with the id every node appends.
        let me = self.me.clone();
        let (event, args, opts) = (packet.event.clone(), packet.args.clone(), opts.clone());
        self.publish_then(
            body,
            Box::new(move |id: Option<String>| {
                let Some(nsp) = me.upgrade().and_then(|a| a.namespace()) else {
                    return;
                };
                if id.is_none() {
                    tracing::warn!("redis unreachable: a broadcast goes to this node's clients without an offset");
                }
                let packet = with_offset(&*nsp, &event, args, id.as_deref());
                nsp.deliver(&packet, &opts);
            }),
        );
    }

    fn session_store(&self) -> Option<&dyn SessionStore> {
        self.node
            .keeps_sessions()
            .then_some(self as &dyn SessionStore)
    }

    fn broadcast_with_ack(
        &self,
        nsp: &dyn LocalNamespace,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        collector: &AckCollector,
    ) -> usize {
        if !opts.flags.local {
            let request_id = random_id();
            let (node, name) = (self.node.clone(), self.nsp_name.clone());
            self.requests.track_broadcast_with_ack(
                nsp.runtime(),
                request_id.clone(),
                collector,
                self.timeout(opts),
                async move { node.server_count(name).await.unwrap_or(1) },
            );
            self.publish(Body::Broadcast {
                request_id: Some(request_id),
                event: packet.event.clone(),
                args: packet.args.clone(),
                opts: opts.clone(),
            });
        }
        nsp.deliver_with_ack(packet, opts, collector)
    }

    fn fetch_sockets(
        &self,
        nsp: &dyn LocalNamespace,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let mut local = nsp.fetch(opts);
        let me = match self.me.upgrade() {
            Some(me) if !opts.flags.local => me,
            _ => return Box::pin(async move { Ok(local) }),
        };
        let opts = opts.clone();
        Box::pin(async move {
            let timeout = me.timeout(&opts);
            let remote = me
                .gather("fetchSockets", timeout, Pending::fetch, |request_id| {
                    Body::FetchSockets { request_id, opts }
                })
                .await?;
            local.extend(remote.unwrap_or_default());
            Ok(local)
        })
    }

    // Room changes and disconnections go on the stream and apply here at once (the sender
    // skips its own entries), as socket.io-adapter's ClusterAdapter does.
    fn add_sockets(&self, nsp: &dyn LocalNamespace, opts: &BroadcastOptions, rooms: &[Room]) {
        if !opts.flags.local {
            self.publish(Body::SocketsJoin {
                opts: opts.clone(),
                rooms: rooms.to_vec(),
            });
        }
        nsp.join(opts, rooms);
    }

    fn del_sockets(&self, nsp: &dyn LocalNamespace, opts: &BroadcastOptions, rooms: &[Room]) {
        if !opts.flags.local {
            self.publish(Body::SocketsLeave {
                opts: opts.clone(),
                rooms: rooms.to_vec(),
            });
        }
        nsp.leave(opts, rooms);
    }

    fn disconnect_sockets(&self, nsp: &dyn LocalNamespace, opts: &BroadcastOptions, close: bool) {
        if !opts.flags.local {
            self.publish(Body::DisconnectSockets {
                opts: opts.clone(),
                close,
            });
        }
        nsp.disconnect(opts, close);
    }

    fn server_side_emit(
        &self,
        _nsp: &dyn LocalNamespace,
        event: &str,
        args: &Payload,
    ) -> Result<(), AdapterError> {
        self.publish(Body::ServerSideEmit {
            request_id: None,
            event: event.to_string(),
            args: args.clone(),
        });
        Ok(())
    }

    fn server_side_emit_with_ack(
        &self,
        _nsp: &dyn LocalNamespace,
        event: &str,
        args: &Payload,
    ) -> BoxFuture<'static, Result<Vec<Payload>, AdapterError>> {
        let Some(me) = self.me.upgrade() else {
            return Box::pin(async { Ok(Vec::new()) });
        };
        let (event, args) = (event.to_string(), args.clone());
        Box::pin(async move {
            let timeout = me.node.requests_timeout();
            let answers = me
                .gather("serverSideEmit", timeout, Pending::server_side, |id| {
                    Body::ServerSideEmit {
                        request_id: Some(id),
                        event,
                        args,
                    }
                })
                .await?;
            Ok(answers.unwrap_or_default())
        })
    }
}

/// A broadcast encoded for this node's clients, its offset appended as the last argument.
fn with_offset(
    nsp: &dyn LocalNamespace,
    event: &str,
    mut args: Payload,
    offset: Option<&str>,
) -> BroadcastPacket {
    if let Some(offset) = offset {
        let _ = args.push(offset);
    }
    BroadcastPacket::new(nsp.parser(), nsp.name(), event, args, None)
}

impl<T: Transport> SessionStore for MessageAdapter<T> {
    fn persist(&self, session: PersistedSession, ttl: Duration) {
        self.node.persist(&self.nsp_name, session, ttl);
    }

    fn restore(&self, pid: &str, offset: &str) -> BoxFuture<'static, Option<RestoredSession>> {
        self.node
            .clone()
            .restore(self.nsp_name.clone(), pid, offset)
    }

    fn missed_after(
        &self,
        offset: &str,
        rooms: &[Room],
    ) -> BoxFuture<'static, Vec<(String, Payload)>> {
        self.node
            .clone()
            .missed_after(self.nsp_name.clone(), offset, rooms)
    }
}
