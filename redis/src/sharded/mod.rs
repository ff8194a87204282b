//! A sharded pub/sub adapter wire-compatible with `@socket.io/redis-adapter` 8.3's
//! `createShardedAdapter`, for a Redis 7 Cluster: every message is `SPUBLISH`ed, so it goes only
//! to the cluster node that owns its channel's slot instead of being copied to every node as
//! classic pub/sub is.
//!
//! Channels, for the prefix `socket.io` and the namespace `/`: `socket.io#/#` for everything the
//! whole namespace hears (requests, broadcasts to several rooms or none), `socket.io#/#<uid>#`
//! for the responses to one adapter's requests, and in the dynamic modes `socket.io#/#<room>#`
//! for a broadcast to exactly one room, which only the nodes that have a socket in that room
//! subscribe to. Messages are socket.io-adapter's `ClusterAdapter` messages, JSON, or msgpack
//! when they carry binary. The number of nodes is `PUBSUB SHARDNUMSUB` of the namespace channel.

mod node;

pub use node::ShardedNode;

use crate::RedisSetupError;
use roomcast::adapter::{Adapter, AdapterFactory};
use std::sync::Arc;
use std::time::Duration;

/// The sharded adapter of one namespace.
pub type RedisShardedAdapter = crate::message_adapter::MessageAdapter<ShardedNode>;

/// Which rooms get a channel of their own (`subscriptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionMode {
    /// Two channels per namespace: every node gets every broadcast. Suits many short-lived
    /// namespaces.
    Static,
    /// Plus one channel per room that is not a socket id: a broadcast to one such room reaches
    /// only the nodes where that room has sockets.
    #[default]
    Dynamic,
    /// Like `Dynamic`, and socket ids' rooms too (much 1:1 messaging, at the cost of one
    /// subscription per connected socket).
    DynamicPrivate,
}

impl std::str::FromStr for SubscriptionMode {
    type Err = RedisSetupError;

    fn from_str(s: &str) -> Result<SubscriptionMode, RedisSetupError> {
        match s {
            "static" => Ok(SubscriptionMode::Static),
            "dynamic" => Ok(SubscriptionMode::Dynamic),
            "dynamic-private" => Ok(SubscriptionMode::DynamicPrivate),
            other => Err(RedisSetupError::InvalidOption(format!(
                "subscription mode {other:?}: expected \"static\", \"dynamic\" or \"dynamic-private\""
            ))),
        }
    }
}

/// Options of the sharded adapter (`createShardedAdapter(pub, sub, opts)`).
#[derive(Debug, Clone)]
pub struct RedisShardedConfig {
    /// Cluster nodes to start from (`redis://host:port`, `rediss://` for TLS); one reachable
    /// node is enough, the others are discovered.
    pub nodes: Vec<String>,
    /// The prefix of the channels (`channelPrefix`, `socket.io`).
    pub channel_prefix: String,
    /// Which rooms get a channel of their own (`subscriptionMode`, dynamic).
    pub subscription_mode: SubscriptionMode,
    /// How long `fetchSockets` and `serverSideEmit` with an ack wait for every node (5 s).
    pub requests_timeout: Duration,
}

impl RedisShardedConfig {
    pub fn new<S: Into<String>>(nodes: impl IntoIterator<Item = S>) -> RedisShardedConfig {
        RedisShardedConfig {
            nodes: nodes.into_iter().map(Into::into).collect(),
            channel_prefix: "socket.io".into(),
            subscription_mode: SubscriptionMode::default(),
            requests_timeout: Duration::from_secs(5),
        }
    }
}

/// Creates a [`RedisShardedAdapter`] for each namespace; pass it as `ServerConfig::adapter`.
pub struct RedisShardedAdapterFactory {
    node: Arc<ShardedNode>,
}

impl RedisShardedAdapterFactory {
    /// Checks the node URLs; the cluster is connected in the background when the first
    /// namespace starts, and retried while it is unreachable.
    pub fn new(config: RedisShardedConfig) -> Result<RedisShardedAdapterFactory, RedisSetupError> {
        Ok(RedisShardedAdapterFactory {
            node: ShardedNode::new(config)?,
        })
    }

    /// The shared connection of this node.
    pub fn node(&self) -> &Arc<ShardedNode> {
        &self.node
    }
}

impl AdapterFactory for RedisShardedAdapterFactory {
    fn create(&self, nsp_name: &str) -> Arc<dyn Adapter> {
        RedisShardedAdapter::new(self.node.clone(), nsp_name)
    }
}
