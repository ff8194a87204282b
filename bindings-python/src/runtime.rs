//! The tokio runtime every server of the process runs on.
//!
//! It is created on first use and lives until the process exits: its worker threads (one per
//! CPU the process may use, or `ROOMCAST_WORKER_THREADS`) are shared by all servers, so
//! starting and closing servers (in a test suite, say) never creates more threads.

use std::sync::OnceLock;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The shared runtime, created on first call.
pub fn handle() -> Handle {
    RUNTIME
        .get_or_init(|| {
            roomcast::runtime::host_runtime("roomcast-worker")
                .unwrap_or_else(|e| panic!("cannot start the roomcast runtime: {e}"))
        })
        .handle()
        .clone()
}
