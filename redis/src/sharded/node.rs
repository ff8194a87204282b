//! The cluster connection one node shares between its namespaces' sharded adapters: an ordered
//! publish queue (`SPUBLISH`, routed to the owner of each channel's slot) and a task that keeps
//! the node's sharded subscriptions in line with its namespaces and, in the dynamic modes, with
//! the rooms that have local sockets.

use super::{RedisShardedAdapter, RedisShardedConfig, SubscriptionMode};
use crate::message_adapter::Transport;
use crate::streams::message::{Body, Message};
use crate::RedisSetupError;
use futures_util::future::BoxFuture;
use parking_lot::RwLock;
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{PushInfo, PushKind, Value};
use roomcast::adapter::Room;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

/// Messages waiting for Redis while it is slow or away; past this they are dropped with a
/// warning (pub/sub would not keep them for absent subscribers anyway).
const PUBLISH_QUEUE_BOUND: usize = 65_536;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often subscriptions that failed (a cluster node was away) are tried again.
const RETRY_EVERY: Duration = Duration::from_millis(500);
const TIMEOUT: Duration = Duration::from_secs(2);

enum Command {
    /// A namespace's adapter started: its channels and rooms are subscribed.
    Namespace(Arc<str>),
    /// A room of a namespace appeared or vanished: its channel follows.
    Room(Arc<str>, Room),
    /// A namespace's adapter closed: its channels are dropped.
    Close(Arc<str>),
}

type Tasks = (
    mpsc::Sender<(String, Vec<u8>)>,
    mpsc::UnboundedSender<Command>,
);

/// One node's connection to a Redis Cluster for the sharded adapter.
pub struct ShardedNode {
    pub(crate) config: RedisShardedConfig,
    client: ClusterClient,
    adapters: RwLock<HashMap<Arc<str>, Weak<RedisShardedAdapter>>>,
    /// The cluster connection once made (it reconnects to its nodes by itself after that).
    conn: watch::Sender<Option<ClusterConnection>>,
    started: OnceLock<Tasks>,
    /// Set when the last adapter is gone: every task finishes.
    closed: watch::Sender<bool>,
}

async fn until_closed(closed: &mut watch::Receiver<bool>) {
    let _ = closed.wait_for(|c| *c).await.map(drop);
}

/// Whether a room looks like a socket id to the npm adapter (20 UTF-16 units, as JavaScript
/// counts a string's length): it decides which channel a room broadcast goes to.
fn looks_like_a_socket_id(room: &str) -> bool {
    room.encode_utf16().count() == 20
}

impl ShardedNode {
    pub(crate) fn new(config: RedisShardedConfig) -> Result<Arc<ShardedNode>, RedisSetupError> {
        if config.nodes.is_empty() {
            return Err(RedisSetupError::InvalidOption(
                "the sharded adapter needs at least one Redis Cluster node URL".into(),
            ));
        }
        for url in &config.nodes {
            redis::parse_redis_url(url)
                .ok_or_else(|| RedisSetupError::InvalidUrl {
                    url: url.clone(),
                    source: redis::RedisError::from((
                        redis::ErrorKind::InvalidClientConfig,
                        "not a redis:// or rediss:// URL",
                    )),
                })
                .map(drop)?;
        }
        let client = ClusterClient::builder(config.nodes.iter().map(String::as_str))
            .use_protocol(redis::ProtocolVersion::RESP3)
            .connection_timeout(TIMEOUT)
            .response_timeout(TIMEOUT)
            .build()
            .map_err(|source| RedisSetupError::InvalidUrl {
                url: config.nodes.join(","),
                source,
            })?;
        Ok(Arc::new(ShardedNode {
            config,
            client,
            adapters: RwLock::new(HashMap::new()),
            conn: watch::channel(None).0,
            started: OnceLock::new(),
            closed: watch::channel(false).0,
        }))
    }

