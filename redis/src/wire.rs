//! The messages of `@socket.io/redis-adapter` 8 and `@socket.io/redis-emitter` 5: msgpack
//! broadcasts `[uid, packet, opts]`, JSON requests and responses (msgpack for broadcasts with
//! acks), converted to and from roomcast's [`Payload`] (JSON text + binary attachments).
//!
//! Nothing here executes or instantiates anything from a message: msgpack values become JSON
//! values and bytes, and anything malformed is an error the caller logs and drops.

use rmpv::Value as Mp;
use roomcast::adapter::{BroadcastFlags, BroadcastOptions, Room};
use roomcast::Payload;
use serde_json::Value as Json;
use std::sync::Arc;
use std::time::Duration;

/// Deepest msgpack nesting accepted from Redis.
const MAX_DEPTH: usize = 64;

/// Why a message from Redis was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("malformed msgpack: {0}")]
    Msgpack(String),
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("unexpected message shape: {0}")]
    Shape(&'static str),
}

/// Request types between nodes (the adapter's `RequestType`).
pub mod kind {
    pub const SOCKETS: u64 = 0;
    pub const ALL_ROOMS: u64 = 1;
    pub const REMOTE_JOIN: u64 = 2;
    pub const REMOTE_LEAVE: u64 = 3;
    pub const REMOTE_DISCONNECT: u64 = 4;
    pub const REMOTE_FETCH: u64 = 5;
    pub const SERVER_SIDE_EMIT: u64 = 6;
    pub const BROADCAST: u64 = 7;
    pub const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub const BROADCAST_ACK: u64 = 9;
}

pub use roomcast::msgpack::{json_to_mp, mp_to_json};

/// `[event, ...args]` as msgpack values.
pub(crate) fn event_data(event: &str, args: &Payload) -> Result<Vec<Mp>, WireError> {
    let values: Vec<Json> =
        serde_json::from_str(&args.json).map_err(|e| WireError::Json(e.to_string()))?;
    let mut data = Vec::with_capacity(values.len() + 1);
    data.push(Mp::from(event));
    data.extend(values.iter().map(|v| json_to_mp(v, &args.binaries)));
    Ok(data)
}

/// Splits `[event, ...args]` (msgpack) into the event and a payload.
pub(crate) fn split_data(items: &[Mp]) -> Result<(String, Payload), WireError> {
    let (first, rest) = items
        .split_first()
        .ok_or(WireError::Shape("empty event data"))?;
    let event = match first {
        Mp::String(s) => s
            .as_str()
            .ok_or(WireError::Shape("event name is not UTF-8"))?
            .to_string(),
        Mp::Integer(i) => i.to_string(),
        _ => return Err(WireError::Shape("event name is not a string")),
    };
    let mut binaries = Vec::new();
    let args: Vec<Json> = rest.iter().map(|v| mp_to_json(v, &mut binaries)).collect();
    let json = serde_json::to_string(&args).map_err(|e| WireError::Json(e.to_string()))?;
    Ok((event, Payload::with_binaries(json, binaries)))
}

pub(crate) fn get<'a>(map: &'a [(Mp, Mp)], key: &str) -> Option<&'a Mp> {
    map.iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

