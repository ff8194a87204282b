//! Socket.IO v5 packets: `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]`.
//!
//! Decoding validates the structure the way the reference parser does (payload shapes per
//! type, reserved event names, attachment count) but keeps the JSON as text: event arguments
//! travel to the host as the original array text, never as a parsed tree.

use serde_json::value::RawValue;
use std::fmt::Write as _;

/// Socket.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Connect = 0,
    Disconnect = 1,
    Event = 2,
    Ack = 3,
    ConnectError = 4,
    BinaryEvent = 5,
    BinaryAck = 6,
}

impl PacketKind {
    fn from_digit(c: u8) -> Option<PacketKind> {
        Some(match c {
            b'0' => PacketKind::Connect,
            b'1' => PacketKind::Disconnect,
            b'2' => PacketKind::Event,
            b'3' => PacketKind::Ack,
            b'4' => PacketKind::ConnectError,
            b'5' => PacketKind::BinaryEvent,
            b'6' => PacketKind::BinaryAck,
            _ => return None,
        })
    }

    pub fn digit(self) -> char {
        (b'0' + self as u8) as char
    }
}

/// Event names a client may not send and a server may not emit (they are lifecycle events).
pub const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The reference parser's default bound on binary attachments per packet.
pub const MAX_ATTACHMENTS: usize = 10;

/// A decoded packet that borrows its namespace and JSON text from the received string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub kind: PacketKind,
    pub nsp: &'a str,
    pub id: Option<u64>,
    pub attachments: usize,
    /// The JSON payload as received (already checked to have the right shape for `kind`).
    pub data: Option<&'a str>,
}

/// Why a Socket.IO packet was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty Socket.IO packet")]
    Empty,
    #[error("unknown Socket.IO packet type")]
    UnknownType,
    #[error("Illegal attachments (a count that is not a number, or a binary packet without attachments)")]
    BadAttachments,
    #[error("too many binary attachments (at most {MAX_ATTACHMENTS})")]
    TooManyAttachments,
    #[error("namespace is not terminated by a comma")]
    BadNamespace,
    #[error("ack id is out of range")]
    BadAckId,
    #[error("payload is not valid JSON")]
    InvalidJson,
    #[error("invalid payload for this packet type")]
    InvalidPayload,
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
}

/// Decodes the text of a Socket.IO packet (the Engine.IO message without its `4`).
pub fn decode(s: &str) -> Result<Packet<'_>, ParseError> {
    let bytes = s.as_bytes();
    let kind = PacketKind::from_digit(*bytes.first().ok_or(ParseError::Empty)?)
        .ok_or(ParseError::UnknownType)?;
    let mut i = 1;

    let mut attachments = 0usize;
    if matches!(kind, PacketKind::BinaryEvent | PacketKind::BinaryAck) {
        let start = i;
        while i < bytes.len() && bytes[i] != b'-' {
            if !bytes[i].is_ascii_digit() {
                return Err(ParseError::BadAttachments);
            }
            i += 1;
        }
        if i >= bytes.len() || i == start || i - start > 6 {
            return Err(ParseError::BadAttachments);
        }
        attachments = s[start..i]
            .parse()
            .map_err(|_| ParseError::BadAttachments)?;
        // A binary packet without attachments is refused by the reference server too.
        if attachments == 0 {
            return Err(ParseError::BadAttachments);
        }
        if attachments > MAX_ATTACHMENTS {
            return Err(ParseError::TooManyAttachments);
        }
        i += 1; // '-'
    }

    let mut nsp = "/";
    if bytes.get(i) == Some(&b'/') {
        let start = i;
        let end = s[i..].find(',').map(|p| i + p);
        match end {
            Some(end) => {
                nsp = &s[start..end];
                i = end + 1;
            }
            // A namespace-only packet ("1/chat") has no comma and nothing after it.
            None => {
                nsp = &s[start..];
                i = bytes.len();
            }
        }
    }

    let mut id = None;
    let id_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i > id_start {
        id = Some(
            s[id_start..i]
                .parse::<u64>()
                .map_err(|_| ParseError::BadAckId)?,
        );
    }

    let data = if i < bytes.len() { Some(&s[i..]) } else { None };
    let packet = Packet {
        kind,
        nsp,
        id,
        attachments,
        data,
    };
    validate(&packet)?;
    Ok(packet)
}

