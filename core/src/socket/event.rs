//! What a socket receives and the ways an emit or an acknowledgement can fail.

use super::SocketRef;
use crate::socketio::packet::{self, RESERVED_EVENTS};
use crate::Payload;
use bytes::Bytes;
use std::fmt;

/// An event received from a client.
pub struct IncomingEvent {
    pub name: String,
    pub args: Payload,
    /// Present when the client asked for an acknowledgement.
    pub ack: Option<AckSender>,
}

impl IncomingEvent {
    /// What the event holds in memory, near enough for backlog bounds.
    pub fn byte_len(&self) -> usize {
        self.name.len()
            + self.args.json.len()
            + self.args.binaries.iter().map(|b| b.len()).sum::<usize>()
    }
}

impl fmt::Debug for IncomingEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingEvent")
            .field("name", &self.name)
            .field("args", &self.args.json)
            .field("binaries", &self.args.binaries.len())
            .field("ack", &self.ack.is_some())
            .finish()
    }
}

/// Answers a client's acknowledgement request. Consuming `send` makes a second answer
/// impossible; hosts that expose a callable keep it in an `Option` and ignore later calls.
pub struct AckSender {
    pub(super) socket: SocketRef,
    pub(super) id: u64,
}

impl AckSender {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends the acknowledgement with `args` (a JSON array, binaries as placeholders).
    pub fn send(self, args: Payload) {
        self.socket.send_ack(self.id, args);
    }
}

/// Why an acknowledgement did not arrive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("operation has timed out")]
    Timeout,
    #[error("socket disconnected before the acknowledgement arrived")]
    Disconnected,
}

/// Why an emit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    #[error("too many binary attachments ({0}, at most {max})", max = packet::MAX_ATTACHMENTS)]
    TooManyAttachments(usize),
    #[error("the socket is disconnected")]
    Disconnected,
    #[error(
        "{0} acknowledgements are already awaited from this socket (the max_pending_acks \
         limit): the event was not sent; give emits a timeout or raise the limit"
    )]
    TooManyPendingAcks(usize),
}

/// Checks an event before it is encoded: reserved names (`connect`, `disconnect`, …) and more
/// binary attachments than a packet may carry are refused. Emitters outside a server use it too.
pub fn check_event(event: &str, args: &Payload) -> Result<(), EmitError> {
    if RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_string()));
    }
    if args.binaries.len() > packet::MAX_ATTACHMENTS {
        return Err(EmitError::TooManyAttachments(args.binaries.len()));
    }
    Ok(())
}

/// Builds a payload from received JSON argument text and binary attachments.
pub(crate) fn incoming_payload(json: String, binaries: Vec<Bytes>) -> Payload {
    Payload { json, binaries }
}