pub(crate) fn rooms_from_mp(v: Option<&Mp>) -> Vec<Room> {
    match v {
        Some(Mp::Array(items)) => items
            .iter()
            .filter_map(|r| match r {
                Mp::String(s) => s.as_str().map(Arc::from),
                Mp::Integer(i) => Some(Arc::from(i.to_string().as_str())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn rooms_to_mp(rooms: &[Room]) -> Mp {
    Mp::Array(rooms.iter().map(|r| Mp::from(&**r)).collect())
}

fn flags_to_mp(flags: &BroadcastFlags) -> Mp {
    let mut m = Vec::new();
    if flags.volatile {
        m.push((Mp::from("volatile"), Mp::Boolean(true)));
    }
    if let Some(compress) = flags.compress {
        m.push((Mp::from("compress"), Mp::Boolean(compress)));
    }
    if flags.local {
        m.push((Mp::from("local"), Mp::Boolean(true)));
    }
    if let Some(t) = flags.timeout {
        m.push((Mp::from("timeout"), Mp::from(t.as_millis() as u64)));
    }
    Mp::Map(m)
}

fn flags_from_mp(v: Option<&Mp>) -> BroadcastFlags {
    let Some(Mp::Map(m)) = v else {
        return BroadcastFlags::default();
    };
    BroadcastFlags {
        volatile: get(m, "volatile").and_then(Mp::as_bool).unwrap_or(false),
        compress: get(m, "compress").and_then(Mp::as_bool),
        local: get(m, "local").and_then(Mp::as_bool).unwrap_or(false),
        timeout: get(m, "timeout")
            .and_then(|t| t.as_u64().or_else(|| t.as_f64().map(|f| f as u64)))
            .map(Duration::from_millis),
    }
}

pub(crate) fn opts_to_mp(opts: &BroadcastOptions) -> Mp {
    Mp::Map(vec![
        (Mp::from("rooms"), rooms_to_mp(&opts.rooms)),
        (Mp::from("except"), rooms_to_mp(&opts.except)),
        (Mp::from("flags"), flags_to_mp(&opts.flags)),
    ])
}

pub(crate) fn opts_from_mp(v: Option<&Mp>) -> BroadcastOptions {
    let Some(Mp::Map(m)) = v else {
        return BroadcastOptions::default();
    };
    BroadcastOptions {
        rooms: rooms_from_mp(get(m, "rooms")),
        except: rooms_from_mp(get(m, "except")),
        flags: flags_from_mp(get(m, "flags")),
    }
}

pub(crate) fn packet_to_mp(nsp: &str, event: &str, args: &Payload) -> Result<Mp, WireError> {
    Ok(Mp::Map(vec![
        (Mp::from("type"), Mp::from(2)),
        (Mp::from("data"), Mp::Array(event_data(event, args)?)),
        (Mp::from("nsp"), Mp::from(nsp)),
    ]))
}

pub(crate) fn packet_from_mp(v: Option<&Mp>) -> Result<(String, String, Payload), WireError> {
    let Some(Mp::Map(m)) = v else {
        return Err(WireError::Shape("packet is not a map"));
    };
    // Legacy emitters send type 5 when arguments contain binary: the same event.
    match get(m, "type").and_then(Mp::as_u64) {
        Some(2) | Some(5) => {}
        _ => return Err(WireError::Shape("packet is not an event")),
    }
    let nsp = match get(m, "nsp") {
        Some(Mp::String(s)) => s.as_str().unwrap_or("/").to_string(),
        _ => "/".to_string(),
    };
    let Some(Mp::Array(data)) = get(m, "data") else {
        return Err(WireError::Shape("packet has no data"));
    };
    let (event, args) = split_data(data)?;
    Ok((nsp, event, args))
}

pub(crate) fn encode(v: &Mp) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, v);
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Mp, WireError> {
    let mut rd = bytes;
    rmpv::decode::read_value_with_max_depth(&mut rd, MAX_DEPTH)
        .map_err(|e| WireError::Msgpack(e.to_string()))
}

// ---- broadcasts ----

/// A broadcast from another node (or an emitter).
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    pub uid: String,
    pub nsp: String,
    pub event: String,
    pub args: Payload,
    pub opts: BroadcastOptions,
}

/// `[uid, {type: 2, data, nsp}, {rooms, except, flags}]`.
pub fn encode_broadcast(
    uid: &str,
    nsp: &str,
    event: &str,
    args: &Payload,
    opts: &BroadcastOptions,
) -> Result<Vec<u8>, WireError> {
    Ok(encode(&Mp::Array(vec![
        Mp::from(uid),
        packet_to_mp(nsp, event, args)?,
        opts_to_mp(opts),
    ])))
}

pub fn decode_broadcast(bytes: &[u8]) -> Result<Broadcast, WireError> {
    let Mp::Array(items) = decode(bytes)? else {
        return Err(WireError::Shape("broadcast is not an array"));
    };
    let uid = match items.first() {
        Some(Mp::String(s)) => s.as_str().unwrap_or_default().to_string(),
        _ => String::new(),
    };
    let (nsp, event, args) = packet_from_mp(items.get(1))?;
    Ok(Broadcast {
        uid,
        nsp,
        event,
        args,
        opts: opts_from_mp(items.get(2)),
    })
}

/// The channel a broadcast goes to: the namespace's, or the room's when there is one room.
pub fn broadcast_channel(prefix: &str, nsp: &str, rooms: &[Room]) -> String {
    match rooms {
        [room] => format!("{prefix}#{nsp}#{room}#"),
        _ => format!("{prefix}#{nsp}#"),
    }
}

// ---- requests ----

/// A request from another node, an emitter, or ourselves.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Sockets {
        uid: Option<String>,
        request_id: String,
        rooms: Vec<Room>,
    },
    AllRooms {
        uid: Option<String>,
        request_id: String,
    },
    RemoteJoin {
        uid: Option<String>,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    },
    RemoteLeave {
        uid: Option<String>,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    },
    RemoteDisconnect {
        uid: Option<String>,
        opts: BroadcastOptions,
        close: bool,
    },
    RemoteFetch {
        uid: Option<String>,
        request_id: String,
        opts: BroadcastOptions,
    },
    ServerSideEmit {
        uid: Option<String>,
        request_id: Option<String>,
        event: String,
        args: Payload,
    },
    Broadcast {
        uid: Option<String>,
        request_id: String,
        nsp: String,
        event: String,
        args: Payload,
        opts: BroadcastOptions,
    },
}

fn json_rooms(v: Option<&Json>) -> Vec<Room> {
    match v {
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|r| match r {
                Json::String(s) => Some(Arc::from(s.as_str())),
                Json::Number(n) => Some(Arc::from(n.to_string().as_str())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn json_opts(v: Option<&Json>) -> BroadcastOptions {
    BroadcastOptions {
        rooms: json_rooms(v.and_then(|o| o.get("rooms"))),
        except: json_rooms(v.and_then(|o| o.get("except"))),
        flags: BroadcastFlags::default(),
    }
}

fn json_str(v: &Json, key: &str) -> Option<String> {
    v.get(key).and_then(Json::as_str).map(str::to_string)
}

/// Decodes a request: JSON when it starts with `{`, msgpack otherwise (broadcast with acks).
pub fn decode_request(bytes: &[u8]) -> Result<Request, WireError> {
    if bytes.first() == Some(&b'{') {
        let v: Json = serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))?;
        let uid = json_str(&v, "uid");
        let request_id = json_str(&v, "requestId");
        let need_id = || {
            request_id
                .clone()
                .ok_or(WireError::Shape("request without requestId"))
        };
        return Ok(match v.get("type").and_then(Json::as_u64) {
            Some(kind::SOCKETS) => Request::Sockets {
                uid,
                request_id: need_id()?,
                rooms: json_rooms(v.get("rooms")),
            },
            Some(kind::ALL_ROOMS) => Request::AllRooms {
                uid,
                request_id: need_id()?,
            },
            Some(kind::REMOTE_JOIN) => Request::RemoteJoin {
                uid,
                opts: json_opts(v.get("opts")),
                rooms: json_rooms(v.get("rooms")),
            },
            Some(kind::REMOTE_LEAVE) => Request::RemoteLeave {
                uid,
                opts: json_opts(v.get("opts")),
                rooms: json_rooms(v.get("rooms")),
            },
            Some(kind::REMOTE_DISCONNECT) => Request::RemoteDisconnect {
                uid,
                opts: json_opts(v.get("opts")),
                close: v.get("close").and_then(Json::as_bool).unwrap_or(false),
            },
            Some(kind::REMOTE_FETCH) => Request::RemoteFetch {
                uid,
                request_id: need_id()?,
                opts: json_opts(v.get("opts")),
            },
            Some(kind::SERVER_SIDE_EMIT) => {
                let Some(Json::Array(data)) = v.get("data") else {
                    return Err(WireError::Shape("serverSideEmit without data"));
                };
                let (first, rest) = data
                    .split_first()
                    .ok_or(WireError::Shape("serverSideEmit without event"))?;
                let event = first
                    .as_str()
                    .ok_or(WireError::Shape("serverSideEmit event is not a string"))?
                    .to_string();
                let args =
                    serde_json::to_string(rest).map_err(|e| WireError::Json(e.to_string()))?;
                Request::ServerSideEmit {
                    uid,
                    request_id,
                    event,
                    args: Payload::from_json(args),
                }
            }
            _ => return Err(WireError::Shape("unknown request type")),
        });
    }
    let Mp::Map(m) = decode(bytes)? else {
        return Err(WireError::Shape("request is not a map"));
    };
    if get(&m, "type").and_then(Mp::as_u64) != Some(kind::BROADCAST) {
        return Err(WireError::Shape("unknown msgpack request type"));
    }
    let uid = get(&m, "uid").and_then(Mp::as_str).map(str::to_string);
    let request_id = get(&m, "requestId")
        .and_then(Mp::as_str)
        .ok_or(WireError::Shape("request without requestId"))?
        .to_string();
    let (nsp, event, args) = packet_from_mp(get(&m, "packet"))?;
    Ok(Request::Broadcast {
        uid,
        request_id,
        nsp,
        event,
        args,
        opts: opts_from_mp(get(&m, "opts")),
    })
}

fn json_room_list(rooms: &[Room]) -> Json {
    Json::Array(rooms.iter().map(|r| Json::String(r.to_string())).collect())
}

fn json_opts_value(opts: &BroadcastOptions) -> Json {
    serde_json::json!({"rooms": json_room_list(&opts.rooms), "except": json_room_list(&opts.except)})
}

/// Encodes a request the way the Node adapter does (JSON, msgpack for broadcasts with acks).
pub fn encode_request(req: &Request) -> Result<Vec<u8>, WireError> {
    fn with_uid(mut v: Json, uid: &Option<String>) -> Json {
        if let (Some(uid), Json::Object(m)) = (uid, &mut v) {
            m.insert("uid".into(), Json::String(uid.clone()));
        }
        v
    }
    let v = match req {
        Request::Sockets {
            uid,
            request_id,
            rooms,
        } => with_uid(
            serde_json::json!({"requestId": request_id, "type": kind::SOCKETS, "rooms": json_room_list(rooms)}),
            uid,
        ),
        Request::AllRooms { uid, request_id } => with_uid(
            serde_json::json!({"requestId": request_id, "type": kind::ALL_ROOMS}),
            uid,
        ),
        Request::RemoteJoin { uid, opts, rooms } => with_uid(
            serde_json::json!({"type": kind::REMOTE_JOIN, "opts": json_opts_value(opts), "rooms": json_room_list(rooms)}),
            uid,
        ),
        Request::RemoteLeave { uid, opts, rooms } => with_uid(
            serde_json::json!({"type": kind::REMOTE_LEAVE, "opts": json_opts_value(opts), "rooms": json_room_list(rooms)}),
            uid,
        ),
        Request::RemoteDisconnect { uid, opts, close } => with_uid(
            serde_json::json!({"type": kind::REMOTE_DISCONNECT, "opts": json_opts_value(opts), "close": close}),
            uid,
        ),
        Request::RemoteFetch {
            uid,
            request_id,
            opts,
        } => with_uid(
            serde_json::json!({"requestId": request_id, "type": kind::REMOTE_FETCH, "opts": json_opts_value(opts)}),
            uid,
        ),
        Request::ServerSideEmit {
            uid,
            request_id,
            event,
            args,
        } => {
            let mut data: Vec<Json> =
                serde_json::from_str(&args.json).map_err(|e| WireError::Json(e.to_string()))?;
            data.insert(0, Json::String(event.clone()));
            let mut v = serde_json::json!({"type": kind::SERVER_SIDE_EMIT, "data": data});
            if let (Some(id), Json::Object(m)) = (request_id, &mut v) {
                m.insert("requestId".into(), Json::String(id.clone()));
            }
            with_uid(v, uid)
        }
        Request::Broadcast {
            uid,
            request_id,
            nsp,
            event,
            args,
            opts,
        } => {
            let mut m = Vec::new();
            if let Some(uid) = uid {
                m.push((Mp::from("uid"), Mp::from(uid.as_str())));
            }
            m.push((Mp::from("requestId"), Mp::from(request_id.as_str())));
            m.push((Mp::from("type"), Mp::from(kind::BROADCAST)));
            m.push((Mp::from("packet"), packet_to_mp(nsp, event, args)?));
            m.push((Mp::from("opts"), opts_to_mp(opts)));
            return Ok(encode(&Mp::Map(m)));
        }
    };
    Ok(v.to_string().into_bytes())
}

// ---- responses ----

/// A response on the response channel.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// `{requestId, sockets: [...]}` (ids for type 0, socket objects for type 5).
    Sockets {
        request_id: String,
        sockets: Vec<Json>,
    },
    Rooms {
        request_id: String,
        rooms: Vec<Room>,
    },
    ServerSideAck {
        request_id: String,
        data: Payload,
    },
    ClientCount {
        request_id: String,
        count: u64,
    },
    /// One client's answer to a broadcast with acks (its first ack argument).
    Ack {
        request_id: String,
        arg: Payload,
    },
    /// A bare `{requestId}` (answers to legacy single-socket requests).
    Done {
        request_id: String,
    },
}

pub fn decode_response(bytes: &[u8]) -> Result<Response, WireError> {
    if bytes.first() == Some(&b'{') {
        let v: Json = serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))?;
        let request_id =
            json_str(&v, "requestId").ok_or(WireError::Shape("response without requestId"))?;
        if v.get("type").and_then(Json::as_u64) == Some(kind::BROADCAST_CLIENT_COUNT) {
            let count = v.get("clientCount").and_then(Json::as_u64).unwrap_or(0);
            return Ok(Response::ClientCount { request_id, count });
        }
        if v.get("type").and_then(Json::as_u64) == Some(kind::SERVER_SIDE_EMIT) {
            let data = v.get("data").cloned().unwrap_or(Json::Null);
            return Ok(Response::ServerSideAck {
                request_id,
                data: Payload::from_json(format!("[{data}]")),
            });
        }
        if let Some(Json::Array(sockets)) = v.get("sockets") {
            return Ok(Response::Sockets {
                request_id,
                sockets: sockets.clone(),
            });
        }
        if v.get("rooms").is_some() {
            return Ok(Response::Rooms {
                request_id,
                rooms: json_rooms(v.get("rooms")),
            });
        }
        return Ok(Response::Done { request_id });
    }
    let Mp::Map(m) = decode(bytes)? else {
        return Err(WireError::Shape("response is not a map"));
    };
    let request_id = get(&m, "requestId")
        .and_then(Mp::as_str)
        .ok_or(WireError::Shape("response without requestId"))?
        .to_string();
    if get(&m, "type").and_then(Mp::as_u64) != Some(kind::BROADCAST_ACK) {
        return Err(WireError::Shape("unknown msgpack response type"));
    }
    let mut binaries = Vec::new();
    let arg = get(&m, "packet").map_or(Json::Null, |p| mp_to_json(p, &mut binaries));
    Ok(Response::Ack {
        request_id,
        arg: Payload::with_binaries(format!("[{arg}]"), binaries),
    })
}

