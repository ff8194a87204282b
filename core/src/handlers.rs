//! The Rust-facing convenience API: closures registered on namespaces and sockets, run by a
//! [`NamespaceHandler`] implementation over the same seam the language bindings use.

use crate::host::{ConnectError, NamespaceHandler, Pending};
use crate::socket::{AckSender, DisconnectReason, IncomingEvent, Socket, SocketRef};
use crate::Payload;
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

type ServerSideFn =
    Arc<dyn Fn(&Arc<crate::Namespace>, Payload, Option<crate::host::ServerSideAck>) + Send + Sync>;
type MiddlewareFn =
    Arc<dyn Fn(SocketRef) -> BoxFuture<'static, Result<(), ConnectError>> + Send + Sync>;
type ConnectionFn = Arc<dyn Fn(SocketRef) -> Option<BoxFuture<'static, ()>> + Send + Sync>;

/// A namespace's middlewares and connection handlers.
#[derive(Default)]
pub struct Handlers {
    middlewares: RwLock<Vec<MiddlewareFn>>,
    connection: RwLock<Vec<ConnectionFn>>,
    server_side: RwLock<HashMap<String, ServerSideFn>>,
}

impl Handlers {
    pub fn on_connection(&self, f: impl Fn(SocketRef) + Send + Sync + 'static) {
        self.connection.write().push(Arc::new(move |s| {
            f(s);
            None
        }));
    }

    pub fn on_connection_async<F, Fut>(&self, f: F)
    where
        F: Fn(SocketRef) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.connection
            .write()
            .push(Arc::new(move |s| Some(Box::pin(f(s)))));
    }

    pub fn use_middleware<F, Fut>(&self, f: F)
    where
        F: Fn(SocketRef) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.middlewares
            .write()
            .push(Arc::new(move |s| Box::pin(f(s))));
    }

    pub fn on_server_side(
        &self,
        event: impl Into<String>,
        f: impl Fn(&Arc<crate::Namespace>, Payload, Option<crate::host::ServerSideAck>)
            + Send
            + Sync
            + 'static,
    ) {
        self.server_side.write().insert(event.into(), Arc::new(f));
    }
}

impl NamespaceHandler for Handlers {
    fn authorize(&self, socket: &SocketRef) -> Pending<Result<(), ConnectError>> {
        let chain: Vec<MiddlewareFn> = self.middlewares.read().clone();
        if chain.is_empty() {
            return Pending::Ready(Ok(()));
        }
        let socket = socket.clone();
        Pending::Later(Box::pin(async move {
            for mw in chain {
                // A panic (when called or while awaited) refuses the connection like an
                // error would: the CONNECT is answered and nothing of it is left behind.
                let run = std::panic::AssertUnwindSafe(|| mw(socket.clone()));
                let outcome = match std::panic::catch_unwind(run) {
                    Ok(fut) => std::panic::AssertUnwindSafe(fut).catch_unwind().await,
                    Err(panic) => Err(panic),
                };
                match outcome {
                    Ok(result) => result?,
                    Err(_) => {
                        tracing::error!(socket = %socket.id(), "middleware panicked");
                        return Err(ConnectError::new("server error"));
                    }
                }
            }
            Ok(())
        }))
    }

    fn connected(&self, socket: &SocketRef) -> Pending<()> {
        let handlers: Vec<ConnectionFn> = self.connection.read().clone();
        socket.announce();
        let mut pending = Vec::new();
        for h in handlers {
            // A panicking handler must not take the connection task down with it.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(socket.clone()))) {
                Ok(Some(fut)) => pending.push(fut),
                Ok(None) => {}
                Err(_) => tracing::error!(socket = %socket.id(), "connection handler panicked"),
            }
        }
        if pending.is_empty() {
            Pending::Ready(())
        } else {
            Pending::Later(Box::pin(async move {
                for fut in pending {
                    fut.await;
                }
            }))
        }
    }

    fn event(&self, socket: &SocketRef, event: IncomingEvent) {
        let Some(listeners) = listeners(socket) else {
            return;
        };
        listeners.dispatch(socket, event);
    }

    fn disconnecting(&self, socket: &SocketRef, reason: DisconnectReason) -> Pending<()> {
        if let Some(l) = listeners(socket) {
            for f in l.disconnecting.read().clone() {
                call_guarded(socket, "disconnecting handler", || f(socket, reason));
            }
        }
        Pending::Ready(())
    }

    fn disconnected(&self, socket: &SocketRef, reason: DisconnectReason) {
        if let Some(l) = listeners(socket) {
            for f in l.disconnect.read().clone() {
                call_guarded(socket, "disconnect handler", || f(socket, reason));
            }
        }
    }

    fn server_side_event(&self, nsp: &Arc<crate::Namespace>, event: crate::host::ServerSideEvent) {
        let handler = self.server_side.read().get(&event.name).cloned();
        if let Some(h) = handler {
            h(nsp, event.args, event.ack);
        }
    }

    fn outgoing(&self, socket: &SocketRef, event: &str, args: &Payload) {
        if let Some(l) = listeners(socket) {
            l.notify_outgoing(socket, event, args);
        }
    }
}

