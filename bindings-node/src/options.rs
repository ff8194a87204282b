//! Server options as the JavaScript layer passes them (already validated and normalised
//! from socket.io's option names by `lib/options.js`).

use napi_derive::napi;
use roomcast::socketio::parser::Parser;
use roomcast::{Cors, CorsOrigin, PerMessageDeflate, RecoveryConfig, ServerConfig, Transports};
use roomcast_redis::{
    RedisAdapterConfig, RedisAdapterFactory, RedisShardedAdapterFactory, RedisShardedConfig,
    RedisStreamsAdapterFactory, RedisStreamsConfig,
};
use std::sync::Arc;
use std::time::Duration;

#[napi(object)]
pub struct NativeOptions {
    /// The Socket.IO path with a trailing slash (`/socket.io/`).
    pub path: String,
    pub ping_interval: f64,
    pub ping_timeout: f64,
    pub upgrade_timeout: f64,
    pub max_http_buffer_size: f64,
    pub connect_timeout: f64,
    pub polling: bool,
    pub websocket: bool,
    /// `*`: any origin; a list: those origins; absent: no CORS headers.
    pub cors_origins: Option<Vec<String>>,
    pub cors_credentials: bool,
    /// A preflight's `Access-Control-Allow-Methods` (absent: the `cors` package's default).
    pub cors_methods: Option<String>,
    /// A preflight's `Access-Control-Allow-Headers` (absent: the requested headers).
    pub cors_allowed_headers: Option<String>,
    pub cleanup_empty_child_namespaces: bool,
    /// Also accept Engine.IO v3 clients (socket.io v2), socket.io's `allowEIO3`.
    pub allow_eio3: bool,
    /// Speak `socket.io-msgpack-parser`'s format instead of the default parser's.
    pub msgpack: bool,
    /// Compress polling responses of at least this many bytes (absent: never).
    pub http_compression_threshold: Option<f64>,
    /// permessage-deflate for WebSocket messages of at least this many bytes (absent: off).
    pub per_message_deflate_threshold: Option<f64>,
    /// zlib level 0–9 for permessage-deflate (absent: the core's default).
    pub per_message_deflate_level: Option<f64>,
    /// Connection state recovery: how long a dropped session may be resumed (absent: off).
    pub recovery_max_disconnection_duration: Option<f64>,
    pub recovery_skip_middlewares: bool,
    /// Frames queued for one connection before it is disconnected as a slow consumer.
    pub max_queued_frames: Option<f64>,
    /// Dynamic child namespaces that may exist at once (absent: the core's default).
    pub max_child_namespaces: Option<f64>,
    /// Acknowledgements one socket may be awaited for at once (absent: the core's default).
    pub max_pending_acks: Option<f64>,
    /// Bytes queued for one connection before it is disconnected as a slow consumer.
    pub max_queued_bytes: Option<f64>,
    /// Bytes of client events waiting for JavaScript, per socket and per server.
    pub max_host_backlog_per_socket: Option<f64>,
    pub max_host_backlog: Option<f64>,
    /// Milliseconds for a request's headers on the native listener (absent: the core's
    /// default; 0: off).
    pub http_header_timeout: Option<f64>,
    /// Milliseconds for a polling body on the native listener (absent: default; 0: off).
    pub http_body_timeout: Option<f64>,
    /// Caps of the native listener and of sessions (absent: the core's defaults).
    pub max_connections: Option<f64>,
    pub max_connections_per_ip: Option<f64>,
    pub max_sessions: Option<f64>,
    /// The Redis adapter (`createAdapter(...)`); absent: in-memory.
    pub redis: Option<NativeRedis>,
    /// No sticky sessions (`routeSessions`): applied when the own listener binds.
    pub route_sessions: Option<NativeRouteSessions>,
}

/// Options of the Redis adapter, as `createAdapter` normalised them.
/// `instrument(io, options)` of `@socket.io/admin-ui`, checked and normalised in JavaScript.
#[napi(object)]
pub struct NativeAdmin {
    pub namespace: String,
    pub read_only: bool,
    /// `development` or `production`.
    pub mode: String,
    pub server_id: Option<String>,
    /// Basic auth: the username and the bcrypt hash of the password; none: no login.
    pub username: Option<String>,
    pub password_hash: Option<String>,
    /// Milliseconds between two `server_stats` (2000 in the npm package).
    pub stats_interval: f64,
}

