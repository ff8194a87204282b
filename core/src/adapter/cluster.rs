//! What crosses between a namespace, its adapter and the other nodes of a cluster: sockets as
//! `fetch_sockets` finds them, the answers to broadcasts with acks, server-side events.

use super::Room;
use crate::Payload;
use tokio::sync::mpsc;

/// A socket as `fetch_sockets` returns it: possibly on another node of a cluster.
#[derive(Debug, Clone)]
pub struct RemoteSocket {
    pub id: String,
    pub nsp: String,
    /// The handshake as a JSON object.
    pub handshake: serde_json::Value,
    pub rooms: Vec<Room>,
    /// `socket.data` as JSON text.
    pub data: String,
    /// Whether the socket lives on this node.
    pub local: bool,
}

/// Shared by every recipient of a broadcast with acks: each answer arrives here.
#[derive(Clone)]
pub struct AckCollector {
    tx: mpsc::UnboundedSender<AckResponse>,
}

/// One answer to a broadcast with acks, or a count of recipients found by another node.
#[derive(Debug)]
pub enum AckResponse {
    Response(Payload),
    /// `n` more nodes will report how many of their clients got the broadcast.
    ServersPending(usize),
    /// One node reported its client count.
    ServerCount(usize),
}

impl AckCollector {
    pub fn new() -> (AckCollector, mpsc::UnboundedReceiver<AckResponse>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (AckCollector { tx }, rx)
    }

    pub fn respond(&self, args: Payload) {
        let _ = self.tx.send(AckResponse::Response(args));
    }

    /// Announces `n` more nodes whose client counts must arrive before the broadcast is
    /// complete (a cluster adapter, before it knows or hears from them).
    pub fn servers_pending(&self, n: usize) {
        let _ = self.tx.send(AckResponse::ServersPending(n));
    }

    /// One node's count of clients that got the broadcast.
    pub fn server_count(&self, clients: usize) {
        let _ = self.tx.send(AckResponse::ServerCount(clients));
    }
}

/// Answers a server-side event; consuming, so it answers once.
pub struct ServerSideAck(Box<dyn FnOnce(Payload) + Send + 'static>);

impl ServerSideAck {
    pub fn new(f: impl FnOnce(Payload) + Send + 'static) -> ServerSideAck {
        ServerSideAck(Box::new(f))
    }

    pub fn send(self, args: Payload) {
        (self.0)(args)
    }
}

/// An event another server sent with `serverSideEmit`.
pub struct ServerSideEvent {
    pub name: String,
    pub args: Payload,
    /// Present when the sender waits for an answer (only the first argument is sent back).
    pub ack: Option<ServerSideAck>,
}

impl std::fmt::Debug for ServerSideEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSideEvent")
            .field("name", &self.name)
            .field("args", &self.args.json)
            .field("ack", &self.ack.is_some())
            .finish()
    }
}
