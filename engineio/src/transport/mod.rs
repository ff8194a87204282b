//! Transport drivers: the native listener (hyper for HTTP long-polling; for WebSocket our
//! message layer over tungstenite's frame codec). Drivers only move bytes between sockets and
//! [`crate::EngineSession`]s.

pub mod adopted;
pub(crate) mod arrived;
pub mod client_files;
pub mod cors;
pub mod external;
pub mod host_exchange;
pub mod host_http;
pub(crate) mod http;
pub mod input_waiting;
pub(crate) mod limits;
pub mod permessage_deflate;
#[cfg(unix)]
pub mod read_ordered;
pub mod server_websocket;
pub(crate) mod watched_io;
pub(crate) mod websocket;
