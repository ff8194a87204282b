//! What `drain()` hands to JavaScript: one plain object per core event or binding delivery.
//! `kind` says which fields are set; questions carry a `token` JavaScript answers with.

use crate::args::to_buffers;
use crate::engine_events::EngineEvent;
use crate::event_batch::EventBatch;
use crate::mailbox::Delivery;
use crate::namespace::NativeNamespace;
use crate::replies::Parked;
use crate::server::Shared;
use crate::socket::NativeSocket;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use parking_lot::Mutex;
use roomcast::engineio::PacketData;
use roomcast::handshake::RequestInfo;
use roomcast::{Completion, ConnEvent, HostEvent, Payload, RemoteSocket, ServerSideAck, SocketRef};

/// Arguments of an event or an acknowledgement.
#[napi(object)]
pub struct Args {
    pub json: String,
    pub binaries: Option<Vec<Buffer>>,
}

impl From<Payload> for Args {
    fn from(p: Payload) -> Args {
        let binaries = to_buffers(&p);
        Args {
            json: p.json,
            binaries,
        }
    }
}

/// A socket as `fetchSockets` found it.
#[napi(object)]
pub struct FoundSocket {
    pub id: String,
    pub nsp: String,
    /// JSON text.
    pub handshake: String,
    pub rooms: Vec<String>,
    /// `socket.data` as JSON text.
    pub data: String,
    /// Whether it lives in this process (JavaScript then returns its own `Socket`).
    pub local: bool,
}

impl From<RemoteSocket> for FoundSocket {
    fn from(s: RemoteSocket) -> FoundSocket {
        FoundSocket {
            id: s.id,
            nsp: s.nsp,
            handshake: s.handshake.to_string(),
            rooms: s.rooms.iter().map(|r| r.to_string()).collect(),
            data: s.data,
            local: s.local,
        }
    }
}

#[napi(object, object_from_js = false)]
#[derive(Default)]
pub struct Record {
    pub kind: String,
    /// The JavaScript namespace (or dynamic parent) the event is for.
    pub handler: Option<u32>,
    pub nsp: Option<String>,
    pub sid: Option<String>,
    /// Present on `authorize` and `connection`.
    pub socket: Option<NativeSocket>,
    pub token: Option<f64>,
    /// Event name, or namespace name for `match` / `namespace`.
    pub name: Option<String>,
    pub args: Option<Args>,
    /// The answer another server waits for (`serverSideEmit` with an ack).
    pub server_ack: Option<NativeServerAck>,
    pub reason: Option<String>,
    /// The Engine.IO id of the connection a `conn` record is about.
    pub engine: Option<String>,
    /// CONNECT payload (JSON text) for `match`.
    pub auth: Option<String>,
    pub namespace: Option<NativeNamespace>,
    /// The dynamic parent of a new child namespace.
    pub parent: Option<u32>,
    /// Why an acknowledgement or an operation failed.
    pub error: Option<String>,
    pub responses: Option<Vec<Args>>,
    pub sockets: Option<Vec<FoundSocket>>,
    pub status: Option<u32>,
    /// Response headers as a flat `[name, value, ...]` list.
    pub headers: Option<Vec<String>>,
    pub body: Option<Buffer>,
    /// The handshake request of `allowRequest`: path and query.
    pub url: Option<String>,
    /// The peer address of `allowRequest`.
    pub address: Option<String>,
    /// `engineConnection`: the transport name and Engine.IO protocol revision.
    pub transport: Option<String>,
    pub protocol: Option<u32>,
    /// `engineError` / `engineHeaders`: the request's method; `engineError`: its context
    /// (JSON text).
    pub method: Option<String>,
    pub context: Option<String>,
    /// `engineHeaders`: whether the response answers a handshake.
    pub initial: Option<bool>,
    /// `conn` `packetCreate`: the packet's `options.compress`.
    pub compress: Option<bool>,
    /// `tlsConnection`: the plaintext side of a connection for Node's HTTP server.
    pub connection: Option<crate::tls_takeover::TlsConnection>,
}

/// The answer to another server's `serverSideEmit` with an ack; answers once.
#[napi]
pub struct NativeServerAck {
    pub(crate) sender: Mutex<Option<ServerSideAck>>,
}

#[napi]
impl NativeServerAck {
    /// Sends the answer (only its first argument reaches the other server); false when it
    /// was already sent.
    #[napi]
    pub fn send(&self, json: String, binaries: Option<Vec<Buffer>>) -> bool {
        match self.sender.lock().take() {
            Some(sender) => {
                sender.send(crate::args::to_payload(json, binaries));
                true
            }
            None => false,
        }
    }
}

fn kind(kind: &str) -> Record {
    Record {
        kind: kind.to_string(),
        ..Default::default()
    }
}

