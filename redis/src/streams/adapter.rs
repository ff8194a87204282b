//! The streams adapter of one namespace: socket.io-adapter's `ClusterAdapter` over a Redis
//! stream (broadcasts and room changes, which survive a reader's disconnection) and pub/sub
//! (requests and responses).

use super::message::{Body, Message};
use super::node::{OnAppended, Outgoing, StreamsNode};
use super::sessions;
use crate::cluster::{self, random_id, Pending, Requests};
use futures_util::future::BoxFuture;
use roomcast::adapter::{
    AckCollector, Adapter, AdapterError, BroadcastOptions, BroadcastPacket, LocalNamespace,
    RemoteSocket, Room, RoomIndex, ServerSideAck, ServerSideEvent, SessionStore,
};
use roomcast::recovery::{PersistedSession, RestoredSession};
use roomcast::Payload;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::oneshot;

/// The streams adapter of one namespace.
pub struct RedisStreamsAdapter {
    pub(crate) nsp_name: Arc<str>,
    pub(crate) uid: String,
    index: RoomIndex,
    node: Arc<StreamsNode>,
    me: Weak<RedisStreamsAdapter>,
    nsp: OnceLock<Weak<dyn LocalNamespace>>,
    requests: Arc<Requests>,
}

impl RedisStreamsAdapter {
    pub(crate) fn new(node: Arc<StreamsNode>, nsp: &str) -> Arc<RedisStreamsAdapter> {
        Arc::new_cyclic(|me| RedisStreamsAdapter {
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

    /// To every node: through pub/sub when only the nodes up now need it, else on the stream.
    fn publish(&self, body: Body) {
        self.publish_then(body, None);
    }

    /// [`RedisStreamsAdapter::publish`]; `then` gets the stream entry's id once it is appended
    /// (`None` if it could not be).
    fn publish_then(&self, body: Body, then: Option<OnAppended>) {
        let message = self.message(body);
        let outgoing = if message.body.is_ephemeral() {
            message
                .to_msgpack()
                .map(|bytes| Outgoing::Publish(self.node.public_channel(&self.nsp_name), bytes))
        } else {
            message
                .to_stream_fields()
                .map(|fields| Outgoing::Append(fields, then))
        };
        match outgoing {
            Ok(o) => self.node.send(o),
            Err(e) => tracing::warn!(error = %e, "cannot encode a cluster message"),
        }
    }

    /// To the node whose adapter is `uid`, on its private channel.
    fn respond(&self, uid: &str, body: Body) {
        match self.message(body).to_msgpack() {
            Ok(bytes) => self.node.send(Outgoing::Publish(
                self.node.private_channel(&self.nsp_name, uid),
                bytes,
            )),
            Err(e) => tracing::warn!(error = %e, "cannot encode a cluster response"),
        }
    }

    async fn gather<T>(
        &self,
        operation: &'static str,
        timeout: Duration,
        make: impl FnOnce(usize, oneshot::Sender<T>) -> Pending,
        body: impl FnOnce(String) -> Body,
    ) -> Result<Option<T>, AdapterError> {
        let nodes = self
            .node
            .server_count(&self.nsp_name)
            .await
            .map_err(|e| AdapterError::Unavailable(e.to_string()))?;
        self.requests
            .gather(operation, (nodes, timeout), random_id(), make, |id| {
                self.publish(body(id))
            })
            .await
    }

    fn timeout(&self, opts: &BroadcastOptions) -> Duration {
        opts.flags
            .timeout
            .unwrap_or(self.node.config.requests_timeout)
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

impl Adapter for RedisStreamsAdapter {
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
        if !nsp.recovers() || opts.flags.volatile {
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
            Some(Box::new(move |id: Option<String>| {
                let Some(nsp) = me.upgrade().and_then(|a| a.namespace()) else {
                    return;
                };
                if id.is_none() {
                    tracing::warn!("redis unreachable: a broadcast goes to this node's clients without an offset");
                }
                let packet = with_offset(&*nsp, &event, args, id.as_deref());
                nsp.deliver(&packet, &opts);
            })),
        );
    }

    fn session_store(&self) -> Option<&dyn SessionStore> {
        Some(self)
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
                async move { node.server_count(&name).await.unwrap_or(1) },
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
            let timeout = me.node.config.requests_timeout;
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

impl SessionStore for RedisStreamsAdapter {
    fn persist(&self, session: PersistedSession, ttl: Duration) {
        match sessions::encode(&session) {
            Ok(value) => self.node.send(Outgoing::Set(
                sessions::key(&self.node.config.session_key_prefix, session.pid.as_str()),
                value,
                ttl.as_millis() as u64,
            )),
            Err(e) => tracing::warn!(error = %e, "cannot encode a session for recovery"),
        }
    }

    fn missed_after(
        &self,
        offset: &str,
        rooms: &[Room],
    ) -> BoxFuture<'static, Vec<(String, Payload)>> {
        let node = self.node.clone();
        let nsp = self.nsp_name.clone();
        let (offset, rooms) = (offset.to_string(), rooms.to_vec());
        Box::pin(async move {
            let stream = node.config.stream_name.clone();
            let read = match node.commands().await {
                Ok(mut conn) => {
                    sessions::read_missed(&mut conn, &stream, &nsp, &rooms, &offset).await
                }
                Err(e) => Err(e),
            };
            read.map(|(missed, _)| missed).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "redis error: a recovered socket may miss what was sent while it reconnected");
                Vec::new()
            })
        })
    }

    fn restore(&self, pid: &str, offset: &str) -> BoxFuture<'static, Option<RestoredSession>> {
        let node = self.node.clone();
        let nsp = self.nsp_name.clone();
        let key = sessions::key(&node.config.session_key_prefix, pid);
        let offset = offset.to_string();
        Box::pin(async move {
            let conn = match node.commands().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "redis unreachable: a session cannot be recovered");
                    return None;
                }
            };
            let stream = node.config.stream_name.clone();
            match sessions::restore(conn, &stream, &key, &nsp, &offset).await {
                Ok(restored) => restored,
                Err(e) => {
                    tracing::warn!(error = %e, "redis error: a session cannot be recovered");
                    None
                }
            }
        })
    }
}
