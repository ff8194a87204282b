//! The connections one node shares between its namespaces' streams adapters: a publisher (one
//! ordered queue for stream appends and pub/sub messages), a reader that follows the stream
//! with `XREAD BLOCK` from the last id it saw, and a pub/sub subscriber for the messages that
//! only matter to the nodes up right now (requests and their responses).

use super::message::Message;
use super::sessions;
use super::{RedisStreamsAdapter, RedisStreamsConfig};
use crate::message_adapter::{OnAppended, Transport};
use crate::RedisSetupError;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use parking_lot::RwLock;
use redis::aio::ConnectionManager;
use roomcast::adapter::Room;
use roomcast::recovery::{PersistedSession, RestoredSession};
use roomcast::Payload;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch, OnceCell};

/// Messages waiting for Redis while it is slow or away; past this they are dropped with a
/// warning.
const PUBLISH_QUEUE_BOUND: usize = 65_536;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The name of the reader's connection (`CLIENT LIST`), so operators can tell it apart.
pub const READER_CONNECTION_NAME: &str = "roomcast-streams-reader";

impl Transport for StreamsNode {
    fn register(self: &Arc<Self>, adapter: &Arc<RedisStreamsAdapter>, runtime: &Handle) {
        self.start(adapter, runtime)
    }

    fn unregister(&self, nsp: &Arc<str>, uid: &str) {
        self.stop(nsp, uid)
    }

    fn publish(&self, message: Message) {
        self.publish_message(message, None);
    }

    /// The stream's entry id is the offset.
    fn publish_then(&self, message: Message, then: OnAppended) {
        self.publish_message(message, Some(then));
    }

    /// On the private channel of the requester's adapter.
    fn respond(&self, to: &str, message: Message) {
        match message.to_msgpack() {
            Ok(bytes) => self.send(Outgoing::Publish(
                self.private_channel(&message.nsp, to),
                bytes,
            )),
            Err(e) => tracing::warn!(error = %e, "cannot encode a cluster response"),
        }
    }

