//! Socket.IO: the per-connection client that multiplexes namespaces; the packet codec and
//! parsers come from `roomcast-protocol`.

pub mod client;
pub use roomcast_protocol::socketio::{packet, parser};
