//! `NativeSocket`: one socket of one namespace, as the JavaScript `Socket` drives it.

use crate::args::to_payload;
use crate::namespace::NativeNamespace;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use roomcast::socket::SendFlags;
use roomcast::{EmitError, EventQueue, SocketRef};
use std::sync::Arc;
use std::time::Duration;

/// Refusals JavaScript must see as exceptions (a reserved name, too many attachments);
/// a disconnected socket is not one of them: socket.io drops such emits silently.
pub fn emit_error(e: EmitError) -> napi::Error {
    napi::Error::from_reason(format!("roomcast: {e}"))
}

pub fn timeout_of(ms: Option<f64>) -> Option<Duration> {
    ms.filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| Duration::from_millis(v as u64))
}

#[napi]
pub struct NativeSocket {
    pub(crate) socket: SocketRef,
    pub(crate) queue: Arc<EventQueue>,
}

#[napi]
impl NativeSocket {
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.socket.id().to_string()
    }

    #[napi(getter)]
    pub fn nsp(&self) -> String {
        self.socket.ns().to_string()
    }

    /// The handshake as JSON text (headers, query, auth, address, time, issued, url...).
    #[napi]
    pub fn handshake(&self) -> String {
        self.socket.handshake().to_string()
    }

    #[napi]
    pub fn rooms(&self) -> Vec<String> {
        self.socket.rooms().iter().map(|r| r.to_string()).collect()
    }

    /// Answers the client's acknowledgement request `id` (a decimal string: ids are 64-bit).
    /// JavaScript's ack callback makes sure it answers once.
    #[napi]
    pub fn send_ack(
        &self,
        id: String,
        json: String,
        binaries: Option<Vec<Buffer>>,
    ) -> napi::Result<()> {
        let id = id.parse::<u64>().map_err(|_| {
            napi::Error::from_reason(format!("roomcast: bad acknowledgement id {id:?}"))
        })?;
        self.socket.send_ack(id, to_payload(json, binaries));
        Ok(())
    }

    #[napi]
    pub fn join(&self, rooms: Vec<String>) {
        self.socket.join(rooms);
    }

    #[napi]
    pub fn leave(&self, room: String) {
        self.socket.leave(&room);
    }

    #[napi]
    pub fn leave_all(&self) {
        self.socket.leave_all();
    }

    /// Sends an event; false when the socket is already disconnected.
    #[napi]
    pub fn emit(
        &self,
        event: String,
        json: String,
        binaries: Option<Vec<Buffer>>,
        volatile: Option<bool>,
        compress: Option<bool>,
    ) -> napi::Result<bool> {
        let payload = to_payload(json, binaries);
        let flags = SendFlags {
            volatile: volatile.unwrap_or(false),
            compress: compress.unwrap_or(true),
        };
        let result = self.socket.emit_with(&event, payload, flags);
        match result {
            Ok(()) => Ok(true),
            Err(EmitError::Disconnected) => Ok(false),
            Err(e) => Err(emit_error(e)),
        }
    }

    /// Sends an event that asks for an acknowledgement; the answer (or the timeout, or the
    /// disconnection) arrives as an `ack` record with `token`. False: already disconnected,
    /// nothing will arrive.
    #[napi]
    pub fn emit_with_ack(
        &self,
        event: String,
        json: String,
        binaries: Option<Vec<Buffer>>,
        timeout_ms: Option<f64>,
        token: f64,
        compress: Option<bool>,
    ) -> napi::Result<bool> {
        let payload = to_payload(json, binaries);
        let flags = SendFlags {
            volatile: false,
            compress: compress.unwrap_or(true),
        };
        match self.queue.emit_with_ack(
            &self.socket,
            &event,
            payload,
            timeout_of(timeout_ms),
            flags,
            token as u64,
        ) {
            Ok(()) => Ok(true),
            Err(EmitError::Disconnected) => Ok(false),
            Err(e) => Err(emit_error(e)),
        }
    }

    #[napi]
    pub fn disconnect(&self, close: bool) {
        self.socket.disconnect(close);
    }

    /// Leaves the namespace now: JavaScript has run the `disconnecting` listeners itself.
    #[napi]
    pub fn disconnect_now(&self) {
        self.socket.disconnect_now();
    }

    #[napi]
    pub fn connected(&self) -> bool {
        self.socket.connected()
    }

    /// Enters the namespace and sends CONNECT; called right before the connection handlers.
    #[napi]
    pub fn announce(&self) {
        self.socket.announce();
    }

    /// `socket.data` as JSON text, as `fetchSockets` (and other cluster nodes) see it.
    #[napi]
    pub fn data(&self) -> String {
        self.socket.data()
    }

    #[napi]
    pub fn set_data(&self, json: String) {
        self.socket.set_data(json);
    }

    /// Report this socket's outgoing events (`onAnyOutgoing`).
    #[napi]
    pub fn set_notify_outgoing(&self, on: bool) {
        self.socket.set_notify_outgoing(on);
    }

    /// Report what happens to this socket's connection (`socket.conn` listeners, `error`).
    #[napi]
    pub fn set_notify_conn(&self, on: bool) {
        self.socket.set_notify_conn(on);
    }

    /// Also report every Engine.IO packet of the connection and each drain (`socket.conn`
    /// `packet`, `packetCreate` and `drain` listeners).
    #[napi]
    pub fn set_notify_packets(&self, on: bool) {
        self.socket.set_notify_packets(on);
    }

    /// Engine.IO protocol revision of the connection (4, or 3 for socket.io v2 clients).
    #[napi]
    pub fn protocol(&self) -> u32 {
        self.socket.engine_protocol() as u32
    }

    /// Whether this connection resumed a dropped session (connection state recovery).
    #[napi]
    pub fn recovered(&self) -> bool {
        self.socket.recovered()
    }

    #[napi]
    pub fn transport(&self) -> String {
        self.socket.transport().to_string()
    }

    /// The Engine.IO session id (`socket.conn.id`).
    #[napi]
    pub fn engine_id(&self) -> String {
        self.socket.engine_sid().to_string()
    }

    #[napi]
    pub fn namespace(&self) -> NativeNamespace {
        NativeNamespace {
            nsp: self.socket.namespace().clone(),
            queue: self.queue.clone(),
        }
    }
}
