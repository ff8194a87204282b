//! The tokio runtime every server of the process runs on.
//!
//! It is created on first use and lives until the process exits: its two worker threads are
//! shared by all servers, so starting and closing servers (in a test suite, say) never
//! creates more threads.

use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The shared runtime, created on first call.
pub fn handle() -> Handle {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("roomcast-worker")
                // Blocking threads only serve rare lookups (bind to a host name); let idle
                // ones go quickly so a process's thread count settles.
                .thread_keep_alive(Duration::from_secs(1))
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("cannot start the roomcast runtime: {e}"))
        })
        .handle()
        .clone()
}