/// `routeSessions: { url, address, keyPrefix, ttl }`: a session directory in Redis.
#[napi(object)]
#[derive(Clone)]
pub struct NativeRouteSessions {
    pub url: String,
    /// `host:port` other nodes reach this one at; default: the bound address.
    pub address: Option<String>,
    pub key_prefix: Option<String>,
    /// Milliseconds an entry lives unless its session keeps being served.
    pub ttl: Option<f64>,
}

impl NativeRouteSessions {
    /// Hands requests for other nodes' sessions to them, for a listener bound to `bound`.
    pub fn apply(&self, io: &roomcast::Server, bound: std::net::SocketAddr) -> napi::Result<()> {
        use roomcast_redis::{RedisSessionDirectory, SessionDirectoryConfig};
        let fail = |e: roomcast_redis::RedisSetupError| {
            napi::Error::from_reason(format!("roomcast: routeSessions: {e}"))
        };
        let address =
            SessionDirectoryConfig::address_for(self.address.as_deref(), bound).map_err(fail)?;
        let mut config = SessionDirectoryConfig::new(self.url.clone(), address);
        if let Some(prefix) = &self.key_prefix {
            config.key_prefix = prefix.clone();
        }
        if let Some(ms) = self.ttl.filter(|ms| ms.is_finite() && *ms >= 1000.0) {
            config.ttl = millis(ms);
        }
        let directory = RedisSessionDirectory::new(config, io.runtime()).map_err(fail)?;
        io.engine().set_session_directory(directory);
        Ok(())
    }
}

#[napi(object)]
pub struct NativeRedis {
    pub url: String,
    pub key: String,
    /// Milliseconds cluster-wide requests wait for every node.
    pub requests_timeout: f64,
    /// The Redis Streams adapter (`createStreamsAdapter`); `key` is then its channel prefix.
    pub streams: Option<bool>,
    pub stream_name: Option<String>,
    pub max_len: Option<f64>,
    /// Keys of recoverable sessions (`sessionKeyPrefix`).
    pub session_key_prefix: Option<String>,
    /// The sharded adapter (`createShardedAdapter`) on these cluster nodes; `key` is then its
    /// channel prefix.
    pub sharded: Option<bool>,
    pub nodes: Option<Vec<String>>,
    pub subscription_mode: Option<String>,
}

/// A timeout in milliseconds where 0 turns it off.
fn optional_millis(v: f64) -> Option<Duration> {
    (v.is_finite() && v > 0.0).then(|| millis(v))
}

/// A cap of at least 1.
fn cap(v: Option<f64>) -> Option<usize> {
    v.filter(|n| n.is_finite() && *n >= 1.0).map(|n| n as usize)
}

fn millis(v: f64) -> Duration {
    Duration::from_millis(if v.is_finite() && v > 0.0 {
        v as u64
    } else {
        0
    })
}

