//! Large broadcasts made on a host's thread run on a runtime worker, in order.
//!
//! A broadcast walks its recipients and queues the encoded frame on each one's session. Made
//! from Node.js, that walk costs about 1.6 times the CPU it costs on a runtime worker (the
//! same functions, profiled side by side), and the JavaScript thread is the server's
//! bottleneck. So a host's broadcast to many sockets is handed to one runtime task per
//! server, which runs them one after the other, and the host goes on without waiting — it
//! typically emits again, and the writers then send several frames per system call.
//!
//! What an inline call guarantees still holds, because every later operation of the same
//! thread that could be seen to overtake a pending broadcast — queuing frames (emits, ack
//! answers), joining or leaving rooms, disconnecting, answering the core — first
//! calls `barrier`, which waits until the thread's handed-off broadcasts have run (closing
//! the server waits for every queued one). Those
//! entry points take no lock before the barrier, and a broadcast takes only the core's own
//! locks, so the wait cannot deadlock; it blocks a host's thread on the runtime, never the
//! reverse. Waiting for a queue whose task is gone (runtime shut down) gives up.

use parking_lot::{Condvar, Mutex};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

/// The environment variable that sets [`DEFAULT_MIN_RECIPIENTS`] for servers created after it
/// is set.
pub const MIN_RECIPIENTS_VAR: &str = "ROOMCAST_HAND_OFF_MIN_RECIPIENTS";

/// Broadcasts to fewer sockets than this run on the calling thread. Up to a few thousand
/// recipients the sessions' state stays in the CPU caches and the walk is cheap where it
/// runs: side by side, handing off the fan-out to 1k clients made it 12 % slower from Node,
/// and the fan-out to 10k 30 % faster.
pub const DEFAULT_MIN_RECIPIENTS: usize = 2048;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// How far the task has got, shared by the queue and its task.
struct Progress {
    done: AtomicU64,
    lock: Mutex<()>,
    finished: Condvar,
}

/// One server's queue of handed-off broadcasts and the task that runs them.
pub(crate) struct HandOff {
    runtime: Handle,
    /// The task's queue, made at the first hand-off (most servers never make one); `None`
    /// when the runtime cannot run it.
    tx: OnceLock<Option<mpsc::UnboundedSender<(u64, Job)>>>,
    /// Broadcasts to at least this many sockets (an upper bound counted without walking
    /// them) are handed off.
    pub(crate) min_recipients: usize,
    submitted: AtomicU64,
    progress: Arc<Progress>,
}

thread_local! {
    /// The queue this thread last handed a broadcast to, and that broadcast's number.
    static PENDING: RefCell<Option<(Arc<HandOff>, u64)>> = const { RefCell::new(None) };
}

impl HandOff {
    /// A queue whose task runs on `runtime`; a runtime that only runs while someone drives it
    /// (current-thread) gets none, and every broadcast stays inline.
    pub(crate) fn new(runtime: &Handle) -> Arc<HandOff> {
        Arc::new(HandOff {
            runtime: runtime.clone(),
            tx: OnceLock::new(),
            min_recipients: min_recipients_from_env(),
            submitted: AtomicU64::new(0),
            progress: Arc::new(Progress {
                done: AtomicU64::new(0),
                lock: Mutex::new(()),
                finished: Condvar::new(),
            }),
        })
    }

