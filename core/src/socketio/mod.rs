//! Socket.IO: the packet codec and the per-connection client that multiplexes namespaces.

pub mod client;
pub mod packet;
pub mod parser;