/// Checks a packet's payload shape for its type, as the reference parser does.
pub fn validate(p: &Packet<'_>) -> Result<(), ParseError> {
    match p.kind {
        PacketKind::Connect => match p.data {
            None => Ok(()),
            Some(d) => {
                if is_json_object(d)? {
                    Ok(())
                } else {
                    Err(ParseError::InvalidPayload)
                }
            }
        },
        PacketKind::Disconnect => match p.data {
            None => Ok(()),
            Some(_) => Err(ParseError::InvalidPayload),
        },
        PacketKind::ConnectError => Err(ParseError::InvalidPayload),
        PacketKind::Event | PacketKind::BinaryEvent => {
            let d = p.data.ok_or(ParseError::InvalidPayload)?;
            let name = event_name(d)?;
            if RESERVED_EVENTS.contains(&name.as_str()) {
                return Err(ParseError::ReservedEvent(name));
            }
            Ok(())
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            let d = p.data.ok_or(ParseError::InvalidPayload)?;
            if p.id.is_none() {
                return Err(ParseError::InvalidPayload);
            }
            serde_json::from_str::<Vec<&RawValue>>(d).map_err(|_| ParseError::InvalidPayload)?;
            Ok(())
        }
    }
}

fn is_json_object(d: &str) -> Result<bool, ParseError> {
    let v: &RawValue = serde_json::from_str(d).map_err(|_| ParseError::InvalidJson)?;
    Ok(v.get().trim_start().starts_with('{'))
}

fn event_name(data: &str) -> Result<String, ParseError> {
    let items: Vec<&RawValue> =
        serde_json::from_str(data).map_err(|_| ParseError::InvalidPayload)?;
    let first = items.first().ok_or(ParseError::InvalidPayload)?;
    let text = first.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).map_err(|_| ParseError::InvalidPayload)
    } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        // The reference parser accepts numeric event names; they reach handlers as strings.
        Ok(text.to_string())
    } else {
        Err(ParseError::InvalidPayload)
    }
}

/// Splits a validated event array `["name", a, b]` into the name and the argument array
/// text `[a, b]`, reusing the received text for the arguments.
pub fn split_event(data: &str) -> Result<(String, String), ParseError> {
    let items: Vec<&RawValue> =
        serde_json::from_str(data).map_err(|_| ParseError::InvalidPayload)?;
    let first = items.first().ok_or(ParseError::InvalidPayload)?;
    let name = if first.get().starts_with('"') {
        serde_json::from_str::<String>(first.get()).map_err(|_| ParseError::InvalidPayload)?
    } else {
        first.get().to_string()
    };
    let args = match items.get(1) {
        None => "[]".to_string(),
        Some(second) => {
            // `second` borrows from `data`, so its offset locates the rest of the array.
            let offset = second.get().as_ptr() as usize - data.as_ptr() as usize;
            let rest = data[offset..].trim_end();
            let mut args = String::with_capacity(rest.len() + 1);
            args.push('[');
            args.push_str(rest);
            args
        }
    };
    Ok((name, args))
}

/// Writes the Engine.IO message prefix `4` and the Socket.IO header of a packet.
pub fn write_header(
    out: &mut String,
    kind: PacketKind,
    nsp: &str,
    attachments: usize,
    id: Option<u64>,
) {
    out.push('4');
    out.push(kind.digit());
    if matches!(kind, PacketKind::BinaryEvent | PacketKind::BinaryAck) {
        let _ = write!(out, "{attachments}-");
    }
    if nsp != "/" {
        out.push_str(nsp);
        out.push(',');
    }
    if let Some(id) = id {
        let _ = write!(out, "{id}");
    }
}

