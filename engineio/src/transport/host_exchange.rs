//! A request a host's HTTP server hands over (Node's `request` event on an attached
//! `http.Server`), started and cancelled in the order the host saw them.
//!
//! The host reads its connections on one thread, so the order in which it hands over a
//! request and reports its client gone is the order they happened. Spawning each request as
//! a task and sending the cancel through a channel would let the runtime reorder them: a
//! client that aborts a long-poll and sends the next one at once could see its next poll
//! handled before the abort, meet the aborted poll still pending and be refused as an
//! overlap, where engine.io (one thread, in order) had already ended the session. So the
//! handler runs up to its first wait on the host's thread (a poll registers there), and a
//! cancel drops it on the host's thread (a pending poll ends its session there).

use futures_util::task::noop_waker_ref;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::runtime::Handle;

type Handler<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A handed-over request still being answered: await it on the runtime; `None` once cancelled.
pub struct HostExchange<T> {
    slot: Arc<Mutex<Option<Handler<T>>>>,
}

/// Ends a [`HostExchange`] from the host's thread.
pub struct ExchangeCancel<T> {
    slot: Arc<Mutex<Option<Handler<T>>>>,
    runtime: Handle,
}

/// What starting a request gave.
pub enum Started<T> {
    /// Answered within its first run.
    Done(T),
    /// Waiting (a long-poll, a body still arriving, a host hook).
    Pending(HostExchange<T>, ExchangeCancel<T>),
}

/// Runs `handler` up to its first wait on the calling thread (within `runtime`'s context, so
/// it may use timers and spawn), so that what it registers is registered before the host hands
/// over anything else.
pub fn start<T, F>(runtime: &Handle, handler: F) -> Started<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut handler: Handler<T> = Box::pin(handler);
    let _context = runtime.enter();
    // Nothing waits on this waker: the task that takes the handler over polls it again at
    // once, and tokio's primitives keep a wake-up that came in between.
    let mut cx = Context::from_waker(noop_waker_ref());
    match handler.as_mut().poll(&mut cx) {
        Poll::Ready(answer) => Started::Done(answer),
        Poll::Pending => {
            let slot = Arc::new(Mutex::new(Some(handler)));
            Started::Pending(
                HostExchange { slot: slot.clone() },
                ExchangeCancel {
                    slot,
                    runtime: runtime.clone(),
                },
            )
        }
    }
}

impl<T> ExchangeCancel<T> {
    /// Ends the handler now, on this thread: it gets one last run, so that what the host fed
    /// it before (a request body's error) is seen, and is then dropped (a pending long-poll
    /// ends its session). Both are done before the caller hands over the next request.
    pub fn cancel(&self) {
        let _context = self.runtime.enter();
        let handler = self.slot.lock().take();
        if let Some(mut handler) = handler {
            let mut cx = Context::from_waker(noop_waker_ref());
            let _ = handler.as_mut().poll(&mut cx);
        }
    }
}

impl<T> Future for HostExchange<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self.slot.lock();
        let Some(handler) = slot.as_mut() else {
            return Poll::Ready(None);
        };
        match handler.as_mut().poll(cx) {
            Poll::Ready(answer) => {
                *slot = None;
                Poll::Ready(Some(answer))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A host's requests still being answered, by the host's token: each is started with
/// [`start`], finished on the runtime, and can be cancelled from the host's thread.
pub struct HostExchanges<T> {
    in_flight: Arc<Mutex<HashMap<u64, ExchangeCancel<T>>>>,
}

impl<T> Default for HostExchanges<T> {
    fn default() -> Self {
        HostExchanges {
            in_flight: Arc::default(),
        }
    }
}

impl<T: Send + 'static> HostExchanges<T> {
    /// Starts `handler` on the calling thread (see [`start`]); `answered` gets its answer, on
    /// this thread if it came at once, else on the runtime. A cancelled request is not
    /// answered: `answered` is dropped.
    pub fn start<F>(
        &self,
        runtime: &Handle,
        token: u64,
        handler: F,
        answered: impl FnOnce(T) + Send + 'static,
    ) where
        F: Future<Output = T> + Send + 'static,
    {
        match start(runtime, handler) {
            Started::Done(answer) => answered(answer),
            Started::Pending(exchange, cancel) => {
                // Before the task exists, so that its removal cannot come first.
                self.in_flight.lock().insert(token, cancel);
                let in_flight = self.in_flight.clone();
                runtime.spawn(async move {
                    if let Some(answer) = exchange.await {
                        in_flight.lock().remove(&token);
                        answered(answer);
                    }
                });
            }
        }
    }

    /// The host's client of request `token` went away: see [`ExchangeCancel::cancel`].
    pub fn cancel(&self, token: u64) {
        // Outside the table's lock: ending a poll ends its session, which may answer others.
        let cancel = self.in_flight.lock().remove(&token);
        if let Some(cancel) = cancel {
            cancel.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_first_run_happens_on_the_calling_thread() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let seen = runs.clone();
        let started = start(rt.handle(), async move {
            seen.fetch_add(1, Ordering::SeqCst);
            7
        });
        assert!(matches!(started, Started::Done(7)));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_cancel_drops_the_handler_before_it_returns() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = Flag(dropped.clone());
        let registered = Arc::new(AtomicBool::new(false));
        let mark = registered.clone();
        let started = start(rt.handle(), async move {
            let _guard = guard;
            mark.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await;
        });
        assert!(
            registered.load(Ordering::SeqCst),
            "ran up to its first wait"
        );
        let Started::Pending(exchange, cancel) = started else {
            panic!("a pending handler finished");
        };
        let waiting = rt.spawn(exchange);
        cancel.cancel();
        assert!(dropped.load(Ordering::SeqCst), "dropped by cancel()");
        assert_eq!(rt.block_on(waiting).unwrap(), None);
    }

    #[test]
    fn a_wake_up_between_start_and_the_task_is_kept() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let notify = Arc::new(tokio::sync::Notify::new());
        let waiter = notify.clone();
        let started = start(rt.handle(), async move {
            waiter.notified().await;
            "woken"
        });
        let Started::Pending(exchange, _cancel) = started else {
            panic!("finished before the notification");
        };
        notify.notify_waiters();
        let answer = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), exchange).await
        });
        assert_eq!(answer.expect("the wake-up was lost"), Some("woken"));
    }

    #[test]
    fn exchanges_answer_by_token_and_a_cancelled_one_never_answers() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let exchanges = HostExchanges::<u32>::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let notify = Arc::new(tokio::sync::Notify::new());
        for token in [1, 2] {
            let (tx, waiter) = (tx.clone(), notify.clone());
            let handler = async move {
                waiter.notified().await;
                token as u32
            };
            exchanges.start(rt.handle(), token, handler, move |n| {
                let _ = tx.send(n);
            });
        }
        exchanges.cancel(1);
        notify.notify_waiters();
        let answered = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("request 2 answered");
        assert_eq!(answered, 2);
        drop(tx);
        // Every sender gone (request 1's closure dropped by the cancel): nothing else comes.
        assert!(rx.recv_timeout(std::time::Duration::from_secs(5)).is_err());
    }
}
