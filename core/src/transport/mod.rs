//! Transport drivers: the native listener (hyper for HTTP long-polling, tungstenite for
//! WebSocket, our own message layer for WebSockets with permessage-deflate). Drivers only
//! move bytes between sockets and [`crate::EngineSession`]s.

pub mod cors;
pub mod deflate_socket;
pub mod external;
pub(crate) mod http;
pub mod permessage_deflate;
pub(crate) mod websocket;
