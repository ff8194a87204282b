//! `io.engine`'s events (`connection`, `connection_error`, `initial_headers`, `headers`):
//! the core's [`EngineObserver`], installed on the first listener, reporting each event
//! JavaScript listens to through the mailbox.

use crate::mailbox::{Delivery, Mailbox};
use parking_lot::Mutex;
use roomcast::engineio::{
    CloseReason, ContextValue, EngineObserver, EngineSession, ExtraHeaders, Pending, RefusedRequest,
};
use roomcast::handshake::RequestInfo;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

/// What an `engine*` record reports.
pub enum EngineEvent {
    /// A session opened; its `close` follows when it ends.
    Connection {
        sid: String,
        transport: &'static str,
        protocol: u8,
        request: RequestInfo,
    },
    Close {
        sid: String,
        reason: &'static str,
    },
    Error {
        code: u8,
        message: String,
        /// engine.io's `context`, as JSON text.
        context: String,
        method: String,
        request: RequestInfo,
    },
    /// Listeners may add headers to a response; answer with `answerEngineHeaders`.
    Headers {
        token: u64,
        initial: bool,
        method: String,
        request: RequestInfo,
    },
}

/// Which events JavaScript listens to, and the responses waiting for its headers.
#[derive(Default)]
pub struct EngineEvents {
    connection: AtomicBool,
    connection_error: AtomicBool,
    initial_headers: AtomicBool,
    headers: AtomicBool,
    waiting: Mutex<HashMap<u64, oneshot::Sender<ExtraHeaders>>>,
    next_token: AtomicU64,
}

impl EngineEvents {
    /// Starts reporting `event`; false for a name that is not one of engine.io's.
    pub fn enable(&self, event: &str) -> bool {
        let flag = match event {
            "connection" => &self.connection,
            "connection_error" => &self.connection_error,
            "initial_headers" => &self.initial_headers,
            "headers" => &self.headers,
            _ => return false,
        };
        flag.store(true, Ordering::Release);
        true
    }

    pub fn answer_headers(&self, token: u64, headers: ExtraHeaders) {
        if let Some(tx) = self.waiting.lock().remove(&token) {
            let _ = tx.send(headers);
        }
    }
}

/// The observer the core calls; holds the mailbox weakly so a dropped server is not kept.
pub struct NodeObserver {
    pub events: Arc<EngineEvents>,
    pub mailbox: std::sync::Weak<Mailbox>,
}

impl NodeObserver {
    fn push(&self, event: EngineEvent) {
        if let Some(mailbox) = self.mailbox.upgrade() {
            mailbox.push(Delivery::Engine(event));
        }
    }
}

impl EngineObserver for NodeObserver {
    fn connection(&self, session: &Arc<EngineSession>) {
        if self.events.connection.load(Ordering::Acquire) {
            self.push(EngineEvent::Connection {
                sid: session.sid.as_str().to_string(),
                transport: session.transport().name(),
                protocol: session.protocol,
                request: session.request.clone(),
            });
        }
    }

    fn closed(&self, session: &Arc<EngineSession>, reason: CloseReason) {
        if self.events.connection.load(Ordering::Acquire) {
            self.push(EngineEvent::Close {
                sid: session.sid.as_str().to_string(),
                reason: reason.as_str(),
            });
        }
    }

    fn connection_error(&self, refused: RefusedRequest) {
        if self.events.connection_error.load(Ordering::Acquire) {
            self.push(EngineEvent::Error {
                code: refused.error.code(),
                message: refused.error.to_string(),
                context: ContextValue::json_object(&refused.context),
                method: refused.method,
                request: refused.request,
            });
        }
    }

    fn wants_headers(&self, initial: bool) -> bool {
        self.events.headers.load(Ordering::Acquire)
            || (initial && self.events.initial_headers.load(Ordering::Acquire))
    }

    fn headers(&self, request: RequestInfo, method: &str, initial: bool) -> Pending<ExtraHeaders> {
        let token = self.events.next_token.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        self.events.waiting.lock().insert(token, tx);
        self.push(EngineEvent::Headers {
            token,
            initial,
            method: method.to_string(),
            request,
        });
        // No answer (the server was dropped): the response goes out without extra headers.
        Pending::Later(Box::pin(async move { rx.await.unwrap_or_default() }))
    }
}