fn socket_record(kind_name: &str, handler: u64, socket: &SocketRef) -> Record {
    Record {
        handler: Some(handler as u32),
        nsp: Some(socket.ns().to_string()),
        sid: Some(socket.id().to_string()),
        ..kind(kind_name)
    }
}

impl Shared {
    fn native_socket(&self, socket: SocketRef) -> NativeSocket {
        NativeSocket {
            socket,
            queue: self.queue.clone(),
        }
    }

    fn park(&self, reply: Parked) -> Option<f64> {
        Some(self.replies.park(reply) as f64)
    }

    /// Converts one core event; parks the replies it carries.
    pub(crate) fn record(&self, event: HostEvent) -> Record {
        match event {
            HostEvent::Authorize {
                handler,
                socket,
                reply,
            } => Record {
                token: self.park(Parked::Authorize(reply)),
                socket: Some(self.native_socket(socket.clone())),
                ..socket_record("authorize", handler, &socket)
            },
            HostEvent::Connection {
                handler,
                socket,
                reply,
            } => Record {
                token: self.park(Parked::Done(reply)),
                socket: Some(self.native_socket(socket.clone())),
                ..socket_record("connection", handler, &socket)
            },
            HostEvent::Event { socket, event, .. } => {
                let mut batch = EventBatch::default();
                batch.push(&socket, event);
                batch.take().unwrap_or_else(|| kind("events"))
            }
            HostEvent::Disconnecting {
                handler,
                socket,
                reason,
                reply,
            } => Record {
                token: self.park(Parked::Done(reply)),
                reason: Some(reason.as_str().to_string()),
                ..socket_record("disconnecting", handler, &socket)
            },
            HostEvent::Disconnect {
                handler,
                socket,
                reason,
            } => Record {
                reason: Some(reason.as_str().to_string()),
                ..socket_record("disconnect", handler, &socket)
            },
            HostEvent::MatchNamespace {
                matcher,
                name,
                auth,
                reply,
            } => Record {
                handler: Some(matcher as u32),
                token: self.park(Parked::Match(reply)),
                name: Some(name),
                auth: Some(auth),
                ..kind("match")
            },
            HostEvent::Outgoing {
                handler,
                socket,
                event,
                args,
            } => Record {
                name: Some(event),
                args: Some(args.into()),
                ..socket_record("outgoing", handler, &socket)
            },
            HostEvent::Conn {
                handler,
                socket,
                event,
            } => {
                let mut packet = None;
                let mut compress = None;
                let (name, reason) = match event {
                    ConnEvent::Upgrading => ("upgrading", None),
                    ConnEvent::Upgrade => ("upgrade", None),
                    ConnEvent::Error(why) => ("error", Some(why)),
                    ConnEvent::Close(why) => ("close", Some(why.to_string())),
                    ConnEvent::Drain => ("drain", None),
                    ConnEvent::Packet(p) => {
                        packet = Some(p);
                        ("packet", None)
                    }
                    ConnEvent::PacketCreate(p, compressed) => {
                        packet = Some(p);
                        compress = Some(compressed);
                        ("packetCreate", None)
                    }
                };
                // A packet's type travels in `reason`, its data in `args` (JSON text, or one
                // Buffer).
                let (reason, args) = match packet {
                    Some(p) => (Some(p.kind.to_string()), Some(packet_args(p.data))),
                    None => (reason, None),
                };
                Record {
                    name: Some(name.to_string()),
                    reason,
                    args,
                    engine: Some(socket.engine_sid().to_string()),
                    compress,
                    ..socket_record("conn", handler, &socket)
                }
            }
            HostEvent::NewNamespace { name } => {
                let nsp = self.io.namespace(&name);
                let parent = nsp
                    .as_ref()
                    .and_then(|n| n.parent())
                    .and_then(|p| self.parent_id(p));
                Record {
                    name: Some(name),
                    parent,
                    namespace: nsp.map(|nsp| NativeNamespace {
                        nsp,
                        queue: self.queue.clone(),
                    }),
                    ..kind("namespace")
                }
            }
            HostEvent::NamespaceRemoved { nsp } => Record {
                name: Some(nsp.name().to_string()),
                namespace: Some(NativeNamespace {
                    nsp,
                    queue: self.queue.clone(),
                }),
                ..kind("namespaceRemoved")
            },
            HostEvent::ServerSideEmit {
                handler,
                nsp,
                event,
            } => Record {
                handler: Some(handler as u32),
                nsp: Some(nsp),
                name: Some(event.name),
                args: Some(event.args.into()),
                server_ack: event.ack.map(|a| NativeServerAck {
                    sender: Mutex::new(Some(a)),
                }),
                ..kind("serverSideEmit")
            },
            HostEvent::Completed { token, completion } => completed(token, completion),
        }
    }
}