type EventFn = Arc<dyn Fn(&SocketRef, Payload, Option<AckSender>) + Send + Sync>;
type AnyFn = Arc<dyn Fn(&SocketRef, &str, &Payload) + Send + Sync>;
type UseFn = Arc<dyn Fn(&SocketRef, &str, &Payload) -> Result<(), String> + Send + Sync>;
type ErrorFn = Arc<dyn Fn(&SocketRef, &str) + Send + Sync>;
type ReasonFn = Arc<dyn Fn(&SocketRef, DisconnectReason) + Send + Sync>;

/// The closures registered on one socket.
#[derive(Default)]
pub struct SocketListeners {
    events: RwLock<HashMap<String, EventFn>>,
    any: RwLock<Vec<AnyFn>>,
    any_outgoing: RwLock<Vec<AnyFn>>,
    uses: RwLock<Vec<UseFn>>,
    errors: RwLock<Vec<ErrorFn>>,
    disconnecting: RwLock<Vec<ReasonFn>>,
    disconnect: RwLock<Vec<ReasonFn>>,
}

impl SocketListeners {
    fn dispatch(&self, socket: &SocketRef, event: IncomingEvent) {
        for u in self.uses.read().clone() {
            if let Err(message) = u(socket, &event.name, &event.args) {
                for e in self.errors.read().clone() {
                    e(socket, &message);
                }
                return;
            }
        }
        for f in self.any.read().clone() {
            f(socket, &event.name, &event.args);
        }
        let handler = self.events.read().get(&event.name).cloned();
        if let Some(h) = handler {
            let name = event.name.clone();
            let run = std::panic::AssertUnwindSafe(|| h(socket, event.args, event.ack));
            if std::panic::catch_unwind(run).is_err() {
                tracing::error!(socket = %socket.id(), event = %name, "event handler panicked");
            }
        }
    }

    pub(crate) fn notify_outgoing(&self, socket: &SocketRef, event: &str, args: &Payload) {
        for f in self.any_outgoing.read().iter() {
            f(socket, event, args);
        }
    }
}

/// Runs a user's closure on the path that removes a socket (and its session): a panic there
/// is logged, and the removal goes on.
fn call_guarded(socket: &SocketRef, what: &str, f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        tracing::error!(socket = %socket.id(), "{what} panicked");
    }
}

fn listeners(socket: &Socket) -> Option<&SocketListeners> {
    socket
        .host_slot()
        .get()
        .and_then(|b| b.downcast_ref::<SocketListeners>())
}

fn listeners_or_init(socket: &Socket) -> &SocketListeners {
    socket
        .host_slot()
        .get_or_init(|| Box::new(SocketListeners::default()))
        .downcast_ref::<SocketListeners>()
        .expect("the socket's host slot is used by a language binding, not the Rust API")
}

/// Rust closures on a socket (`socket.on(...)` and friends).
impl Socket {
    /// Handles an event; the closure gets the arguments and, when the client asked for one,
    /// the acknowledgement to answer. A later registration for the same name replaces it.
    pub fn on(
        &self,
        event: impl Into<String>,
        f: impl Fn(&SocketRef, Payload, Option<AckSender>) + Send + Sync + 'static,
    ) {
        listeners_or_init(self)
            .events
            .write()
            .insert(event.into(), Arc::new(f));
    }

    /// Removes the handler of an event.
    pub fn off(&self, event: &str) {
        listeners_or_init(self).events.write().remove(event);
    }

    /// Sees every incoming event before its handler (`socket.onAny`).
    pub fn on_any(&self, f: impl Fn(&SocketRef, &str, &Payload) + Send + Sync + 'static) {
        listeners_or_init(self).any.write().push(Arc::new(f));
    }

    /// Sees every outgoing event to this socket, broadcasts included (`socket.onAnyOutgoing`).
    pub fn on_any_outgoing(&self, f: impl Fn(&SocketRef, &str, &Payload) + Send + Sync + 'static) {
        listeners_or_init(self)
            .any_outgoing
            .write()
            .push(Arc::new(f));
        self.set_notify_outgoing(true);
    }

    /// A packet middleware (`socket.use`): an `Err(message)` drops the event and calls the
    /// socket's error listeners.
    pub fn use_packet(
        &self,
        f: impl Fn(&SocketRef, &str, &Payload) -> Result<(), String> + Send + Sync + 'static,
    ) {
        listeners_or_init(self).uses.write().push(Arc::new(f));
    }

    /// Called with the message of a packet middleware's refusal (`socket.on("error")`).
    pub fn on_error(&self, f: impl Fn(&SocketRef, &str) + Send + Sync + 'static) {
        listeners_or_init(self).errors.write().push(Arc::new(f));
    }

    /// Called when the socket starts leaving; its rooms are still there.
    pub fn on_disconnecting(
        &self,
        f: impl Fn(&SocketRef, DisconnectReason) + Send + Sync + 'static,
    ) {
        listeners_or_init(self)
            .disconnecting
            .write()
            .push(Arc::new(f));
    }

    /// Called when the socket has left.
    pub fn on_disconnect(&self, f: impl Fn(&SocketRef, DisconnectReason) + Send + Sync + 'static) {
        listeners_or_init(self).disconnect.write().push(Arc::new(f));
    }
}
