//! Everything the core and the binding's own tasks hand to Python, behind one wake-up.
//!
//! The core pushes [`HostEvent`]s into its [`EventQueue`]; the binding's tasks (HTTP answers
//! for ASGI/WSGI, a host-framed WebSocket's readiness, an asynchronous close) push [`LocalEvent`]s here. Both
//! share one [`WakePair`], so the Python thread wakes once per batch of either kind.

use crate::wake::WakePair;
use bytes::Bytes;
use parking_lot::Mutex;
use roomcast::handshake::RequestInfo;
use roomcast::{EventQueue, HostEvent};
use std::sync::Arc;

/// A result of an operation the binding started for Python with a token.
pub enum LocalEvent {
    /// The answer to an HTTP request (`None`: outside the Socket.IO path).
    Http {
        token: u64,
        response: Option<http::Response<Bytes>>,
    },
    /// A background operation (closing the server) has finished.
    Done { token: u64 },
    /// Should this handshake open a session (the `allow_request` hook)?
    AllowRequest {
        request: RequestInfo,
        reply: tokio::sync::oneshot::Sender<bool>,
    },
    /// May this CONNECT payload (JSON text) open the admin UI (`instrument(auth=callable)`)?
    AdminAuth {
        auth: String,
        reply: tokio::sync::oneshot::Sender<bool>,
    },
    /// Every room of a namespace, cluster-wide (`all_rooms`), or why not.
    Rooms {
        token: u64,
        rooms: Result<Vec<String>, String>,
    },
}

pub struct Host {
    wake: Arc<WakePair>,
    pub events: Arc<EventQueue>,
    local: Mutex<Vec<LocalEvent>>,
}

impl Host {
    pub fn new() -> std::io::Result<Arc<Host>> {
        let wake = Arc::new(WakePair::new()?);
        let waker = wake.clone();
        let events = EventQueue::new(move || waker.wake());
        Ok(Arc::new(Host {
            wake,
            events,
            local: Mutex::new(Vec::new()),
        }))
    }

    pub fn wake_fd(&self) -> i32 {
        self.wake.fd()
    }

    pub fn push_local(&self, event: LocalEvent) {
        let was_empty = {
            let mut local = self.local.lock();
            let was_empty = local.is_empty();
            local.push(event);
            was_empty
        };
        if was_empty {
            self.wake.wake();
        }
    }

    /// The calling thread (the one that drains) takes what gets queued until
    /// [`Host::release_wakes`] itself: no wake-up meanwhile.
    pub fn hold_wakes(&self) {
        self.wake.hold();
    }

    /// Ends [`Host::hold_wakes`]; wakes the draining thread for what it left queued.
    pub fn release_wakes(&self) {
        self.wake
            .release(|| !self.events.is_empty() || !self.local.lock().is_empty());
    }

    /// Everything queued so far, oldest first.
    pub fn take(&self) -> (Vec<HostEvent>, Vec<LocalEvent>) {
        self.wake.clear();
        let events = self.events.drain();
        let local = std::mem::take(&mut *self.local.lock());
        (events, local)
    }
}