    /// The namespace's channel: requests, and broadcasts to several rooms or none.
    fn channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.config.channel_prefix)
    }

    /// The channel of one room, or of the responses to one adapter (`<uid>` as the room).
    fn room_channel(&self, nsp: &str, room: &str) -> String {
        format!("{}#{nsp}#{room}#", self.config.channel_prefix)
    }

    /// Where a message to every node goes: a broadcast without acks to exactly one room has
    /// the room's channel in the dynamic modes (nodes without that room never see it), as the
    /// npm adapter's `computeChannel` decides.
    fn channel_of(&self, message: &Message) -> String {
        if let Body::Broadcast {
            request_id: None,
            opts,
            ..
        } = &message.body
        {
            if let [room] = opts.rooms.as_slice() {
                let own_channel = match self.config.subscription_mode {
                    SubscriptionMode::Static => false,
                    SubscriptionMode::Dynamic => !looks_like_a_socket_id(room),
                    SubscriptionMode::DynamicPrivate => true,
                };
                if own_channel {
                    return self.room_channel(&message.nsp, room);
                }
            }
        }
        self.channel(&message.nsp)
    }

    /// Whether this node listens on a room's channel: the room has local sockets and is not a
    /// socket id's own room (in dynamic-private mode it may be).
    fn listens_to(&self, adapter: &RedisShardedAdapter, room: &str) -> bool {
        let index = adapter.rooms();
        index.has_room(room)
            && match self.config.subscription_mode {
                SubscriptionMode::Static => false,
                SubscriptionMode::Dynamic => !index.has_socket(room),
                SubscriptionMode::DynamicPrivate => true,
            }
    }

    fn adapter(&self, nsp: &str) -> Option<Arc<RedisShardedAdapter>> {
        self.adapters.read().get(nsp).and_then(Weak::upgrade)
    }

    fn start(self: &Arc<Self>, adapter: &Arc<RedisShardedAdapter>, runtime: &Handle) {
        self.adapters
            .write()
            .insert(adapter.nsp_name.clone(), Arc::downgrade(adapter));
        let (_, commands) = self.started.get_or_init(|| {
            let (out_tx, out_rx) = mpsc::channel(PUBLISH_QUEUE_BOUND);
            let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
            runtime.spawn(self.clone().publish_loop(out_rx));
            runtime.spawn(self.clone().subscribe_loop(cmd_rx));
            (out_tx, cmd_tx)
        });
        if self.config.subscription_mode != SubscriptionMode::Static {
            let (nsp, tx, me) = (
                adapter.nsp_name.clone(),
                commands.clone(),
                Arc::downgrade(adapter),
            );
            let private = self.config.subscription_mode == SubscriptionMode::DynamicPrivate;
            adapter
                .rooms()
                .on_room_lifecycle(Arc::new(move |room: &Room, created| {
                    // A socket's own room is created with the socket: not worth a message in
                    // dynamic mode, where it never gets a channel.
                    let own_room = || me.upgrade().is_some_and(|a| a.rooms().has_socket(room));
                    if created && !private && own_room() {
                        return;
                    }
                    let _ = tx.send(Command::Room(nsp.clone(), room.clone()));
                }));
        }
        let _ = commands.send(Command::Namespace(adapter.nsp_name.clone()));
    }

    fn stop(&self, nsp: &Arc<str>, uid: &str) {
        let (removed, empty) = {
            let mut adapters = self.adapters.write();
            let ours = adapters
                .get(nsp)
                .and_then(Weak::upgrade)
                .is_none_or(|a| a.uid == uid);
            (ours && adapters.remove(nsp).is_some(), adapters.is_empty())
        };
        if let (true, Some((_, commands))) = (removed, self.started.get()) {
            let _ = commands.send(Command::Close(nsp.clone()));
        }
        if removed && empty {
            self.closed.send_replace(true);
        }
    }

    fn send(&self, channel: String, bytes: Vec<u8>) {
        let Some((tx, _)) = self.started.get() else {
            return;
        };
        if tx.try_send((channel, bytes)).is_err() {
            tracing::warn!("redis publish queue full or closed: a cluster message was dropped");
        }
    }

    /// The cluster connection, waiting a little for the first one to be made.
    async fn connection(&self) -> redis::RedisResult<ClusterConnection> {
        let mut rx = self.conn.subscribe();
        let ready = tokio::time::timeout(TIMEOUT, rx.wait_for(Option::is_some)).await;
        match ready {
            Ok(Ok(conn)) => conn.clone().ok_or_else(not_connected),
            _ => Err(not_connected()),
        }
    }

    /// `PUBSUB SHARDNUMSUB` of the namespace channel, summed over the cluster's nodes.
    async fn count_servers(&self, nsp: &str) -> redis::RedisResult<usize> {
        let mut conn = self.connection().await?;
        let channel = self.channel(nsp);
        let counts: HashMap<String, usize> = redis::cmd("PUBSUB")
            .arg("SHARDNUMSUB")
            .arg(&channel)
            .query_async(&mut conn)
            .await?;
        Ok(counts.get(&channel).copied().unwrap_or(0))
    }

    async fn publish_loop(self: Arc<Self>, mut rx: mpsc::Receiver<(String, Vec<u8>)>) {
        let mut closed = self.closed.subscribe();
        let mut stopping = false;
        loop {
            let next = if stopping {
                rx.try_recv().ok()
            } else {
                tokio::select! {
                    m = rx.recv() => m,
                    _ = until_closed(&mut closed) => {
                        stopping = true;
                        continue;
                    }
                }
            };
            let Some((channel, bytes)) = next else { return };
            let result = match self.connection().await {
                Ok(mut conn) => redis::cmd("SPUBLISH")
                    .arg(&channel)
                    .arg(bytes)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map(drop),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::warn!(channel = %channel, error = %e, "redis spublish failed: the message is lost");
            }
        }
        // The last adapter is gone: the connection closes with the last clone.
    }

    /// Connects (with backoff while no node answers), then keeps the subscriptions in line
    /// until the node closes. The cluster connection resubscribes by itself after a node comes
    /// back; subscriptions that fail while one is away are tried again here.
    async fn subscribe_loop(self: Arc<Self>, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut closed = self.closed.subscribe();
        let mut backoff = FIRST_BACKOFF;
        let (mut conn, mut pushes) = loop {
            let (tx, rx) = mpsc::unbounded_channel::<PushInfo>();
            let config = ClusterConfig::new()
                .set_connection_timeout(TIMEOUT)
                .set_response_timeout(TIMEOUT)
                .set_push_sender(tx);
            let connecting = self.client.get_async_connection_with_config(config);
            let result = tokio::select! {
                r = connecting => r,
                _ = until_closed(&mut closed) => return,
            };
            match result {
                Ok(conn) => {
                    if backoff > FIRST_BACKOFF {
                        tracing::info!("redis cluster reached");
                    }
                    self.conn.send_replace(Some(conn.clone()));
                    break (conn, rx);
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    retry_in_ms = backoff.as_millis() as u64,
                    "cannot reach the redis cluster; local clients are still served"
                ),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = until_closed(&mut closed) => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        };
        let mut subs = Subscriptions::default();
        let namespaces: Vec<Arc<str>> = self.adapters.read().keys().cloned().collect();
        for nsp in namespaces {
            self.sync_namespace(&mut conn, &mut subs, &nsp).await;
        }
        let mut retry = tokio::time::interval(RETRY_EVERY);
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Namespace(nsp)) => self.sync_namespace(&mut conn, &mut subs, &nsp).await,
                    Some(Command::Room(nsp, room)) => {
                        let wanted = self.adapter(&nsp).is_some_and(|a| self.listens_to(&a, &room));
                        let channel = self.room_channel(&nsp, &room);
                        subs.set(&mut conn, &nsp, channel, wanted).await;
                    }
                    Some(Command::Close(nsp)) => subs.drop_namespace(&mut conn, &nsp).await,
                    None => break,
                },
                push = pushes.recv() => match push {
                    Some(push) => self.on_push(push, &mut subs),
                    None => break,
                },
                _ = retry.tick(), if subs.has_failures() => subs.retry(&mut conn).await,
                _ = until_closed(&mut closed) => break,
            }
        }
        self.conn.send_replace(None);
    }

    /// Subscribes a namespace's channels and the channels of its current rooms.
    async fn sync_namespace(
        &self,
        conn: &mut ClusterConnection,
        subs: &mut Subscriptions,
        nsp: &Arc<str>,
    ) {
        let Some(adapter) = self.adapter(nsp) else {
            return;
        };
        let mut channels = vec![self.channel(nsp), self.room_channel(nsp, &adapter.uid)];
        for room in adapter.rooms().rooms() {
            if self.listens_to(&adapter, &room) {
                channels.push(self.room_channel(nsp, &room));
            }
        }
        for channel in channels {
            subs.set(conn, nsp, channel, true).await;
        }
    }

    fn on_push(&self, push: PushInfo, subs: &mut Subscriptions) {
        match push.kind {
            PushKind::SMessage => {
                let Some(Value::BulkString(payload)) = push.data.get(1) else {
                    return;
                };
                match Message::from_json_or_msgpack(payload) {
                    Ok(message) => {
                        if let Some(a) = self.adapter(&message.nsp) {
                            a.on_message(message, None);
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "dropping a malformed message from redis")
                    }
                }
            }
            PushKind::Disconnection => {
                // A node's connection dropped (it restarted, or the network did): whatever it
                // held is subscribed again, retried until the node answers.
                if !subs.has_failures() {
                    tracing::warn!(
                        "lost a redis cluster node; local clients are still served, resubscribing when it is back"
                    );
                }
                subs.resubscribe_all();
            }
            _ => {}
        }
    }
}

