//! # roomcast-engineio
//!
//! An Engine.IO server — protocol v4 and v3, HTTP long-polling and WebSocket (with
//! permessage-deflate), CORS, heartbeats, upgrades — on tokio and hyper. It is the transport
//! layer of the `roomcast` Socket.IO server and works on its own: give [`EngineServer`] a
//! [`SessionHandler`] and every session's messages reach it.
//!
//! ```no_run
//! use roomcast_engineio::session::{Message, SessionHandler};
//! use roomcast_engineio::{EngineConfig, EngineServer, EngineSession, Frame};
//! use std::sync::Arc;
//!
//! struct Echo;
//! impl SessionHandler for Echo {
//!     fn on_message(&self, session: &Arc<EngineSession>, message: Message<'_>) {
//!         let _ = session.send(match message {
//!             Message::Text(text) => Frame::message(text),
//!             Message::Binary(bytes) => Frame::Binary(bytes),
//!         });
//!     }
//!     fn on_close(&self, _: &Arc<EngineSession>, _: roomcast_engineio::CloseReason) {}
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = EngineServer::new(EngineConfig::default(), Arc::new(Echo));
//! server.listen("127.0.0.1:3000").await?;
//! # Ok(()) }
//! ```
//!
//! A server built on top (Socket.IO) gives each new session to its own
//! [`SessionAcceptor`] instead.
//!
//! ## Modules
//!
//! - [`session`]: one client's session — its queue, heartbeat, upgrade and close.
//! - [`server`]: the sessions of a server, its limits and its shutdown.
//! - [`transport`]: the native listener (hyper for HTTP, a WebSocket message layer over
//!   tungstenite's frame codec) and the host-driven transports; drivers only move bytes.
//! - the codecs ([`packet`], [`payload`], [`payload_v3`]) come from `roomcast-protocol`.

pub mod config;
pub mod directory;
pub mod error;
pub mod handshake;
pub mod host_turn;
pub mod id;
pub mod observer;
pub mod packet_events;
pub mod pending;
pub mod server;
pub mod session;
mod standalone;
pub mod traffic;
pub mod transport;
pub mod wake_batch;

pub use config::{Cors, CorsOrigin, EngineConfig, PerMessageDeflate, Transports};
pub use error::EngineError;
pub use handshake::RequestInfo;
pub use host_turn::end_host_turn;
pub use id::Sid;
pub use observer::{ContextValue, EngineObserver, ExtraHeaders, RefusedRequest};
pub use packet_events::{EnginePacket, PacketData, PacketEvent};
pub use pending::Pending;
pub use roomcast_protocol::engineio::{packet, payload, payload_v3, Frame, Inbound};
#[cfg(unix)]
pub use server::defer_accept_until_data;
pub use server::{
    bind_listener, AllowRequest, EngineServer, EngineStats, HttpFallback, SessionAcceptor,
};
pub use session::{CloseReason, EngineSession, Probe, SessionHandler, TransportKind};
pub use transport::adopted::AdoptedSocket;
pub use transport::client_files::ClientFiles;
pub use transport::external::{InputWaiting, WebSocketChannel, WsMessage};
pub use transport::input_waiting::{InputNotify, ReadTracked, SocketInput};
#[cfg(unix)]
pub use transport::read_ordered::ReadOrderedStream;
pub use wake_batch::with_batched_wakes;
