//! # roomcast
//!
//! A Socket.IO server: Engine.IO v4 over HTTP long-polling and WebSocket, Socket.IO v5,
//! namespaces (static and dynamic), rooms, broadcasting with acks, binary attachments,
//! middlewares, and an [`Adapter`] trait with an in-memory default.
//!
//! ```no_run
//! use roomcast::{payload, Server, ServerConfig};
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = Server::new(ServerConfig::default());
//! let io2 = io.clone();
//! io.sockets().on_connection(move |socket| {
//!     socket.join(["some room"]);
//!     let _ = io2.sockets().to(["some room"]).emit("some event", payload!());
//!     socket.on("say to someone", |socket, args, _ack| {
//!         if let Ok((id, msg)) = args.parse::<(String, serde_json::Value)>() {
//!             let _ = socket.to([id.as_str()]).emit("my message", payload!(msg));
//!         }
//!     });
//! });
//! let nsp = io.of("/my-namespace");
//! let nsp2 = nsp.clone();
//! nsp.on_connection(move |_socket| {
//!     let _ = nsp2.emit("hi", payload!("Hello everyone!"));
//! });
//! io.listen("127.0.0.1:3000").await?;
//! # Ok(()) }
//! ```
//!
//! ## Layers
//!
//! - `roomcast-protocol` (re-exported as [`engineio::packet`], [`socketio::packet`],
//!   [`Payload`], …): the wire codecs, with no runtime.
//! - `roomcast-engineio` (re-exported as [`engineio`], with [`transport`]): sessions,
//!   heartbeat, upgrade, the native listener and the host-driven transports;
//!   [`EngineServer`] serves Engine.IO alone, without Socket.IO. A [`Server`] is an
//!   [`EngineServer`] whose [`SessionAcceptor`] gives each session a Socket.IO client.
//! - [`socketio`]: the per-connection client.
//! - [`Namespace`], [`Socket`], [`BroadcastOperator`]: the socket.io API.
//! - [`Adapter`]: rooms and fan-out ([`MemoryAdapter`] by default).
//! - [`host`]: the seam the Python and Node bindings use ([`NamespaceHandler`],
//!   [`EventQueue`], [`HostEvent`]); the closure API in this crate sits on the same seam.

pub mod adapter;
pub mod admin;
mod admission;
pub mod disconnect_reason;
pub mod hand_off;
pub mod handlers;
pub mod host;
pub mod host_wake;
mod monitor;
pub mod namespace;
pub mod operator;
pub mod recovery;
pub mod runtime;
pub mod server;
pub mod socket;
pub mod socketio;

/// The Engine.IO layer (the `roomcast-engineio` crate): sessions, transports, the listener.
pub use roomcast_engineio as engineio;
pub use roomcast_engineio::{handshake, id, transport};

pub use adapter::{
    Adapter, AdapterError, AdapterFactory, BroadcastFlags, BroadcastOptions, MemoryAdapter, Room,
};
pub use engineio::config::{Cors, CorsOrigin, PerMessageDeflate, Transports};
pub use engineio::{EngineConfig, EngineServer, EngineSession, SessionAcceptor};
pub use host::{
    Completion, ConnEvent, ConnectError, EventQueue, HostEvent, NamespaceHandler, NamespaceMatcher,
    Pending, QueueHandler, QueueMatcher, Reply, ServerSideAck, ServerSideEvent,
};
pub use id::Sid;
pub use namespace::{Namespace, ParentNamespace};
pub use operator::{BroadcastAckError, BroadcastOperator, RemoteSocket};
pub use recovery::RecoveryConfig;
pub use roomcast_protocol::{msgpack, payload, Payload};
pub use server::{Server, ServerConfig, ServerStats};
pub use socket::{
    AckError, AckSender, DisconnectReason, EmitError, IncomingEvent, SendFlags, Socket, SocketRef,
};
pub use socketio::parser::Parser;
pub use transport::client_files::ClientFiles;
pub use transport::external::{InputWaiting, WebSocketChannel, WsMessage};
pub use transport::input_waiting::{InputNotify, ReadTracked, SocketInput};
