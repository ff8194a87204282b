//! The addon's tokio runtime: one per process, shared by every server, created on first use.
//!
//! Its worker threads never call into JavaScript and never keep the Node process alive: what
//! keeps the process alive is the wake-up channel's socket, referenced only while a server listens.

use roomcast::runtime::Scheduler;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<&'static Runtime> = OnceLock::new();

/// The shared runtime. Fails only when the OS refuses the threads.
///
/// Ordered by default: Node.js code expects clients to be served in the order they arrive,
/// as Node's single thread serves them (`roomcast::runtime` explains the two schedulers;
/// `ROOMCAST_SCHEDULER=parallel` picks work-stealing workers instead).
pub fn get() -> napi::Result<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    init_logging();
    let rt =
        roomcast::runtime::shared_host_runtime("roomcast-io", Scheduler::Ordered).map_err(|e| {
            napi::Error::from_reason(format!("roomcast: cannot start its I/O threads: {e}"))
        })?;
    // Only the JavaScript thread creates servers, so a second runtime is never started.
    let _ = RUNTIME.set(rt);
    Ok(rt)
}

/// Core logs go to stderr, filtered by `ROOMCAST_LOG` (tracing's `EnvFilter` syntax,
/// default `warn`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ROOMCAST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
