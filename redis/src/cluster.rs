//! What the pub/sub and the streams adapters do the same way, whatever their wire format:
//! requests waiting for the other nodes' answers, broadcasts with acks in flight, the answer to
//! another node's broadcast with acks, and sockets as `fetchSockets` carries them.

use futures_util::Future;
use parking_lot::Mutex;
use roomcast::adapter::{
    AckCollector, AckResponse, AdapterError, BroadcastOptions, BroadcastPacket, LocalNamespace,
    RemoteSocket, Room,
};
use roomcast::Payload;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

pub(crate) enum Pending {
    Fetch {
        expected: usize,
        received: usize,
        sockets: Vec<RemoteSocket>,
        done: Option<oneshot::Sender<Vec<RemoteSocket>>>,
    },
    Rooms {
        expected: usize,
        received: usize,
        rooms: Vec<Room>,
        done: Option<oneshot::Sender<Vec<Room>>>,
    },
    ServerSide {
        expected: usize,
        responses: Vec<Payload>,
        done: Option<oneshot::Sender<Vec<Payload>>>,
    },
}

impl Pending {
    pub(crate) fn fetch(expected: usize, done: oneshot::Sender<Vec<RemoteSocket>>) -> Pending {
        Pending::Fetch {
            expected,
            received: 0,
            sockets: Vec::new(),
            done: Some(done),
        }
    }

    pub(crate) fn rooms(expected: usize, done: oneshot::Sender<Vec<Room>>) -> Pending {
        Pending::Rooms {
            expected,
            received: 0,
            rooms: Vec::new(),
            done: Some(done),
        }
    }

    pub(crate) fn server_side(expected: usize, done: oneshot::Sender<Vec<Payload>>) -> Pending {
        Pending::ServerSide {
            expected,
            responses: Vec::new(),
            done: Some(done),
        }
    }
}

/// One namespace's requests to the other nodes that still wait for answers.
#[derive(Default)]
pub(crate) struct Requests {
    pending: Mutex<HashMap<String, Pending>>,
    acks: Mutex<HashMap<String, AckCollector>>,
}

impl Requests {
    /// Whether `request_id` is one of this node's own requests (it came back through Redis).
    pub(crate) fn is_ours(&self, request_id: &str) -> bool {
        self.pending.lock().contains_key(request_id)
    }

    /// Sends a request (`send` publishes it) to the `nodes - 1` other nodes; resolves with
    /// their answers, `None` when there are none, or fails at `timeout`.
    pub(crate) async fn gather<T>(
        &self,
        operation: &'static str,
        (nodes, timeout): (usize, Duration),
        request_id: String,
        make: impl FnOnce(usize, oneshot::Sender<T>) -> Pending,
        send: impl FnOnce(String),
    ) -> Result<Option<T>, AdapterError> {
        if nodes <= 1 {
            return Ok(None);
        }
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .insert(request_id.clone(), make(nodes - 1, tx));
        send(request_id.clone());
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(Some(v)),
            _ => {
                let received = match self.pending.lock().remove(&request_id) {
                    Some(Pending::Fetch { received, .. })
                    | Some(Pending::Rooms { received, .. }) => received,
                    Some(Pending::ServerSide { responses, .. }) => responses.len(),
                    None => 0,
                };
                Err(AdapterError::Timeout {
                    operation,
                    received: received + 1,
                    expected: nodes,
                })
            }
        }
    }

    /// One node's sockets for a `fetchSockets` request.
    pub(crate) fn on_sockets(&self, nsp: &str, request_id: &str, sockets: &[Json]) {
        let mut pending = self.pending.lock();
        let Some(Pending::Fetch {
            expected,
            received,
            sockets: list,
            done,
        }) = pending.get_mut(request_id)
        else {
            return;
        };
        *received += 1;
        list.extend(sockets.iter().filter_map(|s| remote_socket(nsp, s)));
        if *received >= *expected {
            if let Some(tx) = done.take() {
                let _ = tx.send(std::mem::take(list));
            }
            pending.remove(request_id);
        }
    }

    /// One node's rooms for an `allRooms` request.
    pub(crate) fn on_rooms(&self, request_id: &str, rooms: Vec<Room>) {
        let mut pending = self.pending.lock();
        let Some(Pending::Rooms {
            expected,
            received,
            rooms: list,
            done,
        }) = pending.get_mut(request_id)
        else {
            return;
        };
        *received += 1;
        list.extend(rooms);
        if *received >= *expected {
            if let Some(tx) = done.take() {
                let _ = tx.send(std::mem::take(list));
            }
            pending.remove(request_id);
        }
    }

    /// One node's answer to a `serverSideEmit` with an ack.
    pub(crate) fn on_server_side(&self, request_id: &str, data: Payload) {
        let mut pending = self.pending.lock();
        let Some(Pending::ServerSide {
            expected,
            responses,
            done,
        }) = pending.get_mut(request_id)
        else {
            return;
        };
        responses.push(data);
        if responses.len() >= *expected {
            if let Some(tx) = done.take() {
                let _ = tx.send(std::mem::take(responses));
            }
            pending.remove(request_id);
        }
    }

    /// Whether `request_id` is one of this node's own broadcasts with acks.
    pub(crate) fn is_our_ack(&self, request_id: &str) -> bool {
        self.acks.lock().contains_key(request_id)
    }

    pub(crate) fn on_client_count(&self, request_id: &str, count: usize) {
        if let Some(c) = self.acks.lock().get(request_id) {
            c.server_count(count);
        }
    }

    pub(crate) fn on_ack(&self, request_id: &str, arg: Payload) {
        if let Some(c) = self.acks.lock().get(request_id) {
            c.respond(arg);
        }
    }

    /// Registers a broadcast with acks sent to the other nodes: `nodes` resolves to how many
    /// nodes serve the namespace; their client counts and answers go to `collector` until
    /// `timeout`.
    pub(crate) fn track_broadcast_with_ack(
        self: &Arc<Self>,
        runtime: &tokio::runtime::Handle,
        request_id: String,
        collector: &AckCollector,
        timeout: Duration,
        nodes: impl Future<Output = usize> + Send + 'static,
    ) {
        self.acks
            .lock()
            .insert(request_id.clone(), collector.clone());
        // Until the node count is known, one pending "server" holds the broadcast open.
        collector.servers_pending(1);
        let collector = collector.clone();
        let me = Arc::downgrade(self);
        runtime.spawn(async move {
            let others = nodes.await.saturating_sub(1);
            collector.servers_pending(others);
            collector.server_count(0);
            drop(collector);
            tokio::time::sleep(timeout).await;
            if let Some(r) = me.upgrade() {
                r.acks.lock().remove(&request_id);
            }
        });
    }
}

