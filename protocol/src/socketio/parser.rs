//! The two Socket.IO parsers a server can speak: the default text one (with binary
//! attachments as separate frames) and `socket.io-msgpack-parser`'s, where every packet is a
//! single msgpack-encoded binary message `{type, data, nsp, id}`.
//!
//! Every packet the server sends is built here, so a broadcast is still encoded once, in
//! whichever format the server uses.

use super::packet::{self, PacketKind};
use crate::engineio::Frame;
use crate::msgpack::{json_to_mp, mp_to_json};
use crate::payload::Payload;
use bytes::Bytes;
use rmpv::Value as Mp;

/// Which Socket.IO parser the server's clients use (socket.io's `parser` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Parser {
    #[default]
    Default,
    /// `socket.io-msgpack-parser`.
    MsgPack,
}

fn mp_packet(kind: PacketKind, nsp: &str, id: Option<u64>, data: Option<Mp>) -> Frame {
    let mut map = vec![(Mp::from("type"), Mp::from(kind as u8))];
    if let Some(d) = data {
        map.push((Mp::from("data"), d));
    }
    map.push((Mp::from("nsp"), Mp::from(nsp)));
    if let Some(id) = id {
        map.push((Mp::from("id"), Mp::from(id)));
    }
    let mut out = Vec::with_capacity(32);
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &Mp::Map(map));
    Frame::Binary(Bytes::from(out))
}

fn json_array_to_mp(json: &str, binaries: &[Bytes], prepend: Option<&str>) -> Mp {
    let values: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    let mut items = Vec::with_capacity(values.len() + 1);
    if let Some(first) = prepend {
        items.push(Mp::from(first));
    }
    items.extend(values.iter().map(|v| json_to_mp(v, binaries)));
    Mp::Array(items)
}

impl Parser {
    /// An event packet and its attachments.
    pub fn event(self, nsp: &str, ack_id: Option<u64>, event: &str, args: &Payload) -> Vec<Frame> {
        match self {
            Parser::Default => {
                let text =
                    packet::encode_event(nsp, ack_id, event, &args.json, args.binaries.len());
                let mut frames = Vec::with_capacity(1 + args.binaries.len());
                frames.push(Frame::text(text));
                frames.extend(args.binaries.iter().cloned().map(Frame::Binary));
                frames
            }
            Parser::MsgPack => {
                vec![mp_packet(
                    PacketKind::Event,
                    nsp,
                    ack_id,
                    Some(json_array_to_mp(&args.json, &args.binaries, Some(event))),
                )]
            }
        }
    }

    /// An acknowledgement and its attachments.
    pub fn ack(self, nsp: &str, id: u64, args: &Payload) -> Vec<Frame> {
        match self {
            Parser::Default => {
                let text = packet::encode_ack(nsp, id, &args.json, args.binaries.len());
                let mut frames = Vec::with_capacity(1 + args.binaries.len());
                frames.push(Frame::text(text));
                frames.extend(args.binaries.iter().cloned().map(Frame::Binary));
                frames
            }
            Parser::MsgPack => {
                vec![mp_packet(
                    PacketKind::Ack,
                    nsp,
                    Some(id),
                    Some(json_array_to_mp(&args.json, &args.binaries, None)),
                )]
            }
        }
    }

    /// CONNECT, DISCONNECT or CONNECT_ERROR with an optional JSON payload.
    pub fn control(self, kind: PacketKind, nsp: &str, data: Option<&str>) -> Frame {
        match self {
            Parser::Default => Frame::text(packet::encode_control(kind, nsp, data)),
            Parser::MsgPack => {
                let data = data
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                    .map(|v| json_to_mp(&v, &[]));
                mp_packet(kind, nsp, None, data)
            }
        }
    }
}

/// A msgpack packet decoded into the default parser's shapes: the JSON payload as text with
/// binary values as placeholders, and the binaries.
pub struct DecodedMsgPack {
    pub kind: PacketKind,
    pub nsp: String,
    pub id: Option<u64>,
    pub data: Option<String>,
    pub binaries: Vec<Bytes>,
}

