//! Engine.IO options, with the reference server's defaults.

use std::time::Duration;

/// Transports a server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transports {
    pub polling: bool,
    pub websocket: bool,
}

impl Default for Transports {
    fn default() -> Self {
        Transports {
            polling: true,
            websocket: true,
        }
    }
}

/// Cross-origin resource sharing for the polling transport.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigin {
    /// No CORS headers are sent (socket.io's default when `cors` is not set).
    #[default]
    Disabled,
    /// `Access-Control-Allow-Origin: *` (or the request's origin when credentials are on).
    Any,
    /// Only these origins are allowed.
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cors {
    pub origin: CorsOrigin,
    pub credentials: bool,
    /// `Access-Control-Allow-Methods` of a preflight; `None`: the `cors` package's default
    /// (`GET,HEAD,PUT,PATCH,POST,DELETE`).
    pub methods: Option<String>,
    /// `Access-Control-Allow-Headers` of a preflight; `None`: the headers the preflight asks
    /// for are allowed (the `cors` package's default).
    pub allowed_headers: Option<String>,
}

/// permessage-deflate for WebSocket (socket.io's `perMessageDeflate`), off by default.
///
/// When a client offers it, each message of at least `threshold` bytes is compressed on its
/// own (no context takeover either way), so a broadcast is compressed once for all recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflate {
    /// Messages shorter than this are sent uncompressed (1024, as socket.io).
    pub threshold: usize,
    /// zlib compression level, 0–9 (1: most of the saving for little CPU).
    pub level: u32,
}

impl Default for PerMessageDeflate {
    fn default() -> Self {
        PerMessageDeflate {
            threshold: 1024,
            level: 1,
        }
    }
}

/// Options of the Engine.IO layer.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// URL path the server answers on, with a trailing slash (default `/socket.io/`).
    pub path: String,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// How long a polling→websocket upgrade may take before the probe socket is dropped.
    pub upgrade_timeout: Duration,
    /// Largest accepted message or polling body, in bytes (413 on polling past it).
    pub max_http_buffer_size: usize,
    pub transports: Transports,
    pub cors: Cors,
    /// Outbound frames queued for one connection before it is treated as a slow consumer.
    pub max_queued_frames: usize,
    /// Outbound bytes queued for one connection before it is treated as a slow consumer
    /// (64 MiB by default). A single message is always queued on an empty queue.
    pub max_queued_bytes: usize,
    /// Accept Engine.IO v3 clients (socket.io v2), as socket.io's `allowEIO3`.
    pub allow_eio3: bool,
    /// Compress polling responses of at least this many bytes with gzip or deflate when the
    /// client accepts it (socket.io's `httpCompression`, threshold 1024 by default);
    /// `None` turns it off.
    pub http_compression_threshold: Option<usize>,
    /// permessage-deflate for WebSocket; `None` (the default) does not negotiate it.
    pub per_message_deflate: Option<PerMessageDeflate>,
    /// Native listener: time for a request's headers to arrive (10 s by default). hyper
    /// starts this timer whenever a connection waits for its next request, so it also
    /// closes keep-alive connections idle that long. `None` turns it off.
    pub http_header_timeout: Option<Duration>,
    /// Native listener: time for a polling POST body to arrive once its headers have
    /// (30 s by default); past it the request gets 408 and the connection is closed.
    pub http_body_timeout: Option<Duration>,
    /// Native listener: open TCP connections (WebSockets included) per server. `None` (the
    /// default): nine tenths of the process's open-file limit.
    pub max_connections: Option<usize>,
    /// Native listener: open TCP connections per client address. `None` (the default): no
    /// cap, since clients behind a proxy or NAT share one address.
    pub max_connections_per_ip: Option<usize>,
    /// Engine.IO sessions per server; past it handshakes get 503. `None` (the default): no
    /// cap beyond `max_connections`.
    pub max_sessions: Option<usize>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: "/socket.io/".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_http_buffer_size: 1_000_000,
            transports: Transports::default(),
            cors: Cors::default(),
            max_queued_frames: 65_536,
            max_queued_bytes: 64 << 20,
            allow_eio3: false,
            http_compression_threshold: Some(1024),
            per_message_deflate: None,
            http_header_timeout: Some(Duration::from_secs(10)),
            http_body_timeout: Some(Duration::from_secs(30)),
            max_connections: None,
            max_connections_per_ip: None,
            max_sessions: None,
        }
    }
}
