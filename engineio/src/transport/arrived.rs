//! A request is handled from the moment hyper hands it over.
//!
//! hyper calls the service when it has read a request head, and polls the returned future
//! later, after it has looked at the connection again: when the client sent a poll and gave
//! up at once (the request and its FIN in one read, on a busy server) hyper drops the future
//! without ever polling it, and the request would leave no trace — a cancelled poll would not
//! end its session as engine.io's does ("poll connection closed prematurely"). So the handler
//! runs up to its first wait right away: a poll registers with its session (and with its
//! connection, see [`super::watched_io`]) before hyper reads anything else.

use futures_util::task::noop_waker_ref;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) struct Arrived<F: Future> {
    handler: Pin<Box<F>>,
    /// The answer of a handler that finished in its first run.
    done: Option<F::Output>,
}

impl<F: Future> Arrived<F> {
    /// Runs `handler` up to its first wait. Called on the connection's task, within the
    /// runtime; nothing waits on the no-op waker, as hyper polls the future again, and tokio's
    /// primitives keep a wake-up that comes in between.
    pub(crate) fn new(handler: F) -> Arrived<F> {
        let mut handler = Box::pin(handler);
        let mut cx = Context::from_waker(noop_waker_ref());
        let done = match handler.as_mut().poll(&mut cx) {
            Poll::Ready(answer) => Some(answer),
            Poll::Pending => None,
        };
        Arrived { handler, done }
    }
}

impl<F: Future> Future for Arrived<F>
where
    F::Output: Unpin,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if let Some(answer) = this.done.take() {
            return Poll::Ready(answer);
        }
        this.handler.as_mut().poll(cx)
    }
}