/// Another node's broadcast with acks: delivers it to the local recipients, reports their
/// number through `count`, then each client's answer through `ack`, until `timeout`.
pub(crate) fn answer_broadcast_with_ack(
    nsp: &Arc<dyn LocalNamespace>,
    event: &str,
    args: Payload,
    opts: BroadcastOptions,
    timeout: Duration,
    count: impl FnOnce(usize),
    ack: impl Fn(Payload) + Send + Sync + 'static,
) {
    let packet = BroadcastPacket::new(
        nsp.parser(),
        nsp.name(),
        event,
        args,
        Some(nsp.next_ack_id()),
    );
    let (collector, mut rx) = AckCollector::new();
    let clients = {
        let mut local_opts = opts;
        local_opts.flags.local = true;
        nsp.deliver_with_ack(&packet, &local_opts, &collector)
    };
    drop(collector);
    count(clients);
    nsp.runtime().spawn(async move {
        let forward = async {
            let mut answered = 0;
            while answered < clients {
                match rx.recv().await {
                    Some(AckResponse::Response(p)) => {
                        answered += 1;
                        ack(p);
                    }
                    Some(_) => {}
                    None => break,
                }
            }
        };
        let _ = tokio::time::timeout(timeout, forward).await;
    });
}

/// A local socket as `fetchSockets` answers carry it: `{id, handshake, rooms, data}`.
pub(crate) fn socket_json(s: &RemoteSocket) -> Json {
    let data: Json = serde_json::from_str(&s.data).unwrap_or(Json::Null);
    let rooms: Vec<String> = s.rooms.iter().map(|r| r.to_string()).collect();
    serde_json::json!({"id": s.id, "handshake": s.handshake, "rooms": rooms, "data": data})
}

/// A socket from another node's `fetchSockets` answer.
pub(crate) fn remote_socket(nsp: &str, v: &Json) -> Option<RemoteSocket> {
    Some(RemoteSocket {
        id: v.get("id")?.as_str()?.to_string(),
        nsp: nsp.to_string(),
        handshake: v.get("handshake").cloned().unwrap_or(Json::Null),
        rooms: v
            .get("rooms")
            .and_then(|r| r.as_array())
            .map(|a| a.iter().filter_map(|r| r.as_str().map(Arc::from)).collect())
            .unwrap_or_default(),
        data: v
            .get("data")
            .map_or_else(|| "null".to_string(), |d| d.to_string()),
        local: false,
    })
}

/// Sixteen random hex digits, like socket.io-adapter's `randomId()` (node uids, request ids).
pub(crate) fn random_id() -> String {
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).expect("the operating system's random number generator failed");
    raw.iter().map(|b| format!("{b:02x}")).collect()
}
