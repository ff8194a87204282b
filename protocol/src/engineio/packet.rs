//! Engine.IO v4 packets: the one-character type prefix and the frames the server queues.
//!
//! Outbound packets are kept as [`Frame`]s — the exact bytes that go on the wire for
//! WebSocket — so a broadcast encoded once can be queued to many sessions by reference count.

use bytes::Bytes;
use std::fmt;

/// The Engine.IO packet types (the first character of a text packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    Open = 0,
    Close = 1,
    Ping = 2,
    Pong = 3,
    Message = 4,
    Upgrade = 5,
    Noop = 6,
}

impl PacketType {
    pub fn as_char(self) -> char {
        (b'0' + self as u8) as char
    }
}

/// One outbound Engine.IO packet, encoded.
///
/// `Text` holds a complete text packet including its type character (`"42[\"hi\"]"`) and is
/// always valid UTF-8; `Binary` holds the raw payload of a binary message (no type prefix on
/// WebSocket; polling adds `b` + base64).
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    Text(Bytes),
    Binary(Bytes),
}

impl Frame {
    /// A text frame from a complete packet string.
    pub fn text(s: impl Into<String>) -> Frame {
        Frame::Text(Bytes::from(s.into()))
    }

    /// A `message` packet carrying `text` (the `4` type prefix added).
    pub fn message(text: &str) -> Frame {
        let mut packet = String::with_capacity(text.len() + 1);
        packet.push('4');
        packet.push_str(text);
        Frame::text(packet)
    }

    /// A text frame from a static packet string (`"2"`, `"6"`, ...).
    pub const fn static_text(s: &'static str) -> Frame {
        Frame::Text(Bytes::from_static(s.as_bytes()))
    }

    /// The packet as a string, for text frames.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            // Text frames are only ever built from `str`/`String`, so this cannot fail.
            Frame::Text(b) => std::str::from_utf8(b).ok(),
            Frame::Binary(_) => None,
        }
    }

    /// Bytes this frame occupies in a queue (for bounding outbound memory).
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(b) | Frame::Binary(b) => b.len(),
        }
    }

    /// The data length of a message frame (text without its `4`, or binary); `None` for
    /// the other packet types.
    pub fn message_len(&self) -> Option<usize> {
        match self {
            Frame::Text(b) if b.first() == Some(&b'4') => Some(b.len() - 1),
            Frame::Text(_) => None,
            Frame::Binary(b) => Some(b.len()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Text(_) => write!(f, "Text({:?})", self.as_text().unwrap_or("")),
            Frame::Binary(b) => write!(f, "Binary({} bytes)", b.len()),
        }
    }
}

pub const PING: Frame = Frame::static_text("2");
pub const PONG_PROBE: Frame = Frame::static_text("3probe");
pub const NOOP: Frame = Frame::static_text("6");
pub const CLOSE: Frame = Frame::static_text("1");

/// An inbound Engine.IO packet, borrowing from the received text where it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// An `open` packet from a client: meaningless, ignored as the reference server does.
    Open,
    Close,
    Ping(&'a str),
    Pong(&'a str),
    Message(&'a str),
    Binary(Bytes),
    Upgrade,
    Noop,
}

/// Why an inbound packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("empty Engine.IO packet")]
    Empty,
    #[error("unknown Engine.IO packet type {0:?}")]
    UnknownType(char),
    #[error("invalid base64 in a binary packet")]
    InvalidBase64,
    #[error("invalid packet length in a v3 payload")]
    BadLength,
}

/// Decodes a text packet as received over WebSocket or inside a polling payload.
pub fn decode_text(s: &str) -> Result<Inbound<'_>, PacketError> {
    let mut chars = s.chars();
    let kind = chars.next().ok_or(PacketError::Empty)?;
    let data = &s[kind.len_utf8()..];
    Ok(match kind {
        '0' => Inbound::Open,
        '1' => Inbound::Close,
        '2' => Inbound::Ping(data),
        '3' => Inbound::Pong(data),
        '4' => Inbound::Message(data),
        '5' => Inbound::Upgrade,
        '6' => Inbound::Noop,
        other => return Err(PacketError::UnknownType(other)),
    })
}

/// Builds the `open` packet sent at handshake.
pub fn open_packet(
    sid: &str,
    upgrades: &[&str],
    ping_interval_ms: u64,
    ping_timeout_ms: u64,
    max_payload: u64,
) -> Frame {
    // Written by hand to keep the reference server's key order.
    let upgrades: Vec<String> = upgrades.iter().map(|u| format!("\"{u}\"")).collect();
    Frame::text(format!(
        "0{{\"sid\":\"{sid}\",\"upgrades\":[{}],\"pingInterval\":{ping_interval_ms},\"pingTimeout\":{ping_timeout_ms},\"maxPayload\":{max_payload}}}",
        upgrades.join(",")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_type() {
        assert_eq!(decode_text("1"), Ok(Inbound::Close));
        assert_eq!(decode_text("2probe"), Ok(Inbound::Ping("probe")));
        assert_eq!(decode_text("3"), Ok(Inbound::Pong("")));
        assert_eq!(decode_text("4hello"), Ok(Inbound::Message("hello")));
        assert_eq!(decode_text("5"), Ok(Inbound::Upgrade));
        assert_eq!(decode_text("6"), Ok(Inbound::Noop));
    }

    #[test]
    fn rejects_bad_packets() {
        assert_eq!(decode_text(""), Err(PacketError::Empty));
        assert_eq!(decode_text("0{}"), Ok(Inbound::Open));
        assert_eq!(decode_text("9"), Err(PacketError::UnknownType('9')));
        assert_eq!(decode_text("é"), Err(PacketError::UnknownType('é')));
    }

    #[test]
    fn open_packet_has_the_handshake_fields() {
        let f = open_packet("abc", &["websocket"], 25000, 20000, 1_000_000);
        let text = f.as_text().unwrap();
        assert!(text.starts_with('0'));
        let v: serde_json::Value = serde_json::from_str(&text[1..]).unwrap();
        assert_eq!(v["sid"], "abc");
        assert_eq!(v["upgrades"], serde_json::json!(["websocket"]));
        assert_eq!(v["pingInterval"], 25000);
        assert_eq!(v["pingTimeout"], 20000);
        assert_eq!(v["maxPayload"], 1_000_000);
        assert!(text.starts_with("0{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\""));
    }
}
