//! Monitoring with the official Socket.IO admin UI (`@socket.io/admin-ui`): [`Server::instrument`]
//! serves the UI's namespace (`/admin` by default) with the protocol the UI speaks —
//! `config`, `all_sockets`, `server_stats` every interval, `socket_connected`,
//! `socket_updated`, `socket_disconnected`, `room_joined`, `room_left`, `event_received`,
//! `event_sent` — and answers the UI's `emit`, `join`, `leave` and `_disconnect` unless
//! read-only.
//!
//! Everything the UI shows is counted here, in the core: a broadcast fans out in Rust, so
//! per-recipient counts cannot come from a host. In a cluster each node is instrumented and
//! reports itself; the admin namespace broadcasts through the adapter like any other, so a UI
//! connected to one node sees every node's stats and sockets.
//!
//! ```no_run
//! use roomcast::admin::{AdminAuth, AdminOptions};
//! # fn run(io: roomcast::Server) -> Result<(), roomcast::admin::AdminError> {
//! io.instrument(AdminOptions::new(AdminAuth::basic(
//!     "admin",
//!     // bcrypt hash of the password, as @socket.io/admin-ui takes it
//!     "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS",
//! )?))?;
//! # Ok(()) }
//! ```

mod auth;
mod feed;
mod handlers;
mod stats;
mod wire;

pub use auth::{AdminAuth, AdminCheck};
pub(crate) use stats::mark_process_start;

use crate::server::Server;
use std::time::Duration;

/// What the UI is sent (socket.io admin UI's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminMode {
    /// Every socket, room change and event, as it happens (costs a report per packet).
    #[default]
    Development,
    /// Aggregated counts only (packets, bytes, connections per second); no per-socket details.
    Production,
}

impl AdminMode {
    /// `"development"` or `"production"`, as the npm package and python-socketio name them.
    pub fn parse(name: &str) -> Result<AdminMode, AdminError> {
        match name {
            "development" => Ok(AdminMode::Development),
            "production" => Ok(AdminMode::Production),
            other => Err(AdminError::InvalidMode(other.to_string())),
        }
    }
}

/// How the server is instrumented for the admin UI.
#[derive(Clone)]
pub struct AdminOptions {
    pub auth: AdminAuth,
    /// The UI's namespace (`namespaceName`), `/admin` by default.
    pub namespace: String,
    /// Refuse the UI's `emit`, `join`, `leave` and `_disconnect` (`readonly`).
    pub read_only: bool,
    pub mode: AdminMode,
    /// This node's name in the UI; the host name by default.
    pub server_id: Option<String>,
    /// How often `server_stats` goes out; 2 s by default, as the UI expects.
    pub stats_interval: Duration,
}

impl AdminOptions {
    /// Options with `auth` and every default.
    pub fn new(auth: AdminAuth) -> AdminOptions {
        AdminOptions {
            auth,
            namespace: "/admin".into(),
            read_only: false,
            mode: AdminMode::Development,
            server_id: None,
            stats_interval: Duration::from_secs(2),
        }
    }

    pub fn namespace(mut self, name: impl Into<String>) -> AdminOptions {
        self.namespace = name.into();
        self
    }

    pub fn read_only(mut self, yes: bool) -> AdminOptions {
        self.read_only = yes;
        self
    }

    pub fn mode(mut self, mode: AdminMode) -> AdminOptions {
        self.mode = mode;
        self
    }

    pub fn server_id(mut self, id: impl Into<String>) -> AdminOptions {
        self.server_id = Some(id.into());
        self
    }

    pub fn stats_interval(mut self, every: Duration) -> AdminOptions {
        self.stats_interval = every;
        self
    }
}

/// Why a server cannot be instrumented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error(
        "the server is already instrumented for the admin UI (instrument() runs once per server)"
    )]
    AlreadyInstrumented,
    #[error("the admin UI's password must be a bcrypt hash ($2a$, $2b$ or $2y$), as @socket.io/admin-ui takes it: {0}")]
    InvalidPasswordHash(String),
    #[error("unknown admin UI mode {0:?}: expected \"development\" or \"production\"")]
    InvalidMode(String),
    #[error("the admin UI's namespace must start with \"/\", got {0:?}")]
    InvalidNamespace(String),
    #[error("the server_stats interval must be at least 100 ms, got {0:?}")]
    InvalidInterval(Duration),
}

impl Server {
    /// Serves the admin UI's namespace and reports this server to it (socket.io's
    /// `instrument(io, options)` of `@socket.io/admin-ui`, python-socketio's
    /// `Server.instrument()`). Runs once per server; the reports stop when it closes.
    pub fn instrument(&self, options: AdminOptions) -> Result<(), AdminError> {
        if !options.namespace.starts_with('/') {
            return Err(AdminError::InvalidNamespace(options.namespace));
        }
        if options.stats_interval < Duration::from_millis(100) {
            return Err(AdminError::InvalidInterval(options.stats_interval));
        }
        if self
            .shared
            .instrumented
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return Err(AdminError::AlreadyInstrumented);
        }
        let admin = self.of(&options.namespace);
        let shared = std::sync::Arc::new(handlers::AdminShared::new(self, &admin, &options));
        if options.mode == AdminMode::Development {
            let feed = feed::Feed::start(self, &admin);
            let _ = self.shared.monitor.set(feed.clone());
            let watch = feed.clone();
            self.on_new_namespace(move |nsp| watch.watch_rooms(nsp));
            for nsp in self.namespaces() {
                feed.watch_rooms(&nsp);
            }
        }
        let meter = self.engine().set_traffic_meter(std::sync::Arc::new(
            crate::engineio::traffic::TrafficMeter::new(),
        ));
        handlers::install(&admin, shared);
        stats::start(self, &admin, meter, &options);
        Ok(())
    }
}
