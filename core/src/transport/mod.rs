//! Transport drivers: the native listener (hyper for HTTP long-polling, tungstenite for
//! WebSocket). Drivers only move bytes between sockets and [`crate::EngineSession`]s.

pub mod cors;
pub mod external;
pub(crate) mod http;
pub(crate) mod websocket;
