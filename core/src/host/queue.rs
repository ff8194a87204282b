//! The [`NamespaceHandler`] of the language bindings: every call becomes a [`HostEvent`] on
//! an [`EventQueue`], which wakes the host once per batch; the host answers through the
//! [`Reply`] carried by the events that need one.

use super::{
    ConnEvent, ConnectError, NamespaceHandler, NamespaceMatcher, Pending, ServerSideEvent,
};
use crate::host_wake::HostWaker;
use crate::namespace::Namespace;
use crate::socket::{DisconnectReason, IncomingEvent, SocketRef};
use parking_lot::Mutex;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The host's answer to a question the core asked. Dropping it without answering counts as
/// the default answer given at creation (a refusal for middlewares, "done" otherwise), so an
/// exception in host code cannot leave a connection hanging.
pub struct Reply<T: Send + 'static> {
    tx: Option<oneshot::Sender<T>>,
}

impl<T: Send + 'static> Reply<T> {
    fn new() -> (Reply<T>, oneshot::Receiver<T>) {
        let (tx, rx) = oneshot::channel();
        (Reply { tx: Some(tx) }, rx)
    }

    /// Answers; later answers are ignored.
    pub fn send(&mut self, value: T) {
        // The core acts on the answer at once: broadcasts the host made before it go first.
        crate::hand_off::barrier();
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(value);
        }
    }

    pub fn is_answered(&self) -> bool {
        self.tx.is_none()
    }
}

impl<T: Send + 'static> std::fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reply(answered: {})", self.is_answered())
    }
}

/// Everything the core tells a language host, in order.
#[derive(Debug)]
pub enum HostEvent {
    /// Run the middlewares of the host namespace `handler` for `socket`; answer on `reply`.
    Authorize {
        handler: u64,
        socket: SocketRef,
        reply: Reply<Result<(), ConnectError>>,
    },
    /// Run the connection handlers, calling `socket.announce()` right before them; answer
    /// `reply` when they have finished (async included).
    Connection {
        handler: u64,
        socket: SocketRef,
        reply: Reply<()>,
    },
    /// An event for the socket's handlers.
    Event {
        handler: u64,
        socket: SocketRef,
        event: IncomingEvent,
    },
    /// The socket is leaving (rooms still readable); answer when the handlers are done.
    Disconnecting {
        handler: u64,
        socket: SocketRef,
        reason: DisconnectReason,
        reply: Reply<()>,
    },
    /// The socket has left.
    Disconnect {
        handler: u64,
        socket: SocketRef,
        reason: DisconnectReason,
    },
    /// Does dynamic namespace `matcher` accept `name`?
    MatchNamespace {
        matcher: u64,
        name: String,
        auth: String,
        reply: Reply<bool>,
    },
    /// An event is being sent to a socket that asked to see its outgoing events.
    Outgoing {
        handler: u64,
        socket: SocketRef,
        event: String,
        args: crate::Payload,
    },
    /// Something happened to the connection of a socket that asked to hear it.
    Conn {
        handler: u64,
        socket: SocketRef,
        event: ConnEvent,
    },
    /// A namespace was created (static or a dynamic child).
    NewNamespace { name: String },
    /// The server dropped this dynamic child (see [`crate::Server::on_namespace_removed`]).
    NamespaceRemoved { nsp: Arc<Namespace> },
    /// An event from another server of the cluster.
    ServerSideEmit {
        handler: u64,
        nsp: String,
        event: ServerSideEvent,
    },
    /// An asynchronous operation the host started with a token has finished.
    Completed { token: u64, completion: Completion },
}

/// The result of an operation started through [`EventQueue`] helpers.
#[derive(Debug)]
pub enum Completion {
    /// A client's acknowledgement of `socket.emit_with_ack`.
    Ack(Result<crate::Payload, crate::AckError>),
    /// Every acknowledgement of a broadcast with acks (or the partial list on timeout).
    BroadcastAck(Result<Vec<crate::Payload>, crate::BroadcastAckError>),
    /// The sockets of `fetch_sockets`.
    Sockets(Result<Vec<crate::RemoteSocket>, crate::AdapterError>),
    /// The answers of the other servers to `serverSideEmit` with an ack.
    ServerSideAcks(Result<Vec<crate::Payload>, crate::AdapterError>),
}

/// A multi-producer queue of host events that wakes its consumer once per batch.
pub struct EventQueue {
    items: Mutex<Vec<HostEvent>>,
    waker: Arc<HostWaker>,
    /// Bytes of the client events in `items` (bounded by `max_host_backlog`).
    event_bytes: std::sync::atomic::AtomicUsize,
}

