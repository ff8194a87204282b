//! The connections one node shares between its namespaces' adapters: a publisher (one
//! ordered queue, so broadcasts leave in the order they were made) and a subscriber that
//! routes messages to the adapter of their namespace, reconnecting with backoff.

use super::adapter::RedisAdapter;
use super::{RedisAdapterConfig, RedisSetupError};
use futures_util::StreamExt;
use parking_lot::RwLock;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, OnceCell};

/// Messages waiting to be published while Redis is slow or away; past this they are dropped
/// with a warning (pub/sub would not keep them for absent subscribers anyway).
const PUBLISH_QUEUE_BOUND: usize = 65_536;

enum Command {
    Subscribe(Arc<str>),
    /// A namespace's adapter was closed: its channels (by namespace and uid) are dropped, and
    /// when it was the last one the node's connections are closed.
    Unsubscribe(Arc<str>, String),
}

/// The queues of the background tasks: messages to publish, subscription commands.
type Tasks = (
    mpsc::Sender<(String, Vec<u8>)>,
    mpsc::UnboundedSender<Command>,
);

/// One node's Redis connections.
pub struct RedisNode {
    pub(crate) config: RedisAdapterConfig,
    client: redis::Client,
    adapters: RwLock<HashMap<Arc<str>, Weak<RedisAdapter>>>,
    publisher: OnceCell<ConnectionManager>,
    started: std::sync::OnceLock<Tasks>,
    /// Tells the publish loop that the last adapter is gone (it publishes what is queued, then
    /// stops).
    stopped: tokio::sync::Notify,
}

impl RedisNode {
    pub(crate) fn new(config: RedisAdapterConfig) -> Result<Arc<RedisNode>, RedisSetupError> {
        let client = redis::Client::open(config.url.as_str()).map_err(|source| {
            RedisSetupError::InvalidUrl {
                url: config.url.clone(),
                source,
            }
        })?;
        Ok(Arc::new(RedisNode {
            config,
            client,
            adapters: RwLock::new(HashMap::new()),
            publisher: OnceCell::new(),
            started: std::sync::OnceLock::new(),
            stopped: tokio::sync::Notify::new(),
        }))
    }

    fn channels(&self, nsp: &str, uid: &str) -> [String; 3] {
        let key = &self.config.key;
        [
            format!("{key}-request#{nsp}#"),
            format!("{key}-response#{nsp}#"),
            format!("{key}-response#{nsp}#{uid}#"),
        ]
    }

    /// Registers a namespace's adapter and subscribes its channels.
    pub(crate) fn register(self: &Arc<Self>, adapter: &Arc<RedisAdapter>, runtime: &Handle) {
        self.adapters
            .write()
            .insert(adapter.nsp_name.clone(), Arc::downgrade(adapter));
        let (_, commands) = self.started.get_or_init(|| {
            let (pub_tx, pub_rx) = mpsc::channel(PUBLISH_QUEUE_BOUND);
            let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
            runtime.spawn(self.clone().publish_loop(pub_rx));
            runtime.spawn(self.clone().subscribe_loop(cmd_rx));
            (pub_tx, cmd_tx)
        });
        let _ = commands.send(Command::Subscribe(adapter.nsp_name.clone()));
    }

    /// Forgets a closed namespace's adapter and unsubscribes its channels, so other nodes no
    /// longer count this one (`PUBSUB NUMSUB`); the last one closes the connections.
    pub(crate) fn unregister(&self, nsp: &Arc<str>, uid: &str) {
        let removed = {
            let mut adapters = self.adapters.write();
            let ours = adapters
                .get(nsp)
                .and_then(Weak::upgrade)
                .is_none_or(|a| a.uid == uid);
            ours && adapters.remove(nsp).is_some()
        };
        if let (true, Some((_, commands))) = (removed, self.started.get()) {
            let _ = commands.send(Command::Unsubscribe(nsp.clone(), uid.to_string()));
        }
    }

    /// Queues a message for publishing, in order.
    pub(crate) fn publish(&self, channel: String, message: Vec<u8>) {
        let Some((tx, _)) = self.started.get() else {
            return;
        };
        if tx.try_send((channel, message)).is_err() {
            tracing::warn!("redis publish queue full or closed: a cluster message was dropped");
        }
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        self.publisher
            .get_or_try_init(|| crate::connection::publisher(&self.client))
            .await
            .cloned()
    }

    /// `PUBSUB NUMSUB` of a namespace's request channel: how many nodes serve it.
    pub(crate) async fn num_sub(&self, nsp: &str) -> redis::RedisResult<usize> {
        let mut conn = self.connection().await?;
        let channel = format!("{}-request#{}#", self.config.key, nsp);
        crate::connection::subscribers(&mut conn, &channel).await
    }

