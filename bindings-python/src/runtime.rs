//! The tokio runtime every server of the process runs on.
//!
//! It is created on first use and lives until the process exits: its worker threads (one per
//! CPU the process may use, or `ROOMCAST_WORKER_THREADS`) are shared by all servers, so
//! starting and closing servers (in a test suite, say) never creates more threads.
//! `ROOMCAST_SCHEDULER=ordered` serves every connection on one thread in arrival order
//! instead (`roomcast::runtime`).

use roomcast::runtime::Scheduler;
use std::sync::OnceLock;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: OnceLock<&'static Runtime> = OnceLock::new();

/// The shared runtime, created on first call.
pub fn handle() -> Handle {
    RUNTIME
        .get_or_init(|| {
            roomcast::runtime::shared_host_runtime("roomcast-worker", Scheduler::Parallel)
                .unwrap_or_else(|e| panic!("cannot start the roomcast runtime: {e}"))
        })
        .handle()
        .clone()
}
