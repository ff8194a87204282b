//! # roomcast-protocol
//!
//! The wire format of Socket.IO, as pure functions over bytes: no sockets, no runtime.
//!
//! - [`engineio`]: Engine.IO packets ([`engineio::packet`]) and HTTP long-polling payloads in
//!   the v4 ([`engineio::payload`]) and v3 ([`engineio::payload_v3`]) framings.
//! - [`socketio`]: Socket.IO packets ([`socketio::packet`]) and the two parsers a server speaks
//!   ([`socketio::parser`]: the default text parser with binary attachments, and msgpack).
//! - [`Payload`]: event arguments as JSON array text plus binary attachments, the form in which
//!   arguments cross between the network, the server and a host language.
//! - [`msgpack`]: msgpack values as JSON text plus attachments (shared with the Redis adapter).
//!
//! The `roomcast` server crate builds on these; fuzz targets exercise them alone.

pub mod calendar;
pub mod engineio;
pub mod msgpack;
mod payload;
pub mod socketio;

pub use payload::Payload;

#[doc(hidden)]
pub use serde_json as __serde_json;
