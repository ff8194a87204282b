//! # roomcast-redis
//!
//! A Redis adapter for the roomcast Socket.IO server, wire-compatible with
//! `@socket.io/redis-adapter` 8 (classic pub/sub), so roomcast nodes, Node socket.io nodes and
//! `@socket.io/redis-emitter` share one cluster; and an [`Emitter`] for processes that serve no
//! clients.
//!
//! ```no_run
//! use roomcast::{Server, ServerConfig};
//! use roomcast_redis::{RedisAdapterConfig, RedisAdapterFactory};
//! use std::sync::Arc;
//!
//! # fn main() -> Result<(), roomcast_redis::RedisSetupError> {
//! let mut config = ServerConfig::default();
//! config.adapter = Arc::new(RedisAdapterFactory::new(RedisAdapterConfig::new("redis://127.0.0.1:6379"))?);
//! let io = Server::new(config);
//! # Ok(()) }
//! ```
//!
//! Every node keeps one subscriber connection (shared by its namespaces) and one publisher
//! connection. When Redis goes away the node keeps serving its local clients, logs the
//! failure, reconnects with backoff and subscribes again; messages published during the
//! outage are lost (Redis pub/sub keeps nothing), and cluster-wide requests fail with a
//! timeout until it is back.
//!
//! [`RedisStreamsAdapterFactory`] is the other choice: wire-compatible with
//! `@socket.io/redis-streams-adapter`, it appends broadcasts to a Redis stream that each node
//! reads from the last id it saw, so what was sent during a node's outage reaches it after.
//!
//! [`RedisShardedAdapterFactory`] is wire-compatible with `createShardedAdapter` of
//! `@socket.io/redis-adapter`: sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`) on a Redis 7 Cluster,
//! where each message goes only to the cluster node owning its channel, and in the dynamic
//! modes a broadcast to one room only to the roomcast nodes that have sockets in it.

mod adapter;
mod cluster;
mod connection;
mod directory;
mod emitter;
mod message_adapter;
mod node;
pub mod sharded;
pub mod streams;
pub mod wire;

pub use adapter::RedisAdapter;
pub use directory::{RedisSessionDirectory, SessionDirectoryConfig};
pub use emitter::{Emitter, EmitterError};
pub use node::RedisNode;
pub use sharded::{
    RedisShardedAdapter, RedisShardedAdapterFactory, RedisShardedConfig, SubscriptionMode,
};
pub use streams::{RedisStreamsAdapter, RedisStreamsAdapterFactory, RedisStreamsConfig};

use roomcast::adapter::{Adapter, AdapterFactory};
use std::sync::Arc;
use std::time::Duration;

/// Options of the Redis adapter (`createAdapter(pub, sub, opts)`).
#[derive(Debug, Clone)]
pub struct RedisAdapterConfig {
    /// `redis://[:password@]host[:port][/db]`, or `rediss://` for TLS.
    pub url: String,
    /// The channel prefix (`key`), `socket.io` by default.
    pub key: String,
    /// How long cluster-wide requests wait for every node (`requestsTimeout`, 5 s).
    pub requests_timeout: Duration,
}

impl RedisAdapterConfig {
    pub fn new(url: impl Into<String>) -> RedisAdapterConfig {
        RedisAdapterConfig {
            url: url.into(),
            key: "socket.io".into(),
            requests_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the Redis adapter could not be created.
#[derive(Debug, thiserror::Error)]
pub enum RedisSetupError {
    #[error("invalid Redis URL {url:?}: {source}")]
    InvalidUrl {
        url: String,
        source: redis::RedisError,
    },
    #[error("routing sessions needs the address other nodes reach this one at: the listener is bound to {0} (every interface); give the address (host:port) explicitly")]
    NoAddress(std::net::SocketAddr),
    #[error("invalid adapter option: {0}")]
    InvalidOption(String),
}

/// Creates a [`RedisAdapter`] for each namespace; pass it as `ServerConfig::adapter`.
pub struct RedisAdapterFactory {
    node: Arc<RedisNode>,
}

impl RedisAdapterFactory {
    /// Checks the URL; connections are made in the background when the first namespace
    /// starts, and retried while Redis is unreachable.
    pub fn new(config: RedisAdapterConfig) -> Result<RedisAdapterFactory, RedisSetupError> {
        Ok(RedisAdapterFactory {
            node: RedisNode::new(config)?,
        })
    }

    /// The shared connections of this node.
    pub fn node(&self) -> &Arc<RedisNode> {
        &self.node
    }
}

impl AdapterFactory for RedisAdapterFactory {
    fn create(&self, nsp_name: &str) -> Arc<dyn Adapter> {
        RedisAdapter::new(self.node.clone(), nsp_name)
    }
}

/// Six random alphanumerics, like the Node adapter's `uid2(6)` (node uids and request ids).
pub(crate) fn short_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 6];
    getrandom::fill(&mut raw).expect("the operating system's random number generator failed");
    raw.iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect()
}