pub fn encode_sockets_response(request_id: &str, sockets: Vec<Json>) -> Vec<u8> {
    serde_json::json!({"requestId": request_id, "sockets": sockets})
        .to_string()
        .into_bytes()
}

pub fn encode_rooms_response(request_id: &str, rooms: &[Room]) -> Vec<u8> {
    serde_json::json!({"requestId": request_id, "rooms": json_room_list(rooms)})
        .to_string()
        .into_bytes()
}

pub fn encode_client_count(request_id: &str, count: usize) -> Vec<u8> {
    serde_json::json!({"type": kind::BROADCAST_CLIENT_COUNT, "requestId": request_id, "clientCount": count})
        .to_string()
        .into_bytes()
}

/// One client's ack to a broadcast with acks: its first argument, msgpack.
pub fn encode_ack_response(request_id: &str, args: &Payload) -> Vec<u8> {
    let values: Vec<Json> = serde_json::from_str(&args.json).unwrap_or_default();
    let first = values
        .first()
        .map_or(Mp::Nil, |v| json_to_mp(v, &args.binaries));
    encode(&Mp::Map(vec![
        (Mp::from("type"), Mp::from(kind::BROADCAST_ACK)),
        (Mp::from("requestId"), Mp::from(request_id)),
        (Mp::from("packet"), first),
    ]))
}

