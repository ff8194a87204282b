//! The one road from the I/O threads to JavaScript.
//!
//! Two producers feed a server's JavaScript side: the core's [`roomcast::EventQueue`] (socket
//! lifecycle, events, ack completions) and this binding's own [`Mailbox`] (HTTP responses,
//! WebSocket bytes, close completion). Both wake the same [`Waker`], which calls the
//! threadsafe function at most once until JavaScript drains — so a burst of thousands of
//! events costs one hop to the JavaScript thread, and a tokio worker never blocks on it.

use bytes::Bytes;
use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Calls JavaScript's drain callback; created unreferenced (weak) so an idle server does not
/// keep the process alive.
type DrainCallback = ThreadsafeFunction<(), (), (), Status, false, true>;

/// Something for JavaScript that is not a core [`roomcast::HostEvent`].
pub enum Delivery {
    /// The answer to a request handed over by `handleHttp`; `None`: not a Socket.IO request.
    Http {
        token: u64,
        response: Option<http::Response<Bytes>>,
    },
    /// Bytes to write to the Node socket of a WebSocket.
    WsData { token: u64, data: Bytes },
    /// The core is done with a WebSocket: end the Node socket.
    WsEnd { token: u64 },
    /// The core caught up with a paused WebSocket's input: resume reading it.
    WsResume { token: u64 },
    /// `close()` has finished.
    Closed { token: u64 },
    /// The `allowRequest` hook must vet a handshake; answer with `answerAllowRequest`.
    AllowRequest {
        token: u64,
        request: roomcast::handshake::RequestInfo,
    },
}

pub struct Waker {
    callback: DrainCallback,
    /// A drain is scheduled and has not started yet.
    scheduled: AtomicBool,
    keep_alive: AtomicBool,
}

impl Waker {
    pub fn new(callback: Function<'_, (), ()>) -> napi::Result<Arc<Waker>> {
        let callback = callback
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        Ok(Arc::new(Waker {
            callback,
            scheduled: AtomicBool::new(false),
            keep_alive: AtomicBool::new(false),
        }))
    }

    /// Schedules a drain unless one is already pending. Never blocks.
    pub fn wake(&self) {
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            let status = self
                .callback
                .call((), ThreadsafeFunctionCallMode::NonBlocking);
            if status != Status::Ok {
                // The environment is shutting down: nobody is left to deliver to.
                tracing::debug!(?status, "drain callback refused");
            }
        }
    }

    /// Called by the drain before it takes the queues: anything pushed from now on wakes
    /// JavaScript again.
    pub fn begin_drain(&self) {
        self.scheduled.store(false, Ordering::Release);
    }

    /// Whether the pending deliveries keep the Node process alive (only while a server
    /// listens on its own port; an attached `http.Server` keeps the process alive itself).
    pub fn set_keep_alive(&self, env: &Env, on: bool) -> napi::Result<()> {
        if self.keep_alive.swap(on, Ordering::AcqRel) == on {
            return Ok(());
        }
        let raw = self.callback.raw();
        // SAFETY: called on the JavaScript thread with the environment that owns the
        // threadsafe function, which stays alive as long as `self.callback`.
        let status = unsafe {
            if on {
                napi::sys::napi_ref_threadsafe_function(env.raw(), raw)
            } else {
                napi::sys::napi_unref_threadsafe_function(env.raw(), raw)
            }
        };
        if status == napi::sys::Status::napi_ok {
            Ok(())
        } else {
            Err(napi::Error::from_reason(format!(
                "roomcast: cannot change the keep-alive state (status {status})"
            )))
        }
    }
}

/// The binding's own deliveries, drained together with the core's queue.
pub struct Mailbox {
    items: Mutex<Vec<Delivery>>,
    waker: Arc<Waker>,
}

impl Mailbox {
    pub fn new(waker: Arc<Waker>) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            items: Mutex::new(Vec::new()),
            waker,
        })
    }

    pub fn push(&self, delivery: Delivery) {
        self.items.lock().push(delivery);
        self.waker.wake();
    }

    pub fn take(&self) -> Vec<Delivery> {
        std::mem::take(&mut *self.items.lock())
    }
}