fn completed(token: u64, completion: Completion) -> Record {
    let token = Some(token as f64);
    match completion {
        Completion::Ack(Ok(args)) => Record {
            token,
            args: Some(args.into()),
            ..kind("ack")
        },
        Completion::Ack(Err(e)) => Record {
            token,
            error: Some(e.to_string()),
            ..kind("ack")
        },
        Completion::BroadcastAck(Ok(list)) => Record {
            token,
            responses: Some(list.into_iter().map(Args::from).collect()),
            ..kind("broadcastAck")
        },
        Completion::BroadcastAck(Err(e)) => Record {
            token,
            error: Some(e.to_string()),
            responses: Some(e.responses.into_iter().map(Args::from).collect()),
            ..kind("broadcastAck")
        },
        Completion::Sockets(Ok(list)) => Record {
            token,
            sockets: Some(list.into_iter().map(FoundSocket::from).collect()),
            ..kind("sockets")
        },
        Completion::Sockets(Err(e)) => Record {
            token,
            error: Some(e.to_string()),
            ..kind("sockets")
        },
        Completion::ServerSideAcks(Ok(list)) => Record {
            token,
            responses: Some(list.into_iter().map(Args::from).collect()),
            ..kind("serverSideAck")
        },
        Completion::ServerSideAcks(Err(e)) => Record {
            token,
            error: Some(e.to_string()),
            responses: Some(Vec::new()),
            ..kind("serverSideAck")
        },
    }
}

/// Converts one binding delivery.
fn packet_args(data: PacketData) -> Args {
    match data {
        PacketData::None => Args {
            json: "null".to_string(),
            binaries: None,
        },
        PacketData::Text(t) => Args {
            json: serde_json::to_string(&t).unwrap_or_else(|_| "null".to_string()),
            binaries: None,
        },
        PacketData::Binary(b) => Args {
            json: "null".to_string(),
            binaries: Some(vec![Buffer::from(b.to_vec())]),
        },
    }
}

pub(crate) fn delivery(d: Delivery) -> Record {
    match d {
        Delivery::Http {
            token,
            response: Some(resp),
        } => {
            let (parts, body) = resp.into_parts();
            let mut headers = Vec::with_capacity(parts.headers.len() * 2);
            for (k, v) in &parts.headers {
                headers.push(k.as_str().to_string());
                headers.push(String::from_utf8_lossy(v.as_bytes()).into_owned());
            }
            Record {
                token: Some(token as f64),
                status: Some(parts.status.as_u16() as u32),
                headers: Some(headers),
                body: Some(Buffer::from(body.to_vec())),
                ..kind("http")
            }
        }
        Delivery::Http {
            token,
            response: None,
        } => Record {
            token: Some(token as f64),
            ..kind("http")
        },
        Delivery::WsData { token, data } => Record {
            token: Some(token as f64),
            body: Some(Buffer::from(data.to_vec())),
            ..kind("wsData")
        },
        Delivery::WsEnd { token } => Record {
            token: Some(token as f64),
            ..kind("wsEnd")
        },
        Delivery::WsResume { token } => Record {
            token: Some(token as f64),
            ..kind("wsResume")
        },
        Delivery::Closed { token } => Record {
            token: Some(token as f64),
            ..kind("closed")
        },
        Delivery::AllowRequest { token, request } => Record {
            token: Some(token as f64),
            ..request_record("allowRequest", &request)
        },
        Delivery::TlsConnection(pending) => Record {
            connection: Some(pending.into_record()),
            ..kind("tlsConnection")
        },
        Delivery::Engine(event) => engine_record(event),
    }
}

/// A record carrying a request's headers (flat), url and peer address.
fn request_record(kind_name: &str, request: &RequestInfo) -> Record {
    Record {
        headers: Some(
            request
                .headers
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect(),
        ),
        url: Some(request.url.clone()),
        address: Some(request.address()),
        ..kind(kind_name)
    }
}

fn engine_record(event: EngineEvent) -> Record {
    match event {
        EngineEvent::Connection {
            sid,
            transport,
            protocol,
            request,
        } => Record {
            engine: Some(sid),
            transport: Some(transport.to_string()),
            protocol: Some(protocol.into()),
            ..request_record("engineConnection", &request)
        },
        EngineEvent::Close { sid, reason } => Record {
            engine: Some(sid),
            reason: Some(reason.to_string()),
            ..kind("engineClose")
        },
        EngineEvent::Error {
            code,
            message,
            context,
            method,
            request,
        } => Record {
            status: Some(code.into()),
            error: Some(message),
            context: Some(context),
            method: Some(method),
            ..request_record("engineError", &request)
        },
        EngineEvent::Headers {
            token,
            initial,
            method,
            request,
        } => Record {
            token: Some(token as f64),
            initial: Some(initial),
            method: Some(method),
            ..request_record("engineHeaders", &request)
        },
    }
}