    async fn publish_loop(self: Arc<Self>, mut rx: mpsc::Receiver<(String, Vec<u8>)>) {
        let mut stopping = false;
        loop {
            let next = if stopping {
                rx.try_recv().ok()
            } else {
                tokio::select! {
                    m = rx.recv() => m,
                    () = self.stopped.notified() => {
                        stopping = true;
                        continue;
                    }
                }
            };
            let Some((channel, message)) = next else {
                return;
            };
            let result = match self.connection().await {
                Ok(mut conn) => redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(message)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::warn!(channel = %channel, error = %e, "redis publish failed: the message is lost");
            }
        }
    }

    async fn subscribe_loop(self: Arc<Self>, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.client.get_async_pubsub().await {
                Ok(pubsub) => {
                    let (mut sink, mut stream) = pubsub.split();
                    let namespaces: Vec<(Arc<str>, String)> = self
                        .adapters
                        .read()
                        .iter()
                        .filter_map(|(n, a)| a.upgrade().map(|a| (n.clone(), a.uid.clone())))
                        .collect();
                    let mut subscribed = std::collections::HashSet::new();
                    let mut ok = true;
                    for (nsp, uid) in &namespaces {
                        ok &= self.subscribe_nsp(&mut sink, nsp, uid).await;
                        subscribed.insert(nsp.clone());
                    }
                    if ok {
                        if backoff > Duration::from_millis(100) {
                            tracing::info!("redis subscription restored");
                        }
                        backoff = Duration::from_millis(100);
                        loop {
                            tokio::select! {
                                cmd = commands.recv() => match cmd {
                                    // Namespaces registered while (re)connecting may already be
                                    // subscribed by the loop above.
                                    Some(Command::Subscribe(nsp)) if subscribed.contains(&nsp) => {}
                                    Some(Command::Subscribe(nsp)) => {
                                        let uid = self.adapters.read().get(&nsp).and_then(Weak::upgrade).map(|a| a.uid.clone());
                                        if let Some(uid) = uid {
                                            if !self.subscribe_nsp(&mut sink, &nsp, &uid).await {
                                                break;
                                            }
                                            subscribed.insert(nsp);
                                        }
                                    }
                                    Some(Command::Unsubscribe(nsp, uid)) => {
                                        if subscribed.remove(&nsp)
                                            && !self.unsubscribe_nsp(&mut sink, &nsp, &uid).await
                                        {
                                            break;
                                        }
                                        if self.adapters.read().is_empty() {
                                            self.stopped.notify_one();
                                            return;
                                        }
                                    }
                                    None => return,
                                },
                                msg = stream.next() => match msg {
                                    Some(msg) => self.route(&msg),
                                    None => break,
                                },
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
            if self.adapters.read().is_empty() {
                // Closed while Redis was away: nothing left to resubscribe.
                self.stopped.notify_one();
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    async fn subscribe_nsp(&self, sink: &mut redis::aio::PubSubSink, nsp: &str, uid: &str) -> bool {
        let pattern = format!("{}#{}#*", self.config.key, nsp);
        if let Err(e) = sink.psubscribe(&pattern).await {
            tracing::warn!(error = %e, "redis psubscribe failed");
            return false;
        }
        for channel in self.channels(nsp, uid) {
            if let Err(e) = sink.subscribe(&channel).await {
                tracing::warn!(error = %e, "redis subscribe failed");
                return false;
            }
        }
        true
    }

    async fn unsubscribe_nsp(
        &self,
        sink: &mut redis::aio::PubSubSink,
        nsp: &str,
        uid: &str,
    ) -> bool {
        let pattern = format!("{}#{}#*", self.config.key, nsp);
        if let Err(e) = sink.punsubscribe(&pattern).await {
            tracing::warn!(error = %e, "redis punsubscribe failed");
            return false;
        }
        for channel in self.channels(nsp, uid) {
            if let Err(e) = sink.unsubscribe(&channel).await {
                tracing::warn!(error = %e, "redis unsubscribe failed");
                return false;
            }
        }
        true
    }

    fn route(&self, msg: &redis::Msg) {
        let channel = msg.get_channel_name();
        let payload = msg.get_payload_bytes();
        let key = &self.config.key;
        let adapters: Vec<Arc<RedisAdapter>> = self
            .adapters
            .read()
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        if let Some(rest) = channel.strip_prefix(&format!("{key}-request#")) {
            if let Some(a) = adapters.iter().find(|a| rest == format!("{}#", a.nsp_name)) {
                a.on_request(payload);
            }
        } else if let Some(rest) = channel.strip_prefix(&format!("{key}-response#")) {
            if let Some(a) = adapters
                .iter()
                .find(|a| rest.starts_with(&format!("{}#", a.nsp_name)))
            {
                a.on_response(payload);
            }
        } else if let Some(rest) = channel.strip_prefix(&format!("{key}#")) {
            // `<nsp>#` or `<nsp>#<room>#`: the longest namespace name that prefixes it wins.
            let target = adapters
                .iter()
                .filter(|a| rest.starts_with(&format!("{}#", a.nsp_name)))
                .max_by_key(|a| a.nsp_name.len());
            if let Some(a) = target {
                let room = &rest[a.nsp_name.len() + 1..];
                let room = room.strip_suffix('#').unwrap_or(room);
                a.on_broadcast(room, payload);
            }
        }
    }
}
