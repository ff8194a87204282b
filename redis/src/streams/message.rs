//! The messages of socket.io-adapter's `ClusterAdapter` as `@socket.io/redis-streams-adapter`
//! 0.3 carries them: stream entries with the fields `uid`, `nsp`, `type` (decimal text) and
//! `data` (JSON text, or base64 of msgpack when it holds binary), and pub/sub messages that are
//! the whole `{type, data, uid, nsp}` object in msgpack.

use crate::wire::{
    decode, encode, event_data, get, opts_from_mp, opts_to_mp, packet_from_mp, rooms_from_mp,
    rooms_to_mp, split_data, WireError,
};
use base64::Engine;
use rmpv::Value as Mp;
use roomcast::adapter::{BroadcastOptions, Room};
use roomcast::msgpack::{json_to_mp, mp_to_json};
use roomcast::Payload;
use serde_json::Value as Json;

/// socket.io-adapter's `MessageType`.
pub mod kind {
    pub const INITIAL_HEARTBEAT: u64 = 1;
    pub const HEARTBEAT: u64 = 2;
    pub const BROADCAST: u64 = 3;
    pub const SOCKETS_JOIN: u64 = 4;
    pub const SOCKETS_LEAVE: u64 = 5;
    pub const DISCONNECT_SOCKETS: u64 = 6;
    pub const FETCH_SOCKETS: u64 = 7;
    pub const FETCH_SOCKETS_RESPONSE: u64 = 8;
    pub const SERVER_SIDE_EMIT: u64 = 9;
    pub const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    pub const BROADCAST_CLIENT_COUNT: u64 = 11;
    pub const BROADCAST_ACK: u64 = 12;
    pub const ADAPTER_CLOSE: u64 = 13;
}

/// A message between the nodes of a cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub uid: String,
    pub nsp: String,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Heartbeats and "adapter closed" (types 1, 2, 13): node bookkeeping of adapters that
    /// count nodes by their messages; the streams adapter counts subscribers instead.
    Presence(u64),
    /// With a `request_id` the sender waits for client counts and acks (sent by pub/sub).
    Broadcast {
        request_id: Option<String>,
        event: String,
        args: Payload,
        opts: BroadcastOptions,
    },
    SocketsJoin {
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    },
    SocketsLeave {
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    },
    DisconnectSockets {
        opts: BroadcastOptions,
        close: bool,
    },
    FetchSockets {
        request_id: String,
        opts: BroadcastOptions,
    },
    FetchSocketsResponse {
        request_id: String,
        sockets: Vec<Json>,
    },
    ServerSideEmit {
        request_id: Option<String>,
        event: String,
        args: Payload,
    },
    /// The first argument of one node's answer.
    ServerSideEmitResponse {
        request_id: String,
        arg: Payload,
    },
    BroadcastClientCount {
        request_id: String,
        count: u64,
    },
    /// The first argument of one client's ack.
    BroadcastAck {
        request_id: String,
        arg: Payload,
    },
}

impl Body {
    fn kind(&self) -> u64 {
        match self {
            Body::Presence(k) => *k,
            Body::Broadcast { .. } => kind::BROADCAST,
            Body::SocketsJoin { .. } => kind::SOCKETS_JOIN,
            Body::SocketsLeave { .. } => kind::SOCKETS_LEAVE,
            Body::DisconnectSockets { .. } => kind::DISCONNECT_SOCKETS,
            Body::FetchSockets { .. } => kind::FETCH_SOCKETS,
            Body::FetchSocketsResponse { .. } => kind::FETCH_SOCKETS_RESPONSE,
            Body::ServerSideEmit { .. } => kind::SERVER_SIDE_EMIT,
            Body::ServerSideEmitResponse { .. } => kind::SERVER_SIDE_EMIT_RESPONSE,
            Body::BroadcastClientCount { .. } => kind::BROADCAST_CLIENT_COUNT,
            Body::BroadcastAck { .. } => kind::BROADCAST_ACK,
        }
    }

    /// Whether it goes through pub/sub rather than the stream (the npm adapter's
    /// `isEphemeral`): what only matters to the nodes up right now.
    pub fn is_ephemeral(&self) -> bool {
        matches!(
            self,
            Body::Broadcast {
                request_id: Some(_),
                ..
            } | Body::ServerSideEmit { .. }
                | Body::FetchSockets { .. }
        )
    }
}

fn entry(key: &str, v: Mp) -> (Mp, Mp) {
    (Mp::from(key), v)
}