    fn server_count(
        self: Arc<Self>,
        nsp: Arc<str>,
    ) -> BoxFuture<'static, redis::RedisResult<usize>> {
        Box::pin(async move { self.count_servers(&nsp).await })
    }

    fn requests_timeout(&self) -> std::time::Duration {
        self.config.requests_timeout
    }

    fn flushed(self: Arc<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.wait_flushed().await })
    }

    fn keeps_sessions(&self) -> bool {
        true
    }

    fn persist(&self, _nsp: &str, session: PersistedSession, ttl: std::time::Duration) {
        match sessions::encode(&session) {
            Ok(value) => self.send(Outgoing::Set(
                sessions::key(&self.config.session_key_prefix, session.pid.as_str()),
                value,
                ttl.as_millis() as u64,
            )),
            Err(e) => tracing::warn!(error = %e, "cannot encode a session for recovery"),
        }
    }

    fn restore(
        self: Arc<Self>,
        nsp: Arc<str>,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'static, Option<RestoredSession>> {
        let key = sessions::key(&self.config.session_key_prefix, pid);
        let offset = offset.to_string();
        Box::pin(async move {
            let conn = match self.connection().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "redis unreachable: a session cannot be recovered");
                    return None;
                }
            };
            let stream = self.config.stream_name.clone();
            sessions::restore(conn, &stream, &key, &nsp, &offset)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "redis error: a session cannot be recovered");
                    None
                })
        })
    }

    fn missed_after(
        self: Arc<Self>,
        nsp: Arc<str>,
        offset: &str,
        rooms: &[Room],
    ) -> BoxFuture<'static, Vec<(String, Payload)>> {
        let (offset, rooms) = (offset.to_string(), rooms.to_vec());
        Box::pin(async move {
            let stream = self.config.stream_name.clone();
            let read = match self.connection().await {
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
}

impl StreamsNode {
    /// Through pub/sub when only the nodes up now need it, else on the stream (`then` gets
    /// the entry's id).
    fn publish_message(&self, message: Message, then: Option<OnAppended>) {
        let outgoing = if message.body.is_ephemeral() {
            message
                .to_msgpack()
                .map(|bytes| Outgoing::Publish(self.public_channel(&message.nsp), bytes))
        } else {
            message
                .to_stream_fields()
                .map(|fields| Outgoing::Append(fields, then))
        };
        match outgoing {
            Ok(o) => self.send(o),
            Err(e) => tracing::warn!(error = %e, "cannot encode a cluster message"),
        }
    }
}

enum Outgoing {
    /// `XADD` of an entry's fields, and what to do with its id.
    Append(Vec<(&'static str, String)>, Option<OnAppended>),
    Publish(String, Vec<u8>),
    /// `SET key value PX ttl_ms` (a recoverable session).
    Set(String, String, u64),
}

enum Command {
    Subscribe(Arc<str>),
    Unsubscribe(Arc<str>, String),
}

type Tasks = (mpsc::Sender<Outgoing>, mpsc::UnboundedSender<Command>);

/// One node's Redis connections for the streams adapter.
pub struct StreamsNode {
    pub(crate) config: RedisStreamsConfig,
    client: redis::Client,
    adapters: RwLock<HashMap<Arc<str>, Weak<RedisStreamsAdapter>>>,
    publisher: OnceCell<ConnectionManager>,
    started: OnceLock<Tasks>,
    /// Set when the last adapter is gone: every task finishes.
    closed: watch::Sender<bool>,
    /// The publish loop has sent everything queued before the close and ended.
    flushed: watch::Sender<bool>,
}

/// Resolves once the node is closed (the guard `wait_for` returns is not `Send`).
async fn until_closed(closed: &mut watch::Receiver<bool>) {
    let _ = closed.wait_for(|c| *c).await.map(drop);
}

impl StreamsNode {
    pub(crate) fn new(config: RedisStreamsConfig) -> Result<Arc<StreamsNode>, RedisSetupError> {
        let client = redis::Client::open(config.url.as_str()).map_err(|source| {
            RedisSetupError::InvalidUrl {
                url: config.url.clone(),
                source,
            }
        })?;
        Ok(Arc::new(StreamsNode {
            config,
            client,
            adapters: RwLock::new(HashMap::new()),
            publisher: OnceCell::new(),
            started: OnceLock::new(),
            closed: watch::channel(false).0,
            flushed: watch::channel(false).0,
        }))
    }

    pub(crate) fn public_channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.config.channel_prefix)
    }

    pub(crate) fn private_channel(&self, nsp: &str, uid: &str) -> String {
        format!("{}#{nsp}#{uid}#", self.config.channel_prefix)
    }

    fn start(self: &Arc<Self>, adapter: &Arc<RedisStreamsAdapter>, runtime: &Handle) {
        self.adapters
            .write()
            .insert(adapter.nsp_name.clone(), Arc::downgrade(adapter));
        let (_, commands) = self.started.get_or_init(|| {
            let (out_tx, out_rx) = mpsc::channel(PUBLISH_QUEUE_BOUND);
            let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
            runtime.spawn(self.clone().publish_loop(out_rx));
            runtime.spawn(self.clone().subscribe_loop(cmd_rx));
            runtime.spawn(self.clone().read_loop());
            (out_tx, cmd_tx)
        });
        let _ = commands.send(Command::Subscribe(adapter.nsp_name.clone()));
    }

    /// Forgets a closed namespace's adapter; the last one stops the node's tasks.
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
            let _ = commands.send(Command::Unsubscribe(nsp.clone(), uid.to_string()));
        }
        if removed && empty {
            self.closed.send_replace(true);
        }
    }

    /// Queues a stream append or a pub/sub message, in order.
    fn send(&self, message: Outgoing) {
        let Some((tx, _)) = self.started.get() else {
            return;
        };
        if tx.try_send(message).is_err() {
            tracing::warn!("redis publish queue full or closed: a cluster message was dropped");
        }
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        self.publisher
            .get_or_try_init(|| crate::connection::publisher(&self.client))
            .await
            .cloned()
    }

    /// How many nodes serve a namespace: the subscribers of its public channel, as the npm
    /// adapter counts them (`PUBSUB NUMSUB`).
    async fn count_servers(&self, nsp: &str) -> redis::RedisResult<usize> {
        let mut conn = self.connection().await?;
        crate::connection::subscribers(&mut conn, &self.public_channel(nsp)).await
    }

    /// Resolves once the node is closed and its queued messages are sent (at once if its
    /// loops never started).
    async fn wait_flushed(&self) {
        if self.started.get().is_none() {
            return;
        }
        let mut flushed = self.flushed.subscribe();
        let _ = flushed.wait_for(|f| *f).await.map(drop);
    }

    async fn publish_loop(self: Arc<Self>, mut rx: mpsc::Receiver<Outgoing>) {
        self.publish_messages(&mut rx).await;
        self.flushed.send_replace(true);
    }

    async fn publish_messages(&self, rx: &mut mpsc::Receiver<Outgoing>) {
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
            let Some(message) = next else { return };
            let result = match self.connection().await {
                Ok(mut conn) => match &message {
                    Outgoing::Append(fields, _) => {
                        let mut cmd = redis::cmd("XADD");
                        cmd.arg(&self.config.stream_name)
                            .arg("MAXLEN")
                            .arg("~")
                            .arg(self.config.max_len)
                            .arg("*");
                        for (k, v) in fields {
                            cmd.arg(*k).arg(v);
                        }
                        cmd.query_async::<String>(&mut conn).await.map(Some)
                    }
                    Outgoing::Publish(channel, bytes) => redis::cmd("PUBLISH")
                        .arg(channel)
                        .arg(bytes.as_slice())
                        .query_async::<i64>(&mut conn)
                        .await
                        .map(|_| None),
                    Outgoing::Set(key, value, ttl_ms) => redis::cmd("SET")
                        .arg(key)
                        .arg(value)
                        .arg("PX")
                        .arg((*ttl_ms).max(1))
                        .query_async::<redis::Value>(&mut conn)
                        .await
                        .map(|_| None),
                },
                Err(e) => Err(e),
            };
            let id = result.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "redis publish failed: a cluster message is lost");
                None
            });
            // Here, in the loop, so that what waits for an id runs in the order of the appends.
            if let Outgoing::Append(_, Some(then)) = message {
                then(id);
            }
        }
    }

    /// Follows the stream from the last id seen, so entries appended while the connection
    /// was down are read when it is back (as long as `max_len` kept them).
    async fn read_loop(self: Arc<Self>) {
        let mut closed = self.closed.subscribe();
        let mut last_id: Option<String> = None;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let reading = self.read_from(&mut last_id, &mut backoff);
            tokio::select! {
                e = reading => tracing::warn!(
                    error = %e,
                    retry_in_ms = backoff.as_millis() as u64,
                    "redis stream reader disconnected; local clients are still served, reconnecting"
                ),
                _ = until_closed(&mut closed) => return,
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = until_closed(&mut closed) => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Reads until the connection fails; returns the failure.
    async fn read_from(
        &self,
        last_id: &mut Option<String>,
        backoff: &mut Duration,
    ) -> redis::RedisError {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(self.config.block_time + Duration::from_secs(5)));
        let mut conn = match self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(c) => c,
            Err(e) => return e,
        };
        let _: redis::RedisResult<()> = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(READER_CONNECTION_NAME)
            .query_async(&mut conn)
            .await;
        let stream = &self.config.stream_name;
        let mut from = match last_id.clone() {
            Some(id) => id,
            // The stream's current end: what was appended before this node started is not
            // for it (the npm adapter starts at `$`).
            None => {
                let tail: redis::RedisResult<Vec<(String, redis::Value)>> = redis::cmd("XREVRANGE")
                    .arg(stream)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1)
                    .query_async(&mut conn)
                    .await;
                match tail {
                    Ok(t) => t
                        .into_iter()
                        .next()
                        .map_or_else(|| "0-0".to_string(), |(id, _)| id),
                    Err(e) => return e,
                }
            }
        };
        *last_id = Some(from.clone());
        if *backoff > FIRST_BACKOFF {
            tracing::info!("redis stream reader reconnected");
        }
        *backoff = FIRST_BACKOFF;
        type Entries = Vec<(String, Vec<redis::Value>)>;
        loop {
            let reply: redis::RedisResult<Option<Vec<(String, Entries)>>> = redis::cmd("XREAD")
                .arg("BLOCK")
                .arg(self.config.block_time.as_millis() as u64)
                .arg("COUNT")
                .arg(self.config.read_count)
                .arg("STREAMS")
                .arg(stream)
                .arg(&from)
                .query_async(&mut conn)
                .await;
            let streams = match reply {
                Ok(s) => s.unwrap_or_default(),
                Err(e) => return e,
            };
            for (_, entries) in streams {
                for (id, fields) in entries {
                    self.route_entry(&fields, &id);
                    from = id;
                }
            }
            *last_id = Some(from.clone());
        }
    }

    fn route_entry(&self, fields: &[redis::Value], id: &str) {
        let texts: Vec<String> = fields
            .iter()
            .map(|v| match v {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                redis::Value::SimpleString(s) => s.clone(),
                _ => String::new(),
            })
            .collect();
        let pairs = texts
            .chunks_exact(2)
            .map(|kv| (kv[0].as_str(), kv[1].as_str()));
        match Message::from_stream_fields(pairs) {
            Ok(Some(message)) => self.route(message, Some(id)),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, id, "dropping a malformed stream entry"),
        }
    }

    fn route(&self, message: Message, offset: Option<&str>) {
        let adapter = self
            .adapters
            .read()
            .get(message.nsp.as_str())
            .and_then(Weak::upgrade);
        if let Some(a) = adapter {
            a.on_message(message, offset);
        }
    }

    async fn subscribe_loop(self: Arc<Self>, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut closed = self.closed.subscribe();
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.client.get_async_pubsub().await {
                Ok(pubsub) => {
                    let (mut sink, mut stream) = pubsub.split();
                    let current: Vec<(Arc<str>, String)> = self
                        .adapters
                        .read()
                        .iter()
                        .filter_map(|(n, a)| a.upgrade().map(|a| (n.clone(), a.uid.clone())))
                        .collect();
                    let mut subscribed = HashSet::new();
                    let mut ok = true;
                    for (nsp, uid) in &current {
                        ok &= self.subscribe(&mut sink, nsp, uid, true).await;
                        subscribed.insert(nsp.clone());
                    }
                    if ok {
                        backoff = FIRST_BACKOFF;
                        loop {
                            tokio::select! {
                                cmd = commands.recv() => match cmd {
                                    Some(Command::Subscribe(nsp)) if subscribed.contains(&nsp) => {}
                                    Some(Command::Subscribe(nsp)) => {
                                        let uid = self.adapters.read().get(&nsp).and_then(Weak::upgrade).map(|a| a.uid.clone());
                                        if let Some(uid) = uid {
                                            if !self.subscribe(&mut sink, &nsp, &uid, true).await {
                                                break;
                                            }
                                            subscribed.insert(nsp);
                                        }
                                    }
                                    Some(Command::Unsubscribe(nsp, uid)) => {
                                        if subscribed.remove(&nsp) && !self.subscribe(&mut sink, &nsp, &uid, false).await {
                                            break;
                                        }
                                    }
                                    None => return,
                                },
                                msg = stream.next() => match msg {
                                    Some(msg) => match Message::from_msgpack(msg.get_payload_bytes()) {
                                        Ok(m) => self.route(m, None),
                                        Err(e) => tracing::debug!(error = %e, "dropping a malformed message from redis"),
                                    },
                                    None => break,
                                },
                                _ = until_closed(&mut closed) => return,
                            }
                        }
                    }
                    tracing::warn!(
                        "redis subscription lost; local clients are still served, reconnecting"
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot reach redis")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = until_closed(&mut closed) => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// (Un)subscribes a namespace's public channel and its adapter's private one.
    async fn subscribe(
        &self,
        sink: &mut redis::aio::PubSubSink,
        nsp: &str,
        uid: &str,
        on: bool,
    ) -> bool {
        for channel in [self.public_channel(nsp), self.private_channel(nsp, uid)] {
            let result = if on {
                sink.subscribe(&channel).await
            } else {
                sink.unsubscribe(&channel).await
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, channel, "redis (un)subscribe failed");
                return false;
            }
        }
        true
    }
}