/// Encodes an event packet (`42…` or `45…`) as an Engine.IO text packet. `args` is a JSON
/// array; the event name is spliced in front of its elements without re-parsing them.
pub fn encode_event(
    nsp: &str,
    id: Option<u64>,
    event: &str,
    args: &str,
    attachments: usize,
) -> String {
    let kind = if attachments > 0 {
        PacketKind::BinaryEvent
    } else {
        PacketKind::Event
    };
    let mut out = String::with_capacity(args.len() + event.len() + nsp.len() + 16);
    write_header(&mut out, kind, nsp, attachments, id);
    out.push('[');
    push_json_string(&mut out, event);
    let inner = array_inner(args);
    if !inner.is_empty() {
        out.push(',');
        out.push_str(inner);
    }
    out.push(']');
    out
}

/// Encodes an ack packet (`43…` or `46…`) carrying the argument array `args`.
pub fn encode_ack(nsp: &str, id: u64, args: &str, attachments: usize) -> String {
    let kind = if attachments > 0 {
        PacketKind::BinaryAck
    } else {
        PacketKind::Ack
    };
    let mut out = String::with_capacity(args.len() + nsp.len() + 16);
    write_header(&mut out, kind, nsp, attachments, Some(id));
    let args = args.trim();
    out.push_str(if args.is_empty() { "[]" } else { args });
    out
}

/// Encodes a packet with an optional JSON payload (CONNECT, DISCONNECT, CONNECT_ERROR).
pub fn encode_control(kind: PacketKind, nsp: &str, data: Option<&str>) -> String {
    let mut out = String::with_capacity(nsp.len() + 8 + data.map_or(0, str::len));
    write_header(&mut out, kind, nsp, 0, None);
    if let Some(d) = data {
        out.push_str(d);
    }
    out
}

/// The elements of a JSON array's text, without the brackets (`"[1, 2]"` → `"1, 2"`).
/// The host guarantees `args` is an array; anything else is treated as a single argument.
fn array_inner(args: &str) -> &str {
    let t = args.trim();
    match t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Some(inner) => inner.trim(),
        None => t,
    }
}

