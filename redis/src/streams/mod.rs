//! A Redis Streams adapter wire-compatible with `@socket.io/redis-streams-adapter` 0.3, so
//! roomcast nodes and Node socket.io nodes running it share one cluster.
//!
//! Broadcasts, `socketsJoin`/`socketsLeave` and `disconnectSockets` are appended to one stream
//! (`XADD ... MAXLEN ~ max_len`) that every node follows with `XREAD BLOCK` from the last id it
//! read: a node whose connection to Redis drops reads what it missed when it reconnects, as long
//! as the stream still holds it. Requests that only matter to the nodes up right now
//! (`fetchSockets`, `serverSideEmit`, broadcasts with acks) and their responses go through
//! pub/sub, and the number of nodes is the number of subscribers of the namespace's channel.
//!
//! With connection state recovery on, sessions and offsets live in Redis too (see
//! `sessions`): a client dropped by one node recovers its id, rooms and missed packets on any
//! other, or on the same node after a restart.

pub mod message;
mod node;
mod sessions;

pub use node::{StreamsNode, READER_CONNECTION_NAME};

/// The streams adapter of one namespace.
pub type RedisStreamsAdapter = crate::message_adapter::MessageAdapter<StreamsNode>;

use crate::RedisSetupError;
use roomcast::adapter::{Adapter, AdapterFactory};
use std::sync::Arc;
use std::time::Duration;

/// Options of the streams adapter (`createAdapter(redisClient, opts)` of the npm package).
#[derive(Debug, Clone)]
pub struct RedisStreamsConfig {
    /// `redis://[:password@]host[:port][/db]`, or `rediss://` for TLS.
    pub url: String,
    /// The stream (`streamName`, `socket.io`).
    pub stream_name: String,
    /// The prefix of the pub/sub channels (`channelPrefix`, `socket.io`).
    pub channel_prefix: String,
    /// The stream is trimmed to about this many entries (`maxLen`, 10 000): a node that is
    /// away longer than it takes the cluster to append them misses the oldest.
    pub max_len: usize,
    /// Entries read per `XREAD` (`readCount`, 100).
    pub read_count: usize,
    /// How long one `XREAD` blocks (`blockTimeInMs`, 5 s).
    pub block_time: Duration,
    /// How long `fetchSockets` and `serverSideEmit` with an ack wait for every node (5 s).
    pub requests_timeout: Duration,
    /// The prefix of the keys that hold recoverable sessions (`sessionKeyPrefix`,
    /// `sio:session:`), with connection state recovery on.
    pub session_key_prefix: String,
}

impl RedisStreamsConfig {
    pub fn new(url: impl Into<String>) -> RedisStreamsConfig {
        RedisStreamsConfig {
            url: url.into(),
            stream_name: "socket.io".into(),
            channel_prefix: "socket.io".into(),
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_secs(5),
            requests_timeout: Duration::from_secs(5),
            session_key_prefix: "sio:session:".into(),
        }
    }
}

/// Creates a [`RedisStreamsAdapter`] for each namespace; pass it as `ServerConfig::adapter`.
pub struct RedisStreamsAdapterFactory {
    node: Arc<StreamsNode>,
}

impl RedisStreamsAdapterFactory {
    /// Checks the URL; connections are made in the background when the first namespace
    /// starts, and retried while Redis is unreachable.
    pub fn new(config: RedisStreamsConfig) -> Result<RedisStreamsAdapterFactory, RedisSetupError> {
        Ok(RedisStreamsAdapterFactory {
            node: StreamsNode::new(config)?,
        })
    }

    /// The shared connections of this node.
    pub fn node(&self) -> &Arc<StreamsNode> {
        &self.node
    }
}

impl AdapterFactory for RedisStreamsAdapterFactory {
    fn create(&self, nsp_name: &str) -> Arc<dyn Adapter> {
        RedisStreamsAdapter::new(self.node.clone(), nsp_name)
    }
}
