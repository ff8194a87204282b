//! `NativeNamespace`: broadcasting and the server-side operations of socket.io's
//! `BroadcastOperator`, over the core's operator (fan-out stays in Rust: the arguments are
//! encoded once and the same frames are queued to every recipient).

use crate::args::to_payload;
use crate::socket::{emit_error, timeout_of};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use roomcast::{BroadcastOperator, EventQueue, Namespace};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Recipients and flags of one operation (socket.io's `to` / `except` / flags).
#[napi(object)]
pub struct Target {
    pub rooms: Option<Vec<String>>,
    pub except: Option<Vec<String>>,
    pub volatile: Option<bool>,
    pub local: Option<bool>,
    pub compress: Option<bool>,
    pub timeout: Option<f64>,
}

/// A room and its members (for `nsp.adapter.rooms`).
#[napi(object)]
pub struct RoomMembers {
    pub room: String,
    pub sids: Vec<String>,
}

#[napi]
pub struct NativeNamespace {
    pub(crate) nsp: Arc<Namespace>,
    pub(crate) queue: Arc<EventQueue>,
}

impl NativeNamespace {
    fn operator(&self, target: &Target) -> BroadcastOperator {
        let mut op = self.nsp.broadcast();
        if let Some(rooms) = &target.rooms {
            op = op.to(rooms.iter().map(String::as_str));
        }
        if let Some(except) = &target.except {
            op = op.except(except.iter().map(String::as_str));
        }
        if target.volatile.unwrap_or(false) {
            op = op.volatile();
        }
        if target.local.unwrap_or(false) {
            op = op.local();
        }
        if let Some(c) = target.compress {
            op = op.compress(c);
        }
        if let Some(t) = timeout_of(target.timeout) {
            op = op.timeout(t);
        }
        op
    }
}

#[napi]
impl NativeNamespace {
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.nsp.name().to_string()
    }

    /// Whether both stand for the same core namespace (a dynamic child removed and created
    /// again under its name is another one).
    #[napi]
    pub fn is_same(&self, other: &NativeNamespace) -> bool {
        Arc::ptr_eq(&self.nsp, &other.nsp)
    }

    #[napi]
    pub fn emit(
        &self,
        target: Target,
        event: String,
        json: String,
        binaries: Option<Vec<Buffer>>,
    ) -> napi::Result<()> {
        self.operator(&target)
            .emit(&event, to_payload(json, binaries))
            .map_err(emit_error)
    }

    /// Broadcasts with acks; the answers arrive as a `broadcastAck` record with `token`.
    #[napi]
    pub fn emit_with_ack(
        &self,
        target: Target,
        event: String,
        json: String,
        binaries: Option<Vec<Buffer>>,
        token: f64,
    ) -> napi::Result<()> {
        let op = self.operator(&target);
        self.queue
            .broadcast_with_ack(&op, &event, to_payload(json, binaries), token as u64)
            .map_err(emit_error)
    }

    /// The selected sockets arrive as a `sockets` record with `token`.
    #[napi]
    pub fn fetch_sockets(&self, target: Target, token: f64) {
        self.queue
            .fetch_sockets(&self.operator(&target), token as u64);
    }

    #[napi]
    pub fn sockets_join(&self, target: Target, rooms: Vec<String>) {
        self.operator(&target).sockets_join(rooms);
    }

    #[napi]
    pub fn sockets_leave(&self, target: Target, rooms: Vec<String>) {
        self.operator(&target).sockets_leave(rooms);
    }

    #[napi]
    pub fn disconnect_sockets(&self, target: Target, close: bool) {
        self.operator(&target).disconnect_sockets(close);
    }

    /// Sends an event to this namespace on the other servers of the cluster (a no-op with
    /// the in-memory adapter).
    #[napi]
    pub fn server_side_emit(
        &self,
        event: String,
        json: String,
        binaries: Option<Vec<Buffer>>,
    ) -> napi::Result<()> {
        self.nsp
            .server_side_emit(&event, to_payload(json, binaries))
            .map_err(emit_error)
    }

    /// Like `serverSideEmit`; the other servers' answers arrive as a `serverSideAck` record.
    #[napi]
    pub fn server_side_emit_with_ack(
        &self,
        event: String,
        json: String,
        binaries: Option<Vec<Buffer>>,
        token: f64,
    ) -> napi::Result<()> {
        self.queue
            .server_side_emit_with_ack(&self.nsp, &event, to_payload(json, binaries), token as u64)
            .map_err(emit_error)
    }

    /// Every room of this namespace on every node of the cluster (`adapter.allRooms()`).
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn all_rooms<'env>(
        &self,
        env: &'env napi::Env,
    ) -> napi::Result<napi::bindgen_prelude::Object<'env>> {
        let rt = crate::runtime::get()?;
        let fut = self.nsp.adapter().all_rooms();
        let (deferred, promise) = env.create_deferred::<Vec<String>, _>()?;
        rt.spawn(async move {
            match fut.await {
                Ok(rooms) => {
                    let rooms: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
                    deferred.resolve(move |_| Ok(rooms));
                }
                Err(e) => deferred.reject(napi::Error::from_reason(format!("roomcast: {e}"))),
            }
        });
        Ok(promise)
    }

    /// Whether this namespace (a dynamic child) has middlewares of its own; until a new
    /// child is told, its CONNECTs come to JavaScript.
    #[napi]
    pub fn set_has_middlewares(&self, yes: bool) {
        self.nsp.set_has_middlewares(yes);
    }

    #[napi]
    pub fn socket_count(&self) -> u32 {
        self.nsp.socket_count() as u32
    }

    /// Every room of this node with its members, own-id rooms included (`adapter.rooms`).
    #[napi]
    pub fn rooms(&self) -> Vec<RoomMembers> {
        let mut rooms: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for socket in self.nsp.sockets() {
            let sid = socket.id().to_string();
            for room in socket.rooms() {
                rooms.entry(room.to_string()).or_default().push(sid.clone());
            }
        }
        rooms
            .into_iter()
            .map(|(room, sids)| RoomMembers { room, sids })
            .collect()
    }
}
