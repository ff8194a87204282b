//! The tokio runtime a language binding runs its servers on.
//!
//! A host process (Python, Node.js) has no runtime of its own, so a binding creates one per
//! process, with one of two schedulers ([`Scheduler`]; `ROOMCAST_SCHEDULER` overrides the
//! binding's default):
//!
//! - **ordered**: one I/O thread runs every connection's task in the order they were woken,
//!   and tokio's I/O driver wakes them in the order the kernel reports them, so connections
//!   are answered, and their packets handed to the host, close to arrival order — what a
//!   single-threaded host (Node.js, asyncio) gives its code, and what code written for it
//!   relies on: clients created one after the other are served in that order, and what one
//!   client sent before another client's round trip reaches the handlers first. Close, not
//!   always: now and then requests are handled in another order than their connections were
//!   accepted (the README's "Limits and guarantees" has the figures).
//! - **parallel**: work-stealing workers, one per CPU the process may use (as tokio's default
//!   does: a server pinned to one core gets one worker, which never competes with a second
//!   one for the core it shares with the host's thread; `ROOMCAST_WORKER_THREADS` overrides
//!   it). Connections are read on several cores at once, so two clients' events can reach
//!   the host in either order; and a worker runs the task woken last first (tokio's LIFO
//!   slot), so even one worker reorders them.

use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::{Builder, Handle, Id, Runtime};

/// The environment variable that sets the number of worker threads (parallel scheduler).
pub const WORKER_THREADS_VAR: &str = "ROOMCAST_WORKER_THREADS";

/// The environment variable that picks the scheduler: `ordered` or `parallel`.
pub const SCHEDULER_VAR: &str = "ROOMCAST_SCHEDULER";

/// How a host runtime schedules connections (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    /// One I/O thread, events in arrival order.
    Ordered,
    /// Work-stealing workers, one per CPU.
    Parallel,
}

impl Scheduler {
    /// `ROOMCAST_SCHEDULER` if set (a bad value is logged and ignored), else `default`.
    pub fn from_env(default: Scheduler) -> Scheduler {
        let Ok(value) = std::env::var(SCHEDULER_VAR) else {
            return default;
        };
        match value.trim() {
            "ordered" => Scheduler::Ordered,
            "parallel" => Scheduler::Parallel,
            "" => default,
            other => {
                tracing::warn!(
                    "{SCHEDULER_VAR}={other:?} is neither \"ordered\" nor \"parallel\"; using {default:?}"
                );
                default
            }
        }
    }
}

/// The ordered runtimes this process started: driven by their own thread for as long as the
/// process lives, so tasks spawned on them run without anyone calling `block_on`.
static DRIVEN: OnceLock<parking_lot::Mutex<Vec<Id>>> = OnceLock::new();

/// Whether tasks spawned on `handle` run on their own: a multi-threaded runtime, or an
/// ordered one started by [`shared_host_runtime`]. A current-thread runtime runs tasks only
/// while someone drives it (a test's `block_on`), so work handed to it could wait forever.
pub(crate) fn runs_by_itself(handle: &Handle) -> bool {
    match handle.runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => DRIVEN
            .get()
            .is_some_and(|ids| ids.lock().contains(&handle.id())),
        _ => true,
    }
}

/// Starts the runtime a binding shares between all its servers, with `default`'s scheduler
/// unless `ROOMCAST_SCHEDULER` says otherwise. It lives as long as the process.
pub fn shared_host_runtime(
    thread_name: &str,
    default: Scheduler,
) -> std::io::Result<&'static Runtime> {
    match Scheduler::from_env(default) {
        Scheduler::Parallel => Ok(Box::leak(Box::new(host_runtime(thread_name)?))),
        Scheduler::Ordered => ordered_host_runtime(thread_name),
    }
}

/// Builds the multi-threaded runtime (the parallel scheduler).
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

/// Builds the ordered runtime and starts the thread that drives it.
fn ordered_host_runtime(thread_name: &str) -> std::io::Result<&'static Runtime> {
    let runtime = Builder::new_current_thread()
        .enable_all()
        .thread_name(thread_name)
        .thread_keep_alive(Duration::from_secs(1))
        .on_thread_park(crate::host_wake::worker_parking)
        .build()?;
    let runtime: &'static Runtime = Box::leak(Box::new(runtime));
    DRIVEN
        .get_or_init(Default::default)
        .lock()
        .push(runtime.handle().id());
    std::thread::Builder::new()
        .name(thread_name.to_string())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
    Ok(runtime)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordered_runtime_runs_spawned_tasks_by_itself_in_spawn_order() {
        let runtime = ordered_host_runtime("ordered-test").expect("runtime");
        assert!(runs_by_itself(runtime.handle()));
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..20 {
            let tx = tx.clone();
            runtime.spawn(async move {
                let _ = tx.send(i);
            });
        }
        let order: Vec<i32> = (0..20)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).expect("task ran"))
            .collect();
        assert_eq!(order, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn a_test_runtime_does_not_run_by_itself() {
        let runtime = Builder::new_current_thread().build().expect("runtime");
        assert!(!runs_by_itself(runtime.handle()));
    }
}
