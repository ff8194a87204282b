//! The admin namespace itself: its login middleware, what a UI is sent when it connects
//! (`session`, `config`, `all_sockets`), and the UI's commands (`emit`, `join`, `leave`,
//! `_disconnect`) run on the namespace they name, cluster-wide through its adapter.

use super::auth::{Gate, Verdict};
use super::{wire, AdminMode, AdminOptions};
use crate::host::ConnectError;
use crate::namespace::Namespace;
use crate::operator::BroadcastOperator;
use crate::server::Server;
use crate::socket::SocketRef;
use crate::Payload;
use serde_json::Value;
use std::sync::{Arc, Weak};

pub(super) struct AdminShared {
    server: Weak<crate::server::ServerShared>,
    gate: Gate,
    read_only: bool,
    development: bool,
    /// Session ids of fresh logins, by socket id, until the UI is told (right after CONNECT).
    fresh_sessions: parking_lot::Mutex<std::collections::HashMap<String, String>>,
}

impl AdminShared {
    pub(super) fn new(io: &Server, _admin: &Arc<Namespace>, options: &AdminOptions) -> AdminShared {
        AdminShared {
            server: Arc::downgrade(&io.shared),
            gate: Gate::new(options.auth.clone()),
            read_only: options.read_only,
            development: options.mode == AdminMode::Development,
            fresh_sessions: Default::default(),
        }
    }

    fn server(&self) -> Option<Server> {
        self.server.upgrade().map(|shared| Server { shared })
    }

    /// The namespace a UI command names; one that does not exist is not created for it.
    fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        let io = self.server()?;
        io.namespaces().into_iter().find(|n| n.name() == name)
    }
}

pub(super) fn install(admin: &Arc<Namespace>, shared: Arc<AdminShared>) {
    let gate = shared.clone();
    admin.use_middleware(move |socket: SocketRef| {
        let shared = gate.clone();
        async move {
            match shared.gate.check(socket.auth()).await {
                Verdict::Allowed => Ok(()),
                Verdict::NewSession(id) => {
                    shared
                        .fresh_sessions
                        .lock()
                        .insert(socket.id().to_string(), id);
                    Ok(())
                }
                Verdict::Refused => Err(ConnectError::new("invalid credentials")),
            }
        }
    });
    admin.on_connection(move |socket| on_admin_connection(&shared, socket));
}

fn on_admin_connection(shared: &Arc<AdminShared>, socket: SocketRef) {
    let session = shared.fresh_sessions.lock().remove(socket.id().as_str());
    if let Some(id) = session.filter(|id| !id.is_empty()) {
        let _ = socket.emit("session", crate::payload!(id));
    }
    if !shared.read_only {
        register_commands(shared, &socket);
    }
    let features = wire::features(shared.read_only, shared.development);
    let _ = socket.emit(
        "config",
        crate::payload!(serde_json::json!({ "supportedFeatures": features })),
    );
    if shared.development {
        let shared = shared.clone();
        let runtime = socket.namespace().runtime().clone();
        runtime.spawn(async move {
            let sockets = all_sockets(&shared).await;
            let _ = socket.emit("all_sockets", crate::payload!(sockets));
        });
    }
}

/// Every socket of every namespace, cluster-wide.
async fn all_sockets(shared: &AdminShared) -> Vec<Value> {
    let Some(io) = shared.server() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut namespaces = io.namespaces();
    namespaces.sort_by(|a, b| a.name().cmp(b.name()));
    for nsp in namespaces {
        match nsp.fetch_sockets().await {
            Ok(sockets) => out.extend(sockets.iter().map(|s| {
                let local = nsp.get_socket(&s.id);
                wire::serialize_remote(s, local.as_ref())
            })),
            Err(e) => tracing::warn!(nsp = nsp.name(), error = %e, "admin UI: cannot list sockets"),
        }
    }
    out
}

/// The UI's commands. Arguments the UI did not send as it should are ignored.
fn register_commands(shared: &Arc<AdminShared>, socket: &SocketRef) {
    let s = shared.clone();
    socket.on("emit", move |_, args, _| {
        let values = args.values();
        let (Some(nsp), Some(event)) = (str_at(&values, 0), str_at(&values, 2)) else {
            return;
        };
        let Some(op) = operator(&s, nsp, values.get(1)) else {
            return;
        };
        let rest = Value::Array(values.iter().skip(3).cloned().collect()).to_string();
        let _ = op.emit(event, Payload::with_binaries(rest, args.binaries.clone()));
    });
    for (event, join) in [("join", true), ("leave", false)] {
        let s = shared.clone();
        socket.on(event, move |_, args, _| {
            let values = args.values();
            let (Some(nsp), Some(room)) = (str_at(&values, 0), str_at(&values, 1)) else {
                return;
            };
            match operator(&s, nsp, values.get(2)) {
                Some(op) if join => op.sockets_join([room]),
                Some(op) => op.sockets_leave([room]),
                None => {}
            }
        });
    }
    let s = shared.clone();
    socket.on("_disconnect", move |_, args, _| {
        let values = args.values();
        let Some(nsp) = str_at(&values, 0) else {
            return;
        };
        let close = values.get(1).and_then(Value::as_bool).unwrap_or(false);
        if let Some(op) = operator(&s, nsp, values.get(2)) {
            op.disconnect_sockets(close);
        }
    });
}

fn str_at(values: &[Value], i: usize) -> Option<&str> {
    values.get(i).and_then(Value::as_str)
}

/// The namespace's sockets, or those in the room `filter` names (a missing, null or empty
/// filter means all of them).
fn operator(shared: &AdminShared, nsp: &str, filter: Option<&Value>) -> Option<BroadcastOperator> {
    let nsp = shared.namespace(nsp)?;
    Some(
        match filter.and_then(Value::as_str).filter(|f| !f.is_empty()) {
            Some(room) => nsp.to([room]),
            None => nsp.broadcast(),
        },
    )
}