fn not_connected() -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::Io,
        "the redis cluster is not connected yet",
    ))
}

/// The channels this node listens on, by namespace, and those whose (un)subscription failed.
#[derive(Default)]
struct Subscriptions {
    by_nsp: HashMap<Arc<str>, HashSet<String>>,
    /// Channel → whether it should be subscribed, for changes a node's absence made fail.
    failed: HashMap<String, (Arc<str>, bool)>,
}

impl Subscriptions {
    fn has_failures(&self) -> bool {
        !self.failed.is_empty()
    }

    /// Marks every channel for subscribing again (`SSUBSCRIBE` of a subscribed channel is
    /// harmless).
    fn resubscribe_all(&mut self) {
        for (nsp, channels) in &self.by_nsp {
            for channel in channels {
                self.failed.insert(channel.clone(), (nsp.clone(), true));
            }
        }
    }

    async fn set(
        &mut self,
        conn: &mut ClusterConnection,
        nsp: &Arc<str>,
        channel: String,
        on: bool,
    ) {
        let listed = self
            .by_nsp
            .get(nsp)
            .is_some_and(|set| set.contains(&channel));
        if listed == on && !self.failed.contains_key(&channel) {
            return;
        }
        let result = if on {
            conn.ssubscribe(&channel).await
        } else {
            conn.sunsubscribe(&channel).await
        };
        let set = self.by_nsp.entry(nsp.clone()).or_default();
        if on {
            set.insert(channel.clone());
        } else {
            set.remove(&channel);
        }
        match result {
            Ok(()) => {
                self.failed.remove(&channel);
            }
            Err(e) => {
                if self.failed.is_empty() {
                    tracing::warn!(error = %e, channel, "redis sharded (un)subscribe failed; retrying");
                }
                self.failed.insert(channel, (nsp.clone(), on));
            }
        }
    }

