//! Engine.IO packets and polling payloads.

pub mod packet;
pub mod payload;
pub mod payload_v3;

pub use packet::{Frame, Inbound};
