//! The tokio runtime a language binding runs its servers on.
//!
//! A host process (Python, Node.js) has no runtime of its own, so a binding creates one per
//! process. Its worker count follows the CPUs the process may use, as tokio's default does:
//! a server pinned to one core gets one worker, and that worker never competes with a second
//! one for the core it shares with the host's thread. `ROOMCAST_WORKER_THREADS` overrides it.

use std::time::Duration;
use tokio::runtime::{Builder, Runtime};

/// The environment variable that sets the number of worker threads.
pub const WORKER_THREADS_VAR: &str = "ROOMCAST_WORKER_THREADS";

/// Builds the multi-threaded runtime a binding shares between all its servers.
pub fn host_runtime(thread_name: &str) -> std::io::Result<Runtime> {
    let mut builder = Builder::new_multi_thread();
    builder
        .enable_all()
        .thread_name(thread_name)
        // Blocking threads only serve rare lookups (bind to a host name); let idle ones go
        // quickly so a process's thread count settles.
        .thread_keep_alive(Duration::from_secs(1))
        // Host threads are woken when a worker runs out of work (crate::host_wake).
        .on_thread_park(crate::host_wake::worker_parking);
    if let Some(n) = worker_threads_override() {
        builder.worker_threads(n);
    }
    builder.build()
}

fn worker_threads_override() -> Option<usize> {
    let value = std::env::var(WORKER_THREADS_VAR).ok()?;
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            tracing::warn!(
                "{WORKER_THREADS_VAR}={value:?} is not a positive number; using one worker per CPU"
            );
            None
        }
    }
}
