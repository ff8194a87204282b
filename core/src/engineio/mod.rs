//! Engine.IO: packets, polling payloads, sessions and their configuration.

pub mod config;
pub mod error;
pub mod host_turn;
pub mod packet;
pub mod payload;
pub mod payload_v3;
pub mod session;
pub mod wake_batch;

pub use crate::transport::engine_only::EngineServer;
pub use config::EngineConfig;
pub use error::EngineError;
pub use host_turn::end_host_turn;
pub use packet::{Frame, Inbound};
pub use session::{CloseReason, EngineSession, Probe, TransportKind};
pub use wake_batch::with_batched_wakes;