/// Decodes one msgpack packet, checking its shape as `socket.io-msgpack-parser` does.
pub fn decode_msgpack(bytes: &[u8]) -> Result<DecodedMsgPack, packet::ParseError> {
    let mut rd = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut rd, 64)
        .map_err(|_| packet::ParseError::InvalidPayload)?;
    let Mp::Map(map) = value else {
        return Err(packet::ParseError::InvalidPayload);
    };
    let get = |k: &str| {
        map.iter()
            .find(|(key, _)| key.as_str() == Some(k))
            .map(|(_, v)| v)
    };
    let kind = match get("type").and_then(Mp::as_u64) {
        Some(0) => PacketKind::Connect,
        Some(1) => PacketKind::Disconnect,
        Some(2) | Some(5) => PacketKind::Event,
        Some(3) | Some(6) => PacketKind::Ack,
        Some(4) => PacketKind::ConnectError,
        _ => return Err(packet::ParseError::UnknownType),
    };
    let nsp = match get("nsp") {
        Some(Mp::String(s)) => s
            .as_str()
            .ok_or(packet::ParseError::BadNamespace)?
            .to_string(),
        None => "/".to_string(),
        _ => return Err(packet::ParseError::BadNamespace),
    };
    let id = match get("id") {
        None | Some(Mp::Nil) => None,
        Some(v) => Some(v.as_u64().ok_or(packet::ParseError::BadAckId)?),
    };
    let mut binaries = Vec::new();
    let data = match get("data") {
        // notepack encodes `undefined` as the extension type 0.
        None | Some(Mp::Nil) | Some(Mp::Ext(0, _)) => None,
        Some(v) => Some(mp_to_json(v, &mut binaries).to_string()),
    };
    Ok(DecodedMsgPack {
        kind,
        nsp,
        id,
        data,
        binaries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgpack_event_round_trips_with_binary() {
        let mut args = Payload::from_json("[1,{\"a\":\"b\"}]");
        args.push_binary(vec![7u8, 8]);
        let frames = Parser::MsgPack.event("/chat", Some(3), "ev", &args);
        assert_eq!(frames.len(), 1);
        let Frame::Binary(bytes) = &frames[0] else {
            panic!("msgpack packets are binary")
        };
        let d = decode_msgpack(bytes).unwrap();
        assert_eq!(
            (d.kind, d.nsp.as_str(), d.id),
            (PacketKind::Event, "/chat", Some(3))
        );
        assert_eq!(
            d.data.as_deref(),
            Some("[\"ev\",1,{\"a\":\"b\"},{\"_placeholder\":true,\"num\":0}]")
        );
        assert_eq!(d.binaries, vec![Bytes::from_static(&[7, 8])]);
    }

    #[test]
    fn msgpack_connect_reply() {
        let f = Parser::MsgPack.control(PacketKind::Connect, "/", Some("{\"sid\":\"x\"}"));
        let Frame::Binary(bytes) = f else {
            panic!("binary")
        };
        let d = decode_msgpack(&bytes).unwrap();
        assert_eq!(d.kind, PacketKind::Connect);
        assert_eq!(d.data.as_deref(), Some("{\"sid\":\"x\"}"));
    }

    #[test]
    fn undefined_data_is_absent() {
        // {type: 0, nsp: "/", data: undefined} as socket.io-msgpack-parser sends CONNECT.
        let bytes = [
            0x83, 0xa4, b't', b'y', b'p', b'e', 0x00, 0xa3, b'n', b's', b'p', 0xa1, b'/', 0xa4,
            b'd', b'a', b't', b'a', 0xd4, 0x00, 0x00,
        ];
        let d = decode_msgpack(&bytes).unwrap();
        assert_eq!((d.kind, d.data), (PacketKind::Connect, None));
    }

    #[test]
    fn malformed_msgpack_is_refused() {
        assert!(decode_msgpack(&[0xc1]).is_err());
        assert!(decode_msgpack(&[0x81, 0xa4, b't', b'y', b'p', b'e', 0x09]).is_err());
    }

    #[test]
    fn default_parser_matches_the_text_codec() {
        let frames = Parser::Default.event("/", None, "hi", &Payload::from_json("[\"x\"]"));
        assert_eq!(frames, vec![Frame::text("42[\"hi\",\"x\"]")]);
    }
}
