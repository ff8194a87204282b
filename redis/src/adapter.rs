//! The Redis adapter of one namespace: local rooms in a [`RoomIndex`], broadcasts and
//! requests to and from the other nodes through [`RedisNode`].

use super::cluster::{self, Pending, Requests};
use super::node::RedisNode;
use super::short_id;
use super::wire::{self, Request, Response};
use futures_util::future::BoxFuture;
use roomcast::adapter::{
    AckCollector, Adapter, AdapterError, BroadcastOptions, BroadcastPacket, LocalNamespace,
    RemoteSocket, Room, RoomIndex, ServerSideAck, ServerSideEvent,
};
use roomcast::Payload;
use std::sync::{Arc, OnceLock, Weak};
use tokio::sync::oneshot;

/// The Redis adapter of one namespace.
pub struct RedisAdapter {
    pub(crate) nsp_name: Arc<str>,
    pub(crate) uid: String,
    index: RoomIndex,
    node: Arc<RedisNode>,
    me: Weak<RedisAdapter>,
    nsp: OnceLock<Weak<dyn LocalNamespace>>,
    requests: Arc<Requests>,
}

impl RedisAdapter {
    pub(crate) fn new(node: Arc<RedisNode>, nsp: &str) -> Arc<RedisAdapter> {
        Arc::new_cyclic(|me| RedisAdapter {
            nsp_name: Arc::from(nsp),
            uid: short_id(),
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

    fn request_channel(&self) -> String {
        format!("{}-request#{}#", self.node.config.key, self.nsp_name)
    }

    fn response_channel(&self) -> String {
        format!("{}-response#{}#", self.node.config.key, self.nsp_name)
    }

    fn publish_request(&self, req: &Request) {
        match wire::encode_request(req) {
            Ok(bytes) => self.node.publish(self.request_channel(), bytes),
            Err(e) => tracing::warn!(error = %e, "cannot encode a cluster request"),
        }
    }

    fn publish_response(&self, bytes: Vec<u8>) {
        self.node.publish(self.response_channel(), bytes);
    }

    /// Asks every other node; resolves with their answers or fails at the requests timeout.
    async fn gather<T>(
        &self,
        operation: &'static str,
        make: impl FnOnce(usize, oneshot::Sender<T>) -> Pending,
        request: impl FnOnce(String) -> Request,
    ) -> Result<Option<T>, AdapterError> {
        let nodes = self
            .node
            .num_sub(&self.nsp_name)
            .await
            .map_err(|e| AdapterError::Unavailable(e.to_string()))?;
        let limits = (nodes, self.node.config.requests_timeout);
        self.requests
            .gather(operation, limits, short_id(), make, |id| {
                self.publish_request(&request(id))
            })
            .await
    }

    pub(crate) fn on_broadcast(&self, room: &str, bytes: &[u8]) {
        // A message for one room this node does not have is for other nodes only.
        if !room.is_empty() && !self.index.has_room(room) {
            return;
        }
        let msg = match wire::decode_broadcast(bytes) {
            Ok(m) => m,
            Err(e) => {
                return tracing::warn!(error = %e, "dropping a malformed broadcast from redis")
            }
        };
        if msg.uid == self.uid || msg.nsp != *self.nsp_name {
            return;
        }
        let Some(nsp) = self.namespace() else { return };
        let packet = BroadcastPacket::new(nsp.parser(), &msg.nsp, &msg.event, msg.args, None);
        nsp.deliver(&packet, &msg.opts);
    }

    pub(crate) fn on_request(&self, bytes: &[u8]) {
        let req = match wire::decode_request(bytes) {
            Ok(r) => r,
            Err(e) => return tracing::warn!(error = %e, "dropping a malformed request from redis"),
        };
        let Some(nsp) = self.namespace() else { return };
        match req {
            Request::Sockets {
                request_id, rooms, ..
            } => {
                if self.requests.is_ours(&request_id) {
                    return;
                }
                let opts = BroadcastOptions {
                    rooms,
                    ..Default::default()
                };
                let ids = nsp
                    .fetch(&opts)
                    .into_iter()
                    .map(|s| serde_json::Value::String(s.id))
                    .collect();
                self.publish_response(wire::encode_sockets_response(&request_id, ids));
            }
            Request::AllRooms { request_id, .. } => {
                if self.requests.is_ours(&request_id) {
                    return;
                }
                self.publish_response(wire::encode_rooms_response(
                    &request_id,
                    &self.index.rooms(),
                ));
            }
            // Every node applies these when they come back from Redis, the sender included.
            Request::RemoteJoin { opts, rooms, .. } => {
                nsp.join(&opts, &rooms);
            }
            Request::RemoteLeave { opts, rooms, .. } => {
                nsp.leave(&opts, &rooms);
            }
            Request::RemoteDisconnect { opts, close, .. } => {
                nsp.disconnect(&opts, close);
            }
            Request::RemoteFetch {
                request_id, opts, ..
            } => {
                if self.requests.is_ours(&request_id) {
                    return;
                }
                let sockets = nsp.fetch(&opts).iter().map(cluster::socket_json).collect();
                self.publish_response(wire::encode_sockets_response(&request_id, sockets));
            }
            Request::ServerSideEmit {
                uid,
                request_id,
                event,
                args,
            } => {
                if uid.as_deref() == Some(self.uid.as_str()) {
                    return;
                }
                let ack = request_id.map(|id| {
                    let me = self.me.clone();
                    ServerSideAck::new(move |args| {
                        if let Some(a) = me.upgrade() {
                            a.publish_response(wire::encode_server_side_ack(&id, &args));
                        }
                    })
                });
                nsp.deliver_server_side(ServerSideEvent {
                    name: event,
                    args,
                    ack,
                });
            }
            Request::Broadcast {
                request_id,
                nsp: name,
                event,
                args,
                opts,
                ..
            } => {
                if self.requests.is_our_ack(&request_id) || name != *self.nsp_name {
                    return;
                }
                self.answer_broadcast_with_ack(&nsp, request_id, &event, args, opts);
            }
        }
    }

    /// Another node's broadcast with acks: deliver locally, report the client count, then
    /// forward each client's answer.
    fn answer_broadcast_with_ack(
        &self,
        nsp: &Arc<dyn LocalNamespace>,
        request_id: String,
        event: &str,
        args: Payload,
        opts: BroadcastOptions,
    ) {
        let timeout = opts
            .flags
            .timeout
            .unwrap_or(self.node.config.requests_timeout);
        let me = self.me.clone();
        let count_id = request_id.clone();
        cluster::answer_broadcast_with_ack(
            nsp,
            event,
            args,
            opts,
            timeout,
            |count| self.publish_response(wire::encode_client_count(&count_id, count)),
            move |p| {
                if let Some(a) = me.upgrade() {
                    a.publish_response(wire::encode_ack_response(&request_id, &p));
                }
            },
        );
    }

    pub(crate) fn on_response(&self, bytes: &[u8]) {
        let resp = match wire::decode_response(bytes) {
            Ok(r) => r,
            Err(e) => {
                return tracing::debug!(error = %e, "dropping a malformed response from redis")
            }
        };
        match resp {
            Response::ClientCount { request_id, count } => {
                self.requests.on_client_count(&request_id, count as usize)
            }
            Response::Ack { request_id, arg } => self.requests.on_ack(&request_id, arg),
            Response::Sockets {
                request_id,
                sockets,
            } => self
                .requests
                .on_sockets(&self.nsp_name, &request_id, &sockets),
            Response::Rooms { request_id, rooms } => self.requests.on_rooms(&request_id, rooms),
            Response::ServerSideAck { request_id, data } => {
                self.requests.on_server_side(&request_id, data)
            }
            Response::Done { .. } => {}
        }
    }
}

impl Adapter for RedisAdapter {
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

    fn broadcast(
        &self,
        nsp: &dyn LocalNamespace,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
    ) {
        if !opts.flags.local {
            match wire::encode_broadcast(&self.uid, nsp.name(), &packet.event, &packet.args, opts) {
                Ok(bytes) => self.node.publish(
                    wire::broadcast_channel(&self.node.config.key, nsp.name(), &opts.rooms),
                    bytes,
                ),
                Err(e) => tracing::warn!(error = %e, "cannot encode a broadcast for redis"),
            }
        }
        nsp.deliver(packet, opts);
    }

    fn broadcast_with_ack(
        &self,
        nsp: &dyn LocalNamespace,
        packet: &BroadcastPacket,
        opts: &BroadcastOptions,
        collector: &AckCollector,
    ) -> usize {
        if !opts.flags.local {
            let request_id = short_id();
            let req = Request::Broadcast {
                uid: Some(self.uid.clone()),
                request_id: request_id.clone(),
                nsp: nsp.name().to_string(),
                event: packet.event.clone(),
                args: packet.args.clone(),
                opts: opts.clone(),
            };
            let timeout = opts
                .flags
                .timeout
                .unwrap_or(self.node.config.requests_timeout);
            let (node, name) = (self.node.clone(), self.nsp_name.clone());
            self.requests.track_broadcast_with_ack(
                nsp.runtime(),
                request_id,
                collector,
                timeout,
                async move { node.num_sub(&name).await.unwrap_or(1) },
            );
            self.publish_request(&req);
        }
        nsp.deliver_with_ack(packet, opts, collector)
    }

    fn fetch_sockets(
        &self,
        nsp: &dyn LocalNamespace,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<RemoteSocket>, AdapterError>> {
        let mut local = nsp.fetch(opts);
        let Some(me) = self.me.upgrade() else {
            return Box::pin(async move { Ok(local) });
        };
        if opts.flags.local {
            return Box::pin(async move { Ok(local) });
        }
        let wire_opts = opts.clone();
        Box::pin(async move {
            let remote = me
                .gather("fetchSockets", Pending::fetch, |request_id| {
                    Request::RemoteFetch {
                        uid: Some(me.uid.clone()),
                        request_id,
                        opts: wire_opts,
                    }
                })
                .await?;
            local.extend(remote.unwrap_or_default());
            Ok(local)
        })
    }

    fn add_sockets(&self, nsp: &dyn LocalNamespace, opts: &BroadcastOptions, rooms: &[Room]) {
        if opts.flags.local {
            nsp.join(opts, rooms);
            return;
        }
        self.publish_request(&Request::RemoteJoin {
            uid: Some(self.uid.clone()),
            opts: opts.clone(),
            rooms: rooms.to_vec(),
        });
    }

    fn del_sockets(&self, nsp: &dyn LocalNamespace, opts: &BroadcastOptions, rooms: &[Room]) {
        if opts.flags.local {
            nsp.leave(opts, rooms);
            return;
        }
        self.publish_request(&Request::RemoteLeave {
            uid: Some(self.uid.clone()),
            opts: opts.clone(),
            rooms: rooms.to_vec(),
        });
    }

    fn disconnect_sockets(&self, nsp: &dyn LocalNamespace, opts: &BroadcastOptions, close: bool) {
        if opts.flags.local {
            nsp.disconnect(opts, close);
            return;
        }
        self.publish_request(&Request::RemoteDisconnect {
            uid: Some(self.uid.clone()),
            opts: opts.clone(),
            close,
        });
    }

    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, AdapterError>> {
        let mut rooms = self.index.rooms();
        let Some(me) = self.me.upgrade() else {
            return Box::pin(async move { Ok(rooms) });
        };
        Box::pin(async move {
            let remote = me
                .gather("allRooms", Pending::rooms, |request_id| Request::AllRooms {
                    uid: Some(me.uid.clone()),
                    request_id,
                })
                .await?;
            rooms.extend(remote.unwrap_or_default());
            rooms.sort();
            rooms.dedup();
            Ok(rooms)
        })
    }

    fn server_side_emit(
        &self,
        _nsp: &dyn LocalNamespace,
        event: &str,
        args: &Payload,
    ) -> Result<(), AdapterError> {
        self.publish_request(&Request::ServerSideEmit {
            uid: Some(self.uid.clone()),
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
            let answers = me
                .gather("serverSideEmit", Pending::server_side, |request_id| {
                    Request::ServerSideEmit {
                        uid: Some(me.uid.clone()),
                        request_id: Some(request_id),
                        event,
                        args,
                    }
                })
                .await?;
            Ok(answers.unwrap_or_default())
        })
    }
}