    fn sender(&self) -> Option<&mpsc::UnboundedSender<(u64, Job)>> {
        self.tx
            .get_or_init(|| {
                if !crate::runtime::runs_by_itself(&self.runtime) {
                    return None;
                }
                let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Job)>();
                let progress = self.progress.clone();
                self.runtime.spawn(async move {
                    while let Some((seq, job)) = rx.recv().await {
                        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                            tracing::error!("a broadcast panicked");
                        }
                        progress.done.store(seq, Ordering::Release);
                        // Taking the lock orders this store before a waiter's check-then-wait.
                        drop(progress.lock.lock());
                        progress.finished.notify_all();
                    }
                });
                Some(tx)
            })
            .as_ref()
    }

    /// Runs `job` on the queue's task, after the broadcasts handed off before it; runs it
    /// here when there is no task. Call only from outside the runtime.
    pub(crate) fn run(self: &Arc<Self>, job: impl FnOnce() + Send + 'static) {
        let Some(tx) = self.sender() else {
            return job();
        };
        // A thread keeps one queue pending at a time: another server's queue would not be
        // ordered with this one.
        let other_pending = PENDING.with(|p| {
            p.borrow()
                .as_ref()
                .is_some_and(|(q, _)| !Arc::ptr_eq(q, self))
        });
        if other_pending {
            barrier();
        }
        let seq = self.submitted.fetch_add(1, Ordering::Relaxed) + 1;
        match tx.send((seq, Box::new(job))) {
            Ok(()) => PENDING.with(|p| *p.borrow_mut() = Some((self.clone(), seq))),
            // The task is gone (the runtime is shutting down): nothing else will run it.
            Err(mpsc::error::SendError((_, job))) => {
                barrier();
                job()
            }
        }
    }

    /// Resolves once every broadcast handed off so far, from any thread, has run (the queue
    /// is in order, so a marker job's turn proves it).
    pub(crate) async fn flush(&self) {
        let Some(Some(tx)) = self.tx.get() else {
            return;
        };
        let (done, ran) = tokio::sync::oneshot::channel::<()>();
        let seq = self.submitted.fetch_add(1, Ordering::Relaxed) + 1;
        if tx
            .send((
                seq,
                Box::new(move || {
                    let _ = done.send(());
                }),
            ))
            .is_ok()
        {
            let _ = ran.await;
        }
    }

    fn wait_for(&self, seq: u64) {
        let progress = &self.progress;
        if progress.done.load(Ordering::Acquire) >= seq {
            return;
        }
        let mut guard = progress.lock.lock();
        while progress.done.load(Ordering::Acquire) < seq {
            if self
                .tx
                .get()
                .and_then(Option::as_ref)
                .is_none_or(|tx| tx.is_closed())
            {
                tracing::warn!("broadcasts were dropped: the runtime shut down before they ran");
                return;
            }
            progress
                .finished
                .wait_for(&mut guard, Duration::from_millis(100));
        }
    }
}

fn min_recipients_from_env() -> usize {
    let Ok(value) = std::env::var(MIN_RECIPIENTS_VAR) else {
        return DEFAULT_MIN_RECIPIENTS;
    };
    value.trim().parse().unwrap_or_else(|_| {
        tracing::warn!(
            "{MIN_RECIPIENTS_VAR}={value:?} is not a number; using {DEFAULT_MIN_RECIPIENTS}"
        );
        DEFAULT_MIN_RECIPIENTS
    })
}

/// Waits until every broadcast this thread handed off has run. Cheap when none is pending
/// (one thread-local read), so every entry point that queues frames or changes rooms calls it
/// before taking any lock.
pub(crate) fn barrier() {
    if let Some((queue, seq)) = PENDING.with(|p| p.borrow_mut().take()) {
        queue.wait_for(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn multi_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
    }

    #[test]
    fn jobs_run_in_order_off_the_thread_and_the_barrier_waits_for_them() {
        let rt = multi_thread();
        let queue = HandOff::new(rt.handle());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let caller = std::thread::current().id();
        for i in 0..100 {
            let seen = seen.clone();
            queue.run(move || {
                assert_ne!(std::thread::current().id(), caller);
                std::thread::sleep(Duration::from_micros(50));
                seen.lock().push(i);
            });
        }
        barrier();
        assert_eq!(*seen.lock(), (0..100).collect::<Vec<_>>());
        // Nothing pending now: the barrier returns at once.
        barrier();
    }

    #[test]
    fn flush_waits_for_every_job_handed_off_so_far() {
        let rt = multi_thread();
        let queue = HandOff::new(rt.handle());
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..20 {
            let r = ran.clone();
            queue.run(move || {
                std::thread::sleep(Duration::from_micros(200));
                r.fetch_add(1, Ordering::SeqCst);
            });
        }
        let q = queue.clone();
        rt.block_on(async move { q.flush().await });
        assert_eq!(ran.load(Ordering::SeqCst), 20);
        barrier();
    }

    #[test]
    fn a_current_thread_runtime_runs_jobs_inline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let queue = HandOff::new(rt.handle());
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        queue.run(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_job_does_not_stop_the_queue() {
        let rt = multi_thread();
        let queue = HandOff::new(rt.handle());
        let ran = Arc::new(AtomicUsize::new(0));
        queue.run(|| panic!("boom"));
        let r = ran.clone();
        queue.run(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        barrier();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn after_shutdown_jobs_run_inline_and_the_barrier_does_not_hang() {
        let rt = multi_thread();
        let queue = HandOff::new(rt.handle());
        rt.shutdown_timeout(Duration::from_secs(1));
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        queue.run(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        barrier();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
