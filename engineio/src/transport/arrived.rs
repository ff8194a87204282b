//! A request hyper has read in full is handled even when its connection ends before the
//! handler first runs.
//!
//! hyper reads a request head and, in the same pass, looks for the peer's EOF; when both came
//! in one read (a client that sends a poll and gives up at once, on a busy server) it drops
//! the handler's future before polling it, and the request leaves no trace: a cancelled poll
//! would not end its session as engine.io's does ("poll connection closed prematurely"), and a
//! later poll would be answered as if nothing had happened. Node emits such a request and then
//! its close, so here the handler runs up to its first wait and is then dropped, as any
//! handler whose connection closed.

use futures_util::task::noop_waker_ref;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) struct Arrived<F: Future> {
    handler: Pin<Box<F>>,
    polled: bool,
}

impl<F: Future> Arrived<F> {
    pub(crate) fn new(handler: F) -> Arrived<F> {
        Arrived {
            handler: Box::pin(handler),
            polled: false,
        }
    }
}

impl<F: Future> Future for Arrived<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        this.polled = true;
        this.handler.as_mut().poll(cx)
    }
}

impl<F: Future> Drop for Arrived<F> {
    fn drop(&mut self) {
        // Not while unwinding: a second panic would abort the process.
        if self.polled || std::thread::panicking() {
            return;
        }
        // Nothing will poll it again, so the waker may be a no-op.
        let mut cx = Context::from_waker(noop_waker_ref());
        let _ = self.handler.as_mut().poll(&mut cx);
    }
}
