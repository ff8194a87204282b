//! The native layer of roomcast's Node binding.
//!
//! This crate is deliberately flat: a handful of N-API classes over the roomcast core
//! ([`server::NativeServer`], [`namespace::NativeNamespace`], [`socket::NativeSocket`],
//! [`socket::NativeAck`]). The socket.io-shaped API — EventEmitters, listeners, acks as
//! callbacks, `socket.data` — is JavaScript (`index.js`, `lib/`). Protocol, rooms and fan-out
//! stay in the core.
//!
//! Everything the core tells JavaScript goes through one queue per server and one wake-up
//! channel ([`mailbox`]): a tokio worker never waits on the JavaScript thread, and the
//! JavaScript thread is woken once per batch, not once per event. Client events cross as one
//! JSON text per batch ([`event_batch`]).

mod accept_takeover;
mod args;
mod emitter;
mod engine_events;
mod event_batch;
mod held_batch;
mod http;
mod in_flight;
mod mailbox;
mod namespace;
mod options;
mod records;
mod replies;
mod runtime;
mod server;
mod socket;
mod takeover;
mod tls_takeover;
mod websocket;

/// Ends the current host turn: the JavaScript side calls it after each event-loop turn that
/// sent something, so `volatile` drops a packet sent in the same turn as another, as
/// engine.io's `writable` does (see the core's `host_turn`).
#[napi_derive::napi]
pub fn end_host_turn() {
    roomcast::engineio::end_host_turn();
}