    /// Tries the failed channels again, stopping at the first that still fails: while a node
    /// is away each attempt may take up to the response timeout, and commands wait meanwhile.
    async fn retry(&mut self, conn: &mut ClusterConnection) {
        let failed: Vec<(String, (Arc<str>, bool))> = self
            .failed
            .iter()
            .map(|(c, (n, on))| (c.clone(), (n.clone(), *on)))
            .collect();
        for (channel, (nsp, on)) in failed {
            // `set` skips a channel already in the wanted state unless it is marked failed.
            self.set(conn, &nsp, channel.clone(), on).await;
            if self.failed.contains_key(&channel) {
                return;
            }
        }
        tracing::info!("redis sharded subscriptions restored");
    }

    async fn drop_namespace(&mut self, conn: &mut ClusterConnection, nsp: &Arc<str>) {
        let channels: Vec<String> = self
            .by_nsp
            .get(nsp)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default();
        for channel in channels {
            self.set(conn, nsp, channel, false).await;
        }
        self.by_nsp.remove(nsp);
        self.failed.retain(|_, (n, _)| n != nsp);
    }
}

impl Transport for ShardedNode {
    fn register(self: &Arc<Self>, adapter: &Arc<RedisShardedAdapter>, runtime: &Handle) {
        self.start(adapter, runtime)
    }

