//! When a host's thread is woken for new events: once the runtime worker that queued them
//! runs out of work, not at the first of them.
//!
//! A host thread (the Node.js or Python thread running handlers) often shares a core with a
//! runtime worker. Woken while the worker is still reading sockets, it takes the core at once
//! (a thread that slept gets the scheduler's favour), handles the few events queued so far,
//! and hands the core back: two context switches for a handful of events, which on a virtual
//! machine cost as much as the events themselves. Woken when the worker is about to park
//! instead, it finds every event of that round of I/O in one batch — the batching that
//! `SCHED_BATCH` on the host thread would give, without touching the host's scheduling.
//!
//! Workers of [`crate::runtime::host_runtime`] pay the wake-ups they owe from tokio's
//! `on_thread_park` hook ([`worker_parking`]). A worker that stays busy never parks, so every
//! owed wake-up also has a timer that pays it after [`LONGEST_HOLD`]. Threads that never
//! parked through the hook (other runtimes, blocking threads) keep the old behaviour: from a
//! task, the wake-up waits for one `yield_now` (the rest of the worker's ready tasks and one
//! I/O poll); elsewhere it happens at once.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a busy worker may hold a wake-up it owes.
pub const LONGEST_HOLD: Duration = Duration::from_millis(1);

thread_local! {
    /// This thread is a worker whose parking runs [`worker_parking`].
    static PAYS_ON_PARK: Cell<bool> = const { Cell::new(false) };
    /// Wake-ups owed by this worker, paid when it parks.
    static OWED: RefCell<Vec<Arc<HostWaker>>> = const { RefCell::new(Vec::new()) };
}

/// Wakes one host; at most one wake-up is outstanding at a time.
pub struct HostWaker {
    wake: Box<dyn Fn() + Send + Sync>,
    /// A wake-up is owed and not yet paid.
    owed: AtomicBool,
}

impl HostWaker {
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Arc<HostWaker> {
        Arc::new(HostWaker {
            wake: Box::new(wake),
            owed: AtomicBool::new(false),
        })
    }

    /// Wakes the host now, or (on a runtime thread) once this round of work is done.
    pub fn wake(self: &Arc<Self>) {
        if PAYS_ON_PARK.with(Cell::get) {
            if self.owed.swap(true, Ordering::AcqRel) {
                return; // a payment is already on its way
            }
            OWED.with(|owed| owed.borrow_mut().push(self.clone()));
            let waker = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(LONGEST_HOLD).await;
                waker.pay();
            });
        } else if tokio::task::try_id().is_some() {
            let waker = self.clone();
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                (waker.wake)();
            });
        } else {
            (self.wake)();
        }
    }

    fn pay(&self) {
        if self.owed.swap(false, Ordering::AcqRel) {
            (self.wake)();
        }
    }
}

/// The `on_thread_park` hook of host runtimes: pays the wake-ups this worker owes, and marks
/// it as a worker that does.
pub fn worker_parking() {
    PAYS_ON_PARK.with(|p| p.set(true));
    let owed = OWED.with(|owed| std::mem::take(&mut *owed.borrow_mut()));
    for waker in owed {
        waker.pay();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::Notify;

    fn counting_waker() -> (Arc<HostWaker>, Arc<AtomicUsize>, Arc<Notify>) {
        let count = Arc::new(AtomicUsize::new(0));
        let notify = Arc::new(Notify::new());
        let (c, n) = (count.clone(), notify.clone());
        let waker = HostWaker::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
            n.notify_one();
        });
        (waker, count, notify)
    }

    #[test]
    fn outside_a_runtime_the_host_is_woken_at_once() {
        let (waker, count, _) = counting_waker();
        waker.wake();
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_host_runtime_worker_wakes_once_per_round_when_it_parks() {
        let runtime = crate::runtime::host_runtime("host-wake-test").expect("runtime");
        let (waker, count, notify) = counting_waker();
        let c = count.clone();
        runtime.block_on(async move {
            let w = waker.clone();
            tokio::spawn(async move {
                // Idle long enough for this task to resume on a worker that has parked.
                tokio::time::sleep(Duration::from_millis(10)).await;
                assert!(
                    PAYS_ON_PARK.with(Cell::get),
                    "a host runtime worker pays on park"
                );
                for _ in 0..100 {
                    w.wake();
                }
                // Still this worker's round: nothing is paid yet.
                assert_eq!(c.load(Ordering::SeqCst), 0);
            })
            .await
            .expect("task");
            tokio::time::timeout(Duration::from_secs(5), notify.notified())
                .await
                .expect("the host was woken");
        });
        // One round of work, one wake-up (the timer finds it paid).
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_busy_worker_pays_by_the_timer() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (waker, count, _) = counting_waker();
        let c = count.clone();
        runtime.block_on(async move {
            tokio::spawn(async move {
                // A worker marked as paying on park, that never parks while this runs.
                PAYS_ON_PARK.with(|p| p.set(true));
                waker.wake();
                let deadline = std::time::Instant::now() + Duration::from_secs(5);
                while c.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
                    tokio::task::yield_now().await;
                }
            })
            .await
            .expect("task");
        });
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}