impl NativeOptions {
    pub fn to_config(&self) -> napi::Result<ServerConfig> {
        let mut c = ServerConfig::default();
        c.engine.path = self.path.clone();
        c.engine.ping_interval = millis(self.ping_interval);
        c.engine.ping_timeout = millis(self.ping_timeout);
        c.engine.upgrade_timeout = millis(self.upgrade_timeout);
        c.engine.max_http_buffer_size =
            if self.max_http_buffer_size.is_finite() && self.max_http_buffer_size > 0.0 {
                self.max_http_buffer_size as usize
            } else {
                0
            };
        c.engine.allow_eio3 = self.allow_eio3;
        c.engine.transports = Transports {
            polling: self.polling,
            websocket: self.websocket,
        };
        c.engine.cors = Cors {
            origin: match &self.cors_origins {
                None => CorsOrigin::Disabled,
                Some(list) if list.iter().any(|o| o == "*") => CorsOrigin::Any,
                Some(list) => CorsOrigin::List(list.clone()),
            },
            credentials: self.cors_credentials,
            methods: self.cors_methods.clone(),
            allowed_headers: self.cors_allowed_headers.clone(),
        };
        c.connect_timeout = millis(self.connect_timeout);
        c.cleanup_empty_child_namespaces = self.cleanup_empty_child_namespaces;
        c.engine.http_compression_threshold = self
            .http_compression_threshold
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map(|t| t as usize);
        c.engine.per_message_deflate = self
            .per_message_deflate_threshold
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map(|t| {
                let mut pmd = PerMessageDeflate {
                    threshold: t as usize,
                    ..PerMessageDeflate::default()
                };
                if let Some(level) = self
                    .per_message_deflate_level
                    .filter(|l| l.is_finite() && (0.0..=9.0).contains(l))
                {
                    pmd.level = level as u32;
                }
                pmd
            });
        c.connection_state_recovery =
            self.recovery_max_disconnection_duration
                .map(|ms| RecoveryConfig {
                    max_disconnection_duration: millis(ms),
                    skip_middlewares: self.recovery_skip_middlewares,
                    ..RecoveryConfig::default()
                });
        if let Some(n) = self
            .max_queued_frames
            .filter(|n| n.is_finite() && *n >= 1.0)
        {
            c.engine.max_queued_frames = n as usize;
        }
        if let Some(n) = self
            .max_child_namespaces
            .filter(|n| n.is_finite() && *n >= 0.0)
        {
            c.max_child_namespaces = n as usize;
        }
        if let Some(n) = self.max_pending_acks.filter(|n| n.is_finite() && *n >= 0.0) {
            c.max_pending_acks = n as usize;
        }
        if let Some(n) = cap(self.max_queued_bytes) {
            c.engine.max_queued_bytes = n;
        }
        if let Some(n) = cap(self.max_host_backlog_per_socket) {
            c.max_host_backlog_per_socket = n;
        }
        if let Some(n) = cap(self.max_host_backlog) {
            c.max_host_backlog = n;
        }
        if let Some(ms) = self.http_header_timeout {
            c.engine.http_header_timeout = optional_millis(ms);
        }
        if let Some(ms) = self.http_body_timeout {
            c.engine.http_body_timeout = optional_millis(ms);
        }
        c.engine.max_connections = cap(self.max_connections);
        c.engine.max_connections_per_ip = cap(self.max_connections_per_ip);
        c.engine.max_sessions = cap(self.max_sessions);
        if self.msgpack {
            c.parser = Parser::MsgPack;
        }
        if let Some(redis) = &self.redis {
            c.adapter = redis.factory()?;
        }
        Ok(c)
    }
}

impl NativeRedis {
    fn factory(&self) -> napi::Result<Arc<dyn roomcast::adapter::AdapterFactory>> {
        let setup =
            |e: roomcast_redis::RedisSetupError| napi::Error::from_reason(format!("roomcast: {e}"));
        if self.sharded == Some(true) {
            let nodes = self.nodes.clone().unwrap_or_else(|| vec![self.url.clone()]);
            let mut config = RedisShardedConfig::new(nodes);
            config.channel_prefix = self.key.clone();
            config.requests_timeout = millis(self.requests_timeout);
            if let Some(mode) = &self.subscription_mode {
                config.subscription_mode = mode.parse().map_err(setup)?;
            }
            return Ok(Arc::new(
                RedisShardedAdapterFactory::new(config).map_err(setup)?,
            ));
        }
        if self.streams == Some(true) {
            let mut config = RedisStreamsConfig::new(self.url.clone());
            config.channel_prefix = self.key.clone();
            config.requests_timeout = millis(self.requests_timeout);
            if let Some(name) = &self.stream_name {
                config.stream_name = name.clone();
            }
            if let Some(n) = self.max_len {
                config.max_len = n.max(1.0) as usize;
            }
            if let Some(prefix) = &self.session_key_prefix {
                config.session_key_prefix = prefix.clone();
            }
            return Ok(Arc::new(
                RedisStreamsAdapterFactory::new(config).map_err(setup)?,
            ));
        }
        let mut config = RedisAdapterConfig::new(self.url.clone());
        config.key = self.key.clone();
        config.requests_timeout = millis(self.requests_timeout);
        Ok(Arc::new(RedisAdapterFactory::new(config).map_err(setup)?))
    }
}
