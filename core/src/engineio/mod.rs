//! Engine.IO: sessions, their configuration and the server; the packet and payload codecs
//! come from `roomcast-protocol`.

pub mod config;
pub mod error;
pub mod host_turn;
pub mod packet_events;
pub mod session;
pub mod wake_batch;

pub use crate::transport::engine_only::EngineServer;
pub use config::EngineConfig;
pub use error::EngineError;
pub use host_turn::end_host_turn;
pub use packet_events::{EnginePacket, PacketData, PacketEvent};
pub use roomcast_protocol::engineio::{packet, payload, payload_v3, Frame, Inbound};
pub use session::{CloseReason, EngineSession, Probe, TransportKind};
pub use wake_batch::with_batched_wakes;