    fn unregister(&self, nsp: &Arc<str>, uid: &str) {
        self.stop(nsp, uid)
    }

    fn publish(&self, message: Message) {
        match message.to_json_or_msgpack() {
            Ok(bytes) => self.send(self.channel_of(&message), bytes),
            Err(e) => tracing::warn!(error = %e, "cannot encode a cluster message"),
        }
    }

    fn respond(&self, to: &str, message: Message) {
        match message.to_json_or_msgpack() {
            Ok(bytes) => self.send(self.room_channel(&message.nsp, to), bytes),
            Err(e) => tracing::warn!(error = %e, "cannot encode a cluster response"),
        }
    }

    fn server_count(
        self: Arc<Self>,
        nsp: Arc<str>,
    ) -> BoxFuture<'static, redis::RedisResult<usize>> {
        Box::pin(async move { self.count_servers(&nsp).await })
    }

    fn requests_timeout(&self) -> Duration {
        self.config.requests_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomcast::adapter::BroadcastOptions;
    use roomcast::Payload;

    fn node(mode: SubscriptionMode) -> Arc<ShardedNode> {
        let mut config = RedisShardedConfig::new(["redis://127.0.0.1:7000"]);
        config.subscription_mode = mode;
        ShardedNode::new(config).unwrap()
    }

    fn broadcast(rooms: &[&str], request_id: Option<&str>) -> Message {
        Message {
            uid: "u".into(),
            nsp: "/chat".into(),
            body: Body::Broadcast {
                request_id: request_id.map(str::to_string),
                event: "e".into(),
                args: Payload::empty(),
                opts: BroadcastOptions {
                    rooms: rooms.iter().map(|r| Arc::from(*r)).collect(),
                    ..Default::default()
                },
            },
        }
    }

    #[test]
    fn channels_follow_the_npm_adapters_compute_channel() {
        let sid = "abcdefghijklmnopqrst";
        let dynamic = node(SubscriptionMode::Dynamic);
        assert_eq!(
            dynamic.channel_of(&broadcast(&["r1"], None)),
            "socket.io#/chat#r1#"
        );
        assert_eq!(
            dynamic.channel_of(&broadcast(&[sid], None)),
            "socket.io#/chat#"
        );
        assert_eq!(
            dynamic.channel_of(&broadcast(&["r1", "r2"], None)),
            "socket.io#/chat#"
        );
        assert_eq!(
            dynamic.channel_of(&broadcast(&["r1"], Some("q"))),
            "socket.io#/chat#"
        );
        let private = node(SubscriptionMode::DynamicPrivate);
        assert_eq!(
            private.channel_of(&broadcast(&[sid], None)),
            format!("socket.io#/chat#{sid}#")
        );
        let fixed = node(SubscriptionMode::Static);
        assert_eq!(
            fixed.channel_of(&broadcast(&["r1"], None)),
            "socket.io#/chat#"
        );
        // JavaScript counts UTF-16 units: 10 two-unit emoji are "20 long".
        assert!(looks_like_a_socket_id(&"😀".repeat(10)));
    }

    #[test]
    fn bad_options_are_setup_errors() {
        assert!(ShardedNode::new(RedisShardedConfig::new(Vec::<String>::new())).is_err());
        assert!(ShardedNode::new(RedisShardedConfig::new(["http://x"])).is_err());
        assert!("sometimes".parse::<SubscriptionMode>().is_err());
        assert_eq!(
            "dynamic-private".parse::<SubscriptionMode>().unwrap(),
            SubscriptionMode::DynamicPrivate
        );
    }
}