fn first_arg(args: &Payload) -> Mp {
    let values: Vec<Json> = serde_json::from_str(&args.json).unwrap_or_default();
    values
        .first()
        .map_or(Mp::Nil, |v| json_to_mp(v, &args.binaries))
}

fn as_payload(v: Option<&Mp>) -> Payload {
    let mut binaries = Vec::new();
    let arg = v.map_or(Json::Null, |p| mp_to_json(p, &mut binaries));
    Payload::with_binaries(format!("[{arg}]"), binaries)
}

/// `data` in the key order of socket.io-adapter's objects.
fn data_to_mp(body: &Body) -> Result<Option<Mp>, WireError> {
    let id = |s: &str| entry("requestId", Mp::from(s));
    Ok(Some(Mp::Map(match body {
        Body::Presence(_) => return Ok(None),
        Body::Broadcast {
            request_id,
            event,
            args,
            opts,
        } => {
            // socket.io 4.8 leaves `nsp` out of a broadcast packet (the message carries it).
            let packet = Mp::Map(vec![
                entry("type", Mp::from(2)),
                entry("data", Mp::Array(event_data(event, args)?)),
            ]);
            let mut m = vec![entry("packet", packet)];
            if let Some(r) = request_id {
                m.push(id(r));
            }
            m.push(entry("opts", opts_to_mp(opts)));
            m
        }
        Body::SocketsJoin { opts, rooms } | Body::SocketsLeave { opts, rooms } => vec![
            entry("opts", opts_to_mp(opts)),
            entry("rooms", rooms_to_mp(rooms)),
        ],
        Body::DisconnectSockets { opts, close } => vec![
            entry("opts", opts_to_mp(opts)),
            entry("close", Mp::Boolean(*close)),
        ],
        Body::FetchSockets { request_id, opts } => {
            vec![entry("opts", opts_to_mp(opts)), id(request_id)]
        }
        Body::FetchSocketsResponse {
            request_id,
            sockets,
        } => vec![
            id(request_id),
            entry(
                "sockets",
                Mp::Array(sockets.iter().map(|s| json_to_mp(s, &[])).collect()),
            ),
        ],
        Body::ServerSideEmit {
            request_id,
            event,
            args,
        } => {
            let mut m = Vec::new();
            if let Some(r) = request_id {
                m.push(id(r));
            }
            m.push(entry("packet", Mp::Array(event_data(event, args)?)));
            m
        }
        Body::ServerSideEmitResponse { request_id, arg }
        | Body::BroadcastAck { request_id, arg } => {
            vec![id(request_id), entry("packet", first_arg(arg))]
        }
        Body::BroadcastClientCount { request_id, count } => {
            vec![id(request_id), entry("clientCount", Mp::from(*count))]
        }
    })))
}

fn data_from_mp(kind: u64, data: Option<&Mp>) -> Result<Body, WireError> {
    let empty = Vec::new();
    let m = match data {
        Some(Mp::Map(m)) => m,
        _ => &empty,
    };
    let request_id = get(m, "requestId").and_then(Mp::as_str).map(str::to_string);
    let need_id = || {
        request_id
            .clone()
            .ok_or(WireError::Shape("message without requestId"))
    };
    let opts = || opts_from_mp(get(m, "opts"));
    Ok(match kind {
        kind::INITIAL_HEARTBEAT | kind::HEARTBEAT | kind::ADAPTER_CLOSE => Body::Presence(kind),
        kind::BROADCAST => {
            let (_, event, args) = packet_from_mp(get(m, "packet"))?;
            Body::Broadcast {
                request_id,
                event,
                args,
                opts: opts(),
            }
        }
        kind::SOCKETS_JOIN => Body::SocketsJoin {
            opts: opts(),
            rooms: rooms_from_mp(get(m, "rooms")),
        },
        kind::SOCKETS_LEAVE => Body::SocketsLeave {
            opts: opts(),
            rooms: rooms_from_mp(get(m, "rooms")),
        },
        kind::DISCONNECT_SOCKETS => Body::DisconnectSockets {
            opts: opts(),
            close: get(m, "close").and_then(Mp::as_bool).unwrap_or(false),
        },
        kind::FETCH_SOCKETS => Body::FetchSockets {
            request_id: need_id()?,
            opts: opts(),
        },
        kind::FETCH_SOCKETS_RESPONSE => {
            let mut binaries = Vec::new();
            let sockets = match get(m, "sockets") {
                Some(Mp::Array(items)) => {
                    items.iter().map(|s| mp_to_json(s, &mut binaries)).collect()
                }
                _ => Vec::new(),
            };
            Body::FetchSocketsResponse {
                request_id: need_id()?,
                sockets,
            }
        }
        kind::SERVER_SIDE_EMIT => {
            let Some(Mp::Array(items)) = get(m, "packet") else {
                return Err(WireError::Shape("serverSideEmit without packet"));
            };
            let (event, args) = split_data(items)?;
            Body::ServerSideEmit {
                request_id,
                event,
                args,
            }
        }
        kind::SERVER_SIDE_EMIT_RESPONSE => Body::ServerSideEmitResponse {
            request_id: need_id()?,
            arg: as_payload(get(m, "packet")),
        },
        kind::BROADCAST_CLIENT_COUNT => Body::BroadcastClientCount {
            request_id: need_id()?,
            count: get(m, "clientCount").and_then(Mp::as_u64).unwrap_or(0),
        },
        kind::BROADCAST_ACK => Body::BroadcastAck {
            request_id: need_id()?,
            arg: as_payload(get(m, "packet")),
        },
        _ => return Err(WireError::Shape("unknown message type")),
    })
}

