//! Batches the writer wake-ups of host code running outside the runtime.
//!
//! Queuing a frame wakes the session's writer task. From a runtime thread that is cheap: the
//! task goes on the same worker's run queue. From a host's thread (the Python or Node.js
//! thread running handlers), every wake-up is a cross-thread hand-off that may unpark a
//! worker, which then competes with the host thread for the CPU: a broadcast to ten thousand
//! sockets turns into thousands of context switches, and each writer, woken early, sends its
//! frames one syscall at a time.
//!
//! While a batch is open on a thread, frames are still queued at once, in call order (so a
//! host's unicast and broadcast sends keep their order), but the wake-ups are collected and
//! handed to the runtime as one task when the outermost batch closes. The core opens one
//! around each broadcast made outside the runtime: the frames leave when that `emit`
//! returns, never later, so a handler that blocks after an `emit` has still sent it.

use super::EngineSession;
use std::cell::RefCell;
use std::sync::Arc;
use tokio::runtime::Handle;

struct Batch {
    depth: usize,
    runtime: Handle,
    sessions: Vec<Arc<EngineSession>>,
}

thread_local! {
    static BATCH: RefCell<Option<Batch>> = const { RefCell::new(None) };
}

/// Opens a batch on this thread; batches nest. Pair every call with [`close_batch`], which
/// hands the wake-ups to `runtime` when the outermost one closes.
pub fn open_batch(runtime: &Handle) {
    BATCH.with(|b| {
        let mut b = b.borrow_mut();
        match b.as_mut() {
            Some(batch) => batch.depth += 1,
            None => {
                *b = Some(Batch {
                    depth: 1,
                    runtime: runtime.clone(),
                    sessions: Vec::new(),
                })
            }
        }
    });
}

/// Closes the innermost batch on this thread (nothing happens when none is open).
pub fn close_batch() {
    let finished = BATCH.with(|b| {
        let mut b = b.borrow_mut();
        let batch = b.as_mut()?;
        batch.depth -= 1;
        if batch.depth == 0 {
            b.take()
        } else {
            None
        }
    });
    if let Some(batch) = finished {
        flush(batch);
    }
}

/// Runs `f` inside a batch (closed when `f` returns or unwinds).
pub fn with_batched_wakes<R>(runtime: &Handle, f: impl FnOnce() -> R) -> R {
    struct Close;
    impl Drop for Close {
        fn drop(&mut self) {
            close_batch();
        }
    }
    open_batch(runtime);
    let _close = Close;
    f()
}

/// Defers `session`'s wake-up when a batch is open on this thread; false when none is.
pub(super) fn defer(session: &Arc<EngineSession>) -> bool {
    BATCH.with(|b| match b.borrow_mut().as_mut() {
        Some(batch) => {
            batch.sessions.push(session.clone());
            true
        }
        None => false,
    })
}

fn flush(batch: Batch) {
    let Batch {
        runtime, sessions, ..
    } = batch;
    match sessions.len() {
        0 => {}
        // One wake-up costs the same as the task that would carry it. A host that took the
        // frames itself before the batch closed (an ASGI connection sending the acks of the
        // handlers it just ran) leaves nothing for the writer: waking it would only cost a
        // thread switch. Broadcasts (many sessions) skip the check: their frames wait for
        // the writers.
        1 => {
            if sessions[0].has_queued() {
                sessions[0].wake_writer();
            }
        }
        _ => {
            runtime.spawn(async move {
                for s in sessions {
                    s.wake_writer();
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::RequestInfo;
    use crate::{EngineConfig, Frame, TransportKind};
    use std::future::Future;
    use std::time::Duration;

    fn deferred() -> usize {
        BATCH.with(|b| b.borrow().as_ref().map_or(0, |b| b.sessions.len()))
    }

    #[test]
    fn writers_wake_when_the_batch_closes() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let session = {
            let _entered = rt.enter();
            let request = RequestInfo {
                query: vec![("EIO".into(), "4".into())],
                ..Default::default()
            };
            EngineSession::new(
                Arc::new(EngineConfig::default()),
                TransportKind::WebSocket,
                request,
            )
        };
        // No writer yet: the second frame rides on the first one's wake-up.
        open_batch(rt.handle());
        session.send(Frame::text("a")).expect("open session");
        session.send(Frame::text("b")).expect("open session");
        assert_eq!(deferred(), 1);
        close_batch();
        assert_eq!(deferred(), 0);

        let (tx, rx) = std::sync::mpsc::channel();
        let writer = session.clone();
        rt.spawn(async move {
            let (mut frames, mut uncompressed) = (Vec::new(), Vec::new());
            while writer
                .next_frames(&mut frames, &mut uncompressed)
                .await
                .is_some()
            {
                for f in frames.drain(..) {
                    let _ = tx.send(f);
                }
            }
        });
        let wait = |n: usize| -> Vec<Frame> {
            (0..n)
                .map(|_| rx.recv_timeout(Duration::from_secs(5)).expect("frame"))
                .collect()
        };
        assert_eq!(wait(2), vec![Frame::text("a"), Frame::text("b")]);
        // The writer is parked (or about to be): a batched send reaches it once closed.
        open_batch(rt.handle());
        session.send(Frame::text("c")).expect("open session");
        close_batch();
        assert_eq!(wait(1), vec![Frame::text("c")]);
        session.close(crate::CloseReason::ServerShuttingDown);
    }

    #[test]
    fn a_writer_whose_frames_were_taken_in_the_batch_is_not_woken() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::task::{Context, Wake, Waker};

        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _entered = rt.enter();
        let request = RequestInfo {
            query: vec![("EIO".into(), "4".into())],
            ..Default::default()
        };
        let session = EngineSession::new(
            Arc::new(EngineConfig::default()),
            TransportKind::WebSocket,
            request,
        );
        let wakes = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        // A writer parked on the session, as a host's pump waits between frames.
        let ready = session.frames_ready();
        let mut ready = std::pin::pin!(ready);
        assert!(ready.as_mut().poll(&mut cx).is_pending());

        // The host's own thread queues an answer and takes it before the batch closes.
        open_batch(rt.handle());
        session.send(Frame::text("a")).expect("open session");
        let (mut frames, mut uncompressed) = (Vec::new(), Vec::new());
        assert!(session
            .take_frames(&mut frames, &mut uncompressed)
            .is_some());
        close_batch();
        assert_eq!(frames, vec![Frame::text("a")]);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);

        // A frame left queued when the batch closes still wakes it.
        open_batch(rt.handle());
        session.send(Frame::text("b")).expect("open session");
        close_batch();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert!(ready.as_mut().poll(&mut cx).is_ready());
        session.close(crate::CloseReason::ServerShuttingDown);
    }

    #[test]
    fn batches_nest_and_close_once() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let depth = || BATCH.with(|b| b.borrow().as_ref().map(|b| b.depth));
        open_batch(rt.handle());
        with_batched_wakes(rt.handle(), || assert_eq!(depth(), Some(2)));
        assert_eq!(depth(), Some(1));
        close_batch();
        assert_eq!(depth(), None);
        // An unmatched close is harmless.
        close_batch();
        assert_eq!(depth(), None);
    }
}