fn push_json_string(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // serde_json cannot fail on a string.
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_connect_with_and_without_auth() {
        let p = decode("0").unwrap();
        assert_eq!((p.kind, p.nsp, p.data), (PacketKind::Connect, "/", None));
        let p = decode("0/admin,{\"token\":\"x\"}").unwrap();
        assert_eq!(p.nsp, "/admin");
        assert_eq!(p.data, Some("{\"token\":\"x\"}"));
        assert_eq!(decode("0/admin,").unwrap().data, None);
        assert_eq!(decode("0[1]"), Err(ParseError::InvalidPayload));
    }

    #[test]
    fn decodes_events_with_ids_and_namespaces() {
        let p = decode("2/chat,12[\"hi\",1,{\"a\":[2]}]").unwrap();
        assert_eq!(p.kind, PacketKind::Event);
        assert_eq!(p.nsp, "/chat");
        assert_eq!(p.id, Some(12));
        let (name, args) = split_event(p.data.unwrap()).unwrap();
        assert_eq!(name, "hi");
        assert_eq!(args, "[1,{\"a\":[2]}]");
    }

    #[test]
    fn splits_event_without_arguments() {
        assert_eq!(split_event("[\"x\"]").unwrap(), ("x".into(), "[]".into()));
        assert_eq!(
            split_event("[ \"x\" , 1 ]").unwrap(),
            ("x".into(), "[1 ]".into())
        );
    }

    #[test]
    fn decodes_binary_event() {
        let p = decode(
            "52-[\"b\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
        )
        .unwrap();
        assert_eq!(p.kind, PacketKind::BinaryEvent);
        assert_eq!(p.attachments, 2);
        let p = decode("61-/x,3[{\"_placeholder\":true,\"num\":0}]").unwrap();
        assert_eq!(
            (p.kind, p.nsp, p.id, p.attachments),
            (PacketKind::BinaryAck, "/x", Some(3), 1)
        );
    }

    #[test]
    fn rejects_malformed_packets() {
        assert_eq!(decode(""), Err(ParseError::Empty));
        assert_eq!(decode("9"), Err(ParseError::UnknownType));
        assert_eq!(decode("2[\"a\""), Err(ParseError::InvalidPayload));
        assert_eq!(decode("2{}"), Err(ParseError::InvalidPayload));
        assert_eq!(decode("2[]"), Err(ParseError::InvalidPayload));
        assert_eq!(decode("2[{}]"), Err(ParseError::InvalidPayload));
        assert_eq!(decode("2"), Err(ParseError::InvalidPayload));
        assert_eq!(decode("3[1]"), Err(ParseError::InvalidPayload));
        assert_eq!(decode("5x-[\"a\"]"), Err(ParseError::BadAttachments));
        assert_eq!(decode("5[\"a\"]"), Err(ParseError::BadAttachments));
        assert_eq!(decode("511-[\"a\"]"), Err(ParseError::TooManyAttachments));
        assert_eq!(decode("50-[\"a\"]"), Err(ParseError::BadAttachments));
        assert_eq!(decode("1/chat,{}"), Err(ParseError::InvalidPayload));
        assert_eq!(decode("4{}"), Err(ParseError::InvalidPayload));
        assert_eq!(
            decode("299999999999999999999999[\"a\"]"),
            Err(ParseError::BadAckId)
        );
    }

    #[test]
    fn rejects_reserved_event_names() {
        assert_eq!(
            decode("2[\"connect\"]"),
            Err(ParseError::ReservedEvent("connect".into()))
        );
        assert_eq!(
            decode("2[\"disconnecting\",1]"),
            Err(ParseError::ReservedEvent("disconnecting".into()))
        );
    }

    #[test]
    fn numeric_event_names_are_accepted() {
        let p = decode("2[42,\"x\"]").unwrap();
        assert_eq!(
            split_event(p.data.unwrap()).unwrap(),
            ("42".into(), "[\"x\"]".into())
        );
    }

    #[test]
    fn encodes_events() {
        assert_eq!(
            encode_event("/", None, "hi", "[\"Hello everyone!\"]", 0),
            "42[\"hi\",\"Hello everyone!\"]"
        );
        assert_eq!(
            encode_event("/chat", Some(7), "x", "[]", 0),
            "42/chat,7[\"x\"]"
        );
        assert_eq!(
            encode_event("/", Some(1), "b", "[{\"_placeholder\":true,\"num\":0}]", 1),
            "451-1[\"b\",{\"_placeholder\":true,\"num\":0}]"
        );
        assert_eq!(encode_event("/", None, "q\"", "[1]", 0), "42[\"q\\\"\",1]");
    }

    #[test]
    fn encodes_acks_and_control_packets() {
        assert_eq!(encode_ack("/", 3, "[1,2]", 0), "433[1,2]");
        assert_eq!(encode_ack("/a", 3, "[]", 0), "43/a,3[]");
        assert_eq!(
            encode_ack("/", 0, "[{\"_placeholder\":true,\"num\":0}]", 1),
            "461-0[{\"_placeholder\":true,\"num\":0}]"
        );
        assert_eq!(
            encode_control(PacketKind::Connect, "/", Some("{\"sid\":\"a\"}")),
            "40{\"sid\":\"a\"}"
        );
        assert_eq!(encode_control(PacketKind::Disconnect, "/x", None), "41/x,");
        assert_eq!(
            encode_control(
                PacketKind::ConnectError,
                "/x",
                Some("{\"message\":\"Invalid namespace\"}")
            ),
            "44/x,{\"message\":\"Invalid namespace\"}"
        );
    }

    #[test]
    fn encoded_events_decode_back() {
        let text = encode_event("/n", Some(9), "ev", "[1,[2],\"s\"]", 0);
        let p = decode(&text[1..]).unwrap();
        assert_eq!((p.nsp, p.id), ("/n", Some(9)));
        assert_eq!(
            split_event(p.data.unwrap()).unwrap(),
            ("ev".into(), "[1,[2],\"s\"]".into())
        );
    }
}