fn contains_binary(v: &Mp) -> bool {
    match v {
        Mp::Binary(_) => true,
        Mp::Array(items) => items.iter().any(contains_binary),
        Mp::Map(entries) => entries.iter().any(|(_, v)| contains_binary(v)),
        _ => false,
    }
}

impl Message {
    /// The fields of a stream entry, in the npm adapter's order.
    pub fn to_stream_fields(&self) -> Result<Vec<(&'static str, String)>, WireError> {
        let kind = self.body.kind();
        let mut fields = vec![
            ("uid", self.uid.clone()),
            ("nsp", self.nsp.clone()),
            ("type", kind.to_string()),
        ];
        if let Some(data) = data_to_mp(&self.body)? {
            let text = if contains_binary(&data) {
                base64::engine::general_purpose::STANDARD.encode(encode(&data))
            } else {
                mp_to_json(&data, &mut Vec::new()).to_string()
            };
            fields.push(("data", text));
        }
        Ok(fields)
    }

    /// A stream entry's fields; `None` for entries without a namespace (not an adapter's).
    pub fn from_stream_fields<'a>(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Option<Message>, WireError> {
        let (mut uid, mut nsp, mut kind, mut data) = (None, None, None, None);
        for (k, v) in fields {
            match k {
                "uid" => uid = Some(v),
                "nsp" => nsp = Some(v),
                "type" => kind = Some(v),
                "data" => data = Some(v),
                _ => {}
            }
        }
        let Some(nsp) = nsp.filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        let kind: u64 = kind
            .and_then(|k| k.trim().parse().ok())
            .ok_or(WireError::Shape("entry without a numeric type"))?;
        let data = match data.filter(|d| !d.is_empty()) {
            None => None,
            Some(d) if d.starts_with('{') => {
                let v: Json =
                    serde_json::from_str(d).map_err(|e| WireError::Json(e.to_string()))?;
                Some(json_to_mp(&v, &[]))
            }
            Some(d) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(d)
                    .map_err(|e| WireError::Shape(base64_error(e)))?;
                Some(decode(&bytes)?)
            }
        };
        Ok(Some(Message {
            uid: uid.unwrap_or_default().to_string(),
            nsp: nsp.to_string(),
            body: data_from_mp(kind, data.as_ref())?,
        }))
    }

    /// The pub/sub form: `{type, data, uid, nsp}` in msgpack.
    pub fn to_msgpack(&self) -> Result<Vec<u8>, WireError> {
        let mut m = vec![entry("type", Mp::from(self.body.kind()))];
        if let Some(data) = data_to_mp(&self.body)? {
            m.push(entry("data", data));
        }
        m.push(entry("uid", Mp::from(self.uid.as_str())));
        m.push(entry("nsp", Mp::from(self.nsp.as_str())));
        Ok(encode(&Mp::Map(m)))
    }

    /// The sharded adapter's form: the same object as JSON text, or msgpack when it holds
    /// binary (`@socket.io/redis-adapter`'s `createShardedAdapter`).
    pub fn to_json_or_msgpack(&self) -> Result<Vec<u8>, WireError> {
        let mut m = vec![entry("type", Mp::from(self.body.kind()))];
        if let Some(data) = data_to_mp(&self.body)? {
            if contains_binary(&data) {
                return self.to_msgpack();
            }
            m.push(entry("data", data));
        }
        m.push(entry("uid", Mp::from(self.uid.as_str())));
        m.push(entry("nsp", Mp::from(self.nsp.as_str())));
        Ok(mp_to_json(&Mp::Map(m), &mut Vec::new())
            .to_string()
            .into_bytes())
    }

    /// Reads either form: JSON when it starts with `{`, msgpack otherwise.
    pub fn from_json_or_msgpack(bytes: &[u8]) -> Result<Message, WireError> {
        if bytes.first() != Some(&b'{') {
            return Message::from_msgpack(bytes);
        }
        let v: Json = serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))?;
        Message::from_mp(json_to_mp(&v, &[]))
    }

    pub fn from_msgpack(bytes: &[u8]) -> Result<Message, WireError> {
        Message::from_mp(decode(bytes)?)
    }

    fn from_mp(v: Mp) -> Result<Message, WireError> {
        let Mp::Map(m) = v else {
            return Err(WireError::Shape("message is not a map"));
        };
        let text = |key| {
            get(&m, key)
                .and_then(Mp::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let kind = get(&m, "type")
            .and_then(Mp::as_u64)
            .ok_or(WireError::Shape("message without a numeric type"))?;
        Ok(Message {
            uid: text("uid"),
            nsp: text("nsp"),
            body: data_from_mp(kind, get(&m, "data"))?,
        })
    }
}

fn base64_error(_: base64::DecodeError) -> &'static str {
    "data is neither JSON nor base64"
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::sync::Arc;

    // Captured from socket.io 4.8.1 with @socket.io/redis-streams-adapter 0.3.1 (uid
    // 4bad4314121717cc): `XRANGE socket.io - +` and the pub/sub channel `socket.io#/#`.
    const UID: &str = "4bad4314121717cc";
    const ROOM_BROADCAST: &str =
        r#"{"packet":{"type":2,"data":["x"]},"opts":{"rooms":["r1"],"except":[],"flags":{}}}"#;
    const BINARY_BROADCAST: &str =
        "gqZwYWNrZXSCpHR5cGUCpGRhdGGToWLEAwECA4GhYQGkb3B0c4Olcm9vbXOQpmV4Y2VwdJGicjKlZmxhZ3OA";
    const SOCKETS_JOIN: &str = r#"{"opts":{"rooms":["r1"],"except":[],"flags":{}},"rooms":["r9"]}"#;
    const SERVER_SIDE_EMIT: &str = "84a47479706509a46461746181a67061636b657492a268692aa3756964b034626164343331343132313731376363a36e7370a12f";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn entry(kind: &str, data: &str) -> Message {
        let fields = [("uid", UID), ("nsp", "/"), ("type", kind), ("data", data)];
        Message::from_stream_fields(fields).unwrap().unwrap()
    }

    #[test]
    fn decodes_the_npm_adapters_stream_entries() {
        let m = entry("3", ROOM_BROADCAST);
        assert_eq!((m.uid.as_str(), m.nsp.as_str()), (UID, "/"));
        let Body::Broadcast {
            request_id: None,
            event,
            args,
            opts,
        } = m.body
        else {
            panic!("not a broadcast: {m:?}")
        };
        assert_eq!((event.as_str(), args.json.as_str()), ("x", "[]"));
        assert_eq!(opts.rooms, vec![Arc::from("r1")]);

        let Body::Broadcast {
            event, args, opts, ..
        } = entry("3", BINARY_BROADCAST).body
        else {
            panic!("not a broadcast")
        };
        assert_eq!(event, "b");
        assert_eq!(args.json, r#"[{"_placeholder":true,"num":0},{"a":1}]"#);
        assert_eq!(args.binaries, vec![Bytes::from_static(&[1, 2, 3])]);
        assert_eq!(opts.except, vec![Arc::from("r2")]);

        assert_eq!(
            entry("4", SOCKETS_JOIN).body,
            Body::SocketsJoin {
                opts: BroadcastOptions {
                    rooms: vec![Arc::from("r1")],
                    ..Default::default()
                },
                rooms: vec![Arc::from("r9")],
            }
        );
    }

    #[test]
    fn entries_are_json_unless_binary_then_base64_msgpack() {
        let mut args = Payload::from_json(r#"[{"_placeholder":true,"num":0},{"a":1}]"#);
        args.binaries.push(Bytes::from_static(&[1, 2, 3]));
        let m = Message {
            uid: UID.into(),
            nsp: "/".into(),
            body: Body::Broadcast {
                request_id: None,
                event: "b".into(),
                args,
                opts: BroadcastOptions {
                    except: vec![Arc::from("r2")],
                    ..Default::default()
                },
            },
        };
        let fields = m.to_stream_fields().unwrap();
        let names: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["uid", "nsp", "type", "data"]);
        assert_eq!(fields[2].1, "3");
        assert!(!fields[3].1.starts_with('{'));
        let back = Message::from_stream_fields(fields.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(back.unwrap().unwrap(), m);

        for (kind, captured) in [
            ("3", ROOM_BROADCAST),
            ("3", BINARY_BROADCAST),
            ("4", SOCKETS_JOIN),
        ] {
            let fields = entry(kind, captured).to_stream_fields().unwrap();
            assert_eq!(fields[3].1, captured, "re-encoding the npm adapter's entry");
        }
        let join = entry("4", SOCKETS_JOIN);
        let fields = join.to_stream_fields().unwrap();
        let ours: Json = serde_json::from_str(&fields[3].1).unwrap();
        assert_eq!(ours, serde_json::from_str::<Json>(SOCKETS_JOIN).unwrap());
    }

    #[test]
    fn pub_sub_messages_match_the_npm_adapter_byte_for_byte() {
        let m = Message::from_msgpack(&hex(SERVER_SIDE_EMIT)).unwrap();
        assert_eq!(
            m.body,
            Body::ServerSideEmit {
                request_id: None,
                event: "hi".into(),
                args: Payload::from_json("[42]"),
            }
        );
        assert_eq!(m.to_msgpack().unwrap(), hex(SERVER_SIDE_EMIT));
        assert!(m.body.is_ephemeral());
    }

    #[test]
    fn sharded_messages_are_json_unless_binary() {
        // Captured from socket.io 4.8.1 with createShardedAdapter of @socket.io/redis-adapter
        // 8.3.0 (`SSUBSCRIBE socket.io#/#`): socketsJoin, and a broadcast with binary.
        const JSON_JOIN: &str = r#"{"type":4,"data":{"opts":{"rooms":["r1"],"except":[],"flags":{}},"rooms":["r9"]},"uid":"a909b73305c413b8","nsp":"/"}"#;
        const BINARY: &str = "84a47479706503a46461746182a67061636b657482a47479706502a46461746192a362696ec4020102a46f70747383a5726f6f6d7392a27231a27232a665786365707490a5666c61677380a3756964b061393039623733333035633431336238a36e7370a12f";
        let bin = Message::from_json_or_msgpack(&hex(BINARY)).unwrap();
        let Body::Broadcast { event, args, .. } = &bin.body else {
            panic!("not a broadcast: {bin:?}")
        };
        assert_eq!((event.as_str(), args.binaries.len()), ("bin", 1));
        assert_eq!(bin.to_json_or_msgpack().unwrap(), hex(BINARY));
        let m = Message::from_json_or_msgpack(JSON_JOIN.as_bytes()).unwrap();
        assert_eq!(
            m.body,
            Body::SocketsJoin {
                opts: BroadcastOptions {
                    rooms: vec![Arc::from("r1")],
                    ..Default::default()
                },
                rooms: vec![Arc::from("r9")],
            }
        );
        assert_eq!(m.to_json_or_msgpack().unwrap(), JSON_JOIN.as_bytes());

        let mut args = Payload::from_json(r#"[{"_placeholder":true,"num":0}]"#);
        args.binaries.push(Bytes::from_static(&[1, 2, 3]));
        let ours = Message {
            uid: UID.into(),
            nsp: "/".into(),
            body: Body::Broadcast {
                request_id: None,
                event: "b".into(),
                args,
                opts: BroadcastOptions::default(),
            },
        };
        let bytes = ours.to_json_or_msgpack().unwrap();
        assert_eq!(bytes, ours.to_msgpack().unwrap());
        assert_eq!(Message::from_json_or_msgpack(&bytes).unwrap(), ours);
        assert!(Message::from_json_or_msgpack(b"{nope").is_err());
    }

    #[test]
    fn malformed_entries_are_errors_and_foreign_ones_are_skipped() {
        let no_nsp = Message::from_stream_fields([("uid", "u"), ("type", "3")]).unwrap();
        assert!(no_nsp.is_none());
        for (kind, data) in [("x", "{}"), ("3", "{not json"), ("3", "!!"), ("99", "{}")] {
            let fields = [("nsp", "/"), ("type", kind), ("data", data)];
            assert!(
                Message::from_stream_fields(fields).is_err(),
                "{kind} {data}"
            );
        }
        assert!(Message::from_msgpack(b"\x80").is_err());
    }
}