impl EventQueue {
    /// `wake` is called when the queue goes from empty to non-empty; the host then calls
    /// [`EventQueue::drain`] on its own thread.
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Arc<EventQueue> {
        Arc::new(EventQueue {
            items: Mutex::new(Vec::new()),
            waker: HostWaker::new(wake),
            event_bytes: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    pub fn push(&self, event: HostEvent) {
        let was_empty = {
            let mut items = self.items.lock();
            let was_empty = items.is_empty();
            items.push(event);
            was_empty
        };
        if was_empty {
            self.wake_host();
        }
    }

    /// Wakes the host: from a runtime worker, once its round of work is done (see
    /// [`crate::host_wake`]), so the events of every connection found readable together reach
    /// the host as one batch.
    fn wake_host(&self) {
        self.waker.wake();
    }

    /// Takes every queued event, oldest first.
    pub fn drain(&self) -> Vec<HostEvent> {
        let events = std::mem::take(&mut *self.items.lock());
        let mut total = 0;
        for e in &events {
            if let HostEvent::Event { socket, event, .. } = e {
                let n = event.byte_len();
                socket.host_bytes.fetch_sub(n, Ordering::Relaxed);
                total += n;
            }
        }
        if total > 0 {
            self.event_bytes.fetch_sub(total, Ordering::Relaxed);
        }
        events
    }

    /// Queues a client event unless the socket's or the server's backlog for the host is
    /// full; then the client's connection is closed instead ("host backlog full").
    fn push_event(&self, handler: u64, socket: &SocketRef, event: IncomingEvent) {
        let n = event.byte_len();
        let (per_socket, per_server) = socket.namespace().host_backlog_limits();
        let socket_total = socket.host_bytes.fetch_add(n, Ordering::Relaxed) + n;
        let server_total = self.event_bytes.fetch_add(n, Ordering::Relaxed) + n;
        if socket_total > per_socket || server_total > per_server {
            socket.host_bytes.fetch_sub(n, Ordering::Relaxed);
            self.event_bytes.fetch_sub(n, Ordering::Relaxed);
            socket.close_for_host_backlog(socket_total.max(server_total));
            return;
        }
        self.push(HostEvent::Event {
            handler,
            socket: socket.clone(),
            event,
        });
    }

    pub fn len(&self) -> usize {
        self.items.lock().len()
    }

    /// Emits with an ack; the answer arrives as [`HostEvent::Completed`] with `token`, in
    /// order with the socket's events.
    pub fn emit_with_ack(
        self: &Arc<Self>,
        socket: &SocketRef,
        event: &str,
        args: crate::Payload,
        timeout: Option<std::time::Duration>,
        flags: crate::socket::SendFlags,
        token: u64,
    ) -> Result<(), crate::EmitError> {
        let queue = self.clone();
        socket.emit_with_ack_callback_flags(event, args, timeout, flags, move |result| {
            queue.push(HostEvent::Completed {
                token,
                completion: Completion::Ack(result),
            });
        })
    }

    /// Broadcasts with acks; the answers arrive as [`HostEvent::Completed`] with `token`.
    pub fn broadcast_with_ack(
        self: &Arc<Self>,
        operator: &crate::BroadcastOperator,
        event: &str,
        args: crate::Payload,
        token: u64,
    ) -> Result<(), crate::EmitError> {
        let fut = operator.emit_with_ack(event, args)?;
        let queue = self.clone();
        operator.namespace().runtime().spawn(async move {
            let result = fut.await;
            queue.push(HostEvent::Completed {
                token,
                completion: Completion::BroadcastAck(result),
            });
        });
        Ok(())
    }

    /// `serverSideEmit` with an acknowledgement; the answers arrive as
    /// [`HostEvent::Completed`] with `token`.
    pub fn server_side_emit_with_ack(
        self: &Arc<Self>,
        nsp: &Arc<Namespace>,
        event: &str,
        args: crate::Payload,
        token: u64,
    ) -> Result<(), crate::EmitError> {
        let fut = nsp.server_side_emit_with_ack(event, args)?;
        let queue = self.clone();
        nsp.runtime().spawn(async move {
            let result = fut.await;
            queue.push(HostEvent::Completed {
                token,
                completion: Completion::ServerSideAcks(result),
            });
        });
        Ok(())
    }

    /// Fetches sockets; the list arrives as [`HostEvent::Completed`] with `token`.
    pub fn fetch_sockets(self: &Arc<Self>, operator: &crate::BroadcastOperator, token: u64) {
        let queue = self.clone();
        let operator = operator.clone();
        let runtime = operator.namespace().runtime().clone();
        runtime.spawn(async move {
            let result = operator.fetch_sockets().await;
            queue.push(HostEvent::Completed {
                token,
                completion: Completion::Sockets(result),
            });
        });
    }

    pub fn is_empty(&self) -> bool {
        self.items.lock().is_empty()
    }
}

/// A [`NamespaceHandler`] that forwards everything to a host through an [`EventQueue`].
/// `id` names the host-side namespace object (dynamic children share their parent's).
pub struct QueueHandler {
    pub id: u64,
    pub queue: Arc<EventQueue>,
    /// Whether the host namespace has middlewares; when not, no round trip is made.
    pub has_middlewares: std::sync::atomic::AtomicBool,
}

impl QueueHandler {
    pub fn new(id: u64, queue: Arc<EventQueue>) -> Arc<QueueHandler> {
        Arc::new(QueueHandler {
            id,
            queue,
            has_middlewares: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Call when the host registers its first middleware.
    pub fn set_has_middlewares(&self, yes: bool) {
        self.has_middlewares
            .store(yes, std::sync::atomic::Ordering::Release);
    }
}

impl NamespaceHandler for QueueHandler {
    fn authorize(&self, socket: &SocketRef) -> Pending<Result<(), ConnectError>> {
        if !self
            .has_middlewares
            .load(std::sync::atomic::Ordering::Acquire)
            && !socket.namespace().host_may_have_middlewares()
        {
            return Pending::Ready(Ok(()));
        }
        let (reply, rx) = Reply::new();
        self.queue.push(HostEvent::Authorize {
            handler: self.id,
            socket: socket.clone(),
            reply,
        });
        Pending::Later(Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(ConnectError::new("middleware failed without an answer")))
        }))
    }

    fn connected(&self, socket: &SocketRef) -> Pending<()> {
        let (reply, rx) = Reply::new();
        self.queue.push(HostEvent::Connection {
            handler: self.id,
            socket: socket.clone(),
            reply,
        });
        Pending::Later(Box::pin(async move {
            let _ = rx.await;
        }))
    }

    fn event(&self, socket: &SocketRef, event: IncomingEvent) {
        self.queue.push_event(self.id, socket, event);
    }

    fn disconnecting(&self, socket: &SocketRef, reason: DisconnectReason) -> Pending<()> {
        let (reply, rx) = Reply::new();
        self.queue.push(HostEvent::Disconnecting {
            handler: self.id,
            socket: socket.clone(),
            reason,
            reply,
        });
        Pending::Later(Box::pin(async move {
            let _ = rx.await;
        }))
    }

    fn disconnected(&self, socket: &SocketRef, reason: DisconnectReason) {
        self.queue.push(HostEvent::Disconnect {
            handler: self.id,
            socket: socket.clone(),
            reason,
        });
    }

    fn server_side_event(&self, nsp: &Arc<Namespace>, event: ServerSideEvent) {
        self.queue.push(HostEvent::ServerSideEmit {
            handler: self.id,
            nsp: nsp.name().to_string(),
            event,
        });
    }

    fn conn_event(&self, socket: &SocketRef, event: ConnEvent) {
        self.queue.push(HostEvent::Conn {
            handler: self.id,
            socket: socket.clone(),
            event,
        });
    }

    fn outgoing(&self, socket: &SocketRef, event: &str, args: &crate::Payload) {
        self.queue.push(HostEvent::Outgoing {
            handler: self.id,
            socket: socket.clone(),
            event: event.to_string(),
            args: args.clone(),
        });
    }
}

/// A [`NamespaceMatcher`] answered by the host through an [`EventQueue`].
pub struct QueueMatcher {
    pub id: u64,
    pub queue: Arc<EventQueue>,
}

impl NamespaceMatcher for QueueMatcher {
    fn matches(&self, name: &str, auth: &str) -> Pending<bool> {
        let (reply, rx) = Reply::new();
        self.queue.push(HostEvent::MatchNamespace {
            matcher: self.id,
            name: name.to_string(),
            auth: auth.to_string(),
            reply,
        });
        Pending::Later(Box::pin(async move { rx.await.unwrap_or(false) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn wakes_once_per_batch() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let q = EventQueue::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        });
        for i in 0..3 {
            q.push(HostEvent::NewNamespace {
                name: format!("/{i}"),
            });
        }
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert_eq!(q.drain().len(), 3);
        q.push(HostEvent::NewNamespace { name: "/x".into() });
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn connect_error_json() {
        assert_eq!(ConnectError::new("no").to_json(), r#"{"message":"no"}"#);
        assert_eq!(
            ConnectError::new("no")
                .with_data(r#"{"reason":"x"}"#)
                .to_json(),
            r#"{"message":"no","data":{"reason":"x"}}"#
        );
    }

    #[tokio::test]
    async fn dropped_reply_gives_the_default() {
        let q = EventQueue::new(|| {});
        let m = QueueMatcher {
            id: 1,
            queue: q.clone(),
        };
        let Pending::Later(fut) = m.matches("/x", "{}") else {
            panic!("expected a pending answer")
        };
        drop(q.drain());
        assert!(!fut.await);
    }
}