pub fn encode_server_side_ack(request_id: &str, args: &Payload) -> Vec<u8> {
    let values: Vec<Json> = serde_json::from_str(&args.json).unwrap_or_default();
    let first = values.into_iter().next().unwrap_or(Json::Null);
    serde_json::json!({"type": kind::SERVER_SIDE_EMIT, "requestId": request_id, "data": first})
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const NODE_BROADCAST: &str = "93a63049416e4f3283a47479706502a46461746191a178a36e7370a12f83a5726f6f6d7391a27231a665786365707490a5666c61677380";
    const EMITTER_BROADCAST: &str = "93a7656d697474657283a47479706502a46461746191a26532a36e7370a12f83a5726f6f6d7391a27231a5666c61677380a665786365707491a27232";

    #[test]
    fn decodes_a_node_broadcast() {
        let b = decode_broadcast(&hex(NODE_BROADCAST)).unwrap();
        assert_eq!(b.uid, "0IAnO2");
        assert_eq!(
            (b.nsp.as_str(), b.event.as_str(), b.args.json.as_str()),
            ("/", "x", "[]")
        );
        assert_eq!(b.opts.rooms, vec![Arc::from("r1")]);
        assert!(b.opts.except.is_empty());
    }

    #[test]
    fn encodes_byte_for_byte_like_node() {
        let opts = BroadcastOptions {
            rooms: vec![Arc::from("r1")],
            ..Default::default()
        };
        let bytes = encode_broadcast("0IAnO2", "/", "x", &Payload::empty(), &opts).unwrap();
        assert_eq!(bytes, hex(NODE_BROADCAST));
        assert_eq!(
            broadcast_channel("socket.io", "/", &opts.rooms),
            "socket.io#/#r1#"
        );
    }

    #[test]
    fn decodes_the_emitter_with_except_before_flags() {
        let b = decode_broadcast(&hex(EMITTER_BROADCAST)).unwrap();
        assert_eq!(b.uid, "emitter");
        assert_eq!(b.event, "e2");
        assert_eq!(b.opts.except, vec![Arc::from("r2")]);
    }

    #[test]
    fn binary_round_trips_as_msgpack_bin() {
        let mut args = Payload::from_json("[{\"a\":1}]");
        args.push_binary(vec![1u8, 2, 3]);
        let bytes =
            encode_broadcast("u", "/chat", "b", &args, &BroadcastOptions::default()).unwrap();
        let b = decode_broadcast(&bytes).unwrap();
        assert_eq!(b.nsp, "/chat");
        assert_eq!(b.args.json, "[{\"a\":1},{\"_placeholder\":true,\"num\":0}]");
        assert_eq!(b.args.binaries, vec![Bytes::from_static(&[1, 2, 3])]);
    }

    #[test]
    fn decodes_the_captured_ack_response() {
        let r = decode_response(&hex(
            "83a47479706509a9726571756573744964a66d426653766da67061636b6574a56f6b2d6332",
        ))
        .unwrap();
        assert_eq!(
            r,
            Response::Ack {
                request_id: "mBfSvm".into(),
                arg: Payload::from_json("[\"ok-c2\"]")
            }
        );
    }

    #[test]
    fn decodes_json_requests_with_and_without_uid() {
        let r = decode_request(
            br#"{"uid":"0IAnO2","type":2,"opts":{"rooms":["r1"],"except":[]},"rooms":["r9"]}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Request::RemoteJoin {
                uid: Some("0IAnO2".into()),
                opts: BroadcastOptions {
                    rooms: vec![Arc::from("r1")],
                    ..Default::default()
                },
                rooms: vec![Arc::from("r9")],
            }
        );
        let r =
            decode_request(br#"{"type":4,"opts":{"rooms":[],"except":[]},"close":true}"#).unwrap();
        assert!(matches!(
            r,
            Request::RemoteDisconnect {
                uid: None,
                close: true,
                ..
            }
        ));
        let r = decode_request(br#"{"uid":"0IAnO2","type":6,"data":["hi",42]}"#).unwrap();
        assert_eq!(
            r,
            Request::ServerSideEmit {
                uid: Some("0IAnO2".into()),
                request_id: None,
                event: "hi".into(),
                args: Payload::from_json("[42]")
            }
        );
    }

    #[test]
    fn broadcast_with_ack_request_round_trips() {
        let opts = BroadcastOptions {
            flags: BroadcastFlags {
                timeout: Some(Duration::from_millis(500)),
                ..Default::default()
            },
            ..Default::default()
        };
        let req = Request::Broadcast {
            uid: Some("abc".into()),
            request_id: "r1".into(),
            nsp: "/".into(),
            event: "q".into(),
            args: Payload::from_json("[1]"),
            opts,
        };
        assert_eq!(decode_request(&encode_request(&req).unwrap()).unwrap(), req);
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert!(decode_broadcast(b"\xc1").is_err());
        assert!(decode_broadcast(&hex("93a1619100")).is_err());
        assert!(decode_request(b"{not json").is_err());
        assert!(decode_request(br#"{"type":99}"#).is_err());
        assert!(decode_response(b"\x80").is_err());
    }
}
