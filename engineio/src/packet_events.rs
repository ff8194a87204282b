//! Engine.IO packets as the host sees them (`socket.conn` `packet`, `packetCreate` and
//! `drain` in Node). Reported only for sessions whose host listens
//! ([`super::EngineSession::set_notify_packets`]): building them copies every packet.

use super::{Frame, Inbound};
use bytes::Bytes;

/// One Engine.IO packet: its type name (`message`, `ping`, ...) and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnginePacket {
    pub kind: &'static str,
    pub data: PacketData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketData {
    None,
    Text(String),
    Binary(Bytes),
}

/// What a session reports to a listening host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketEvent {
    /// A packet from the client.
    Received(EnginePacket),
    /// A packet queued for the client, and whether it may be compressed (socket.io's
    /// `options.compress`).
    Created(EnginePacket, bool),
    /// The transport took every queued packet.
    Drain,
}

fn text_data(s: &str) -> PacketData {
    if s.is_empty() {
        PacketData::None
    } else {
        PacketData::Text(s.to_string())
    }
}

fn kind_of(digit: u8) -> &'static str {
    match digit {
        b'0' => "open",
        b'1' => "close",
        b'2' => "ping",
        b'3' => "pong",
        b'4' => "message",
        b'5' => "upgrade",
        _ => "noop",
    }
}

impl EnginePacket {
    pub fn received(packet: &Inbound<'_>) -> EnginePacket {
        let (kind, data) = match packet {
            Inbound::Open => ("open", PacketData::None),
            Inbound::Close => ("close", PacketData::None),
            Inbound::Ping(d) => ("ping", text_data(d)),
            Inbound::Pong(d) => ("pong", text_data(d)),
            Inbound::Message(t) => ("message", PacketData::Text(t.to_string())),
            Inbound::Binary(b) => ("message", PacketData::Binary(b.clone())),
            Inbound::Upgrade => ("upgrade", PacketData::None),
            Inbound::Noop => ("noop", PacketData::None),
        };
        EnginePacket { kind, data }
    }

    /// The packet an outgoing frame carries (frames are encoded packets: a type digit, then
    /// the data; binary frames are messages).
    pub fn sent(frame: &Frame) -> EnginePacket {
        match frame {
            Frame::Binary(b) => EnginePacket {
                kind: "message",
                data: PacketData::Binary(b.clone()),
            },
            Frame::Text(b) => {
                let kind = kind_of(b.first().copied().unwrap_or(b'6'));
                let rest = b.get(1..).unwrap_or_default();
                let data = if kind == "message" {
                    PacketData::Text(String::from_utf8_lossy(rest).into_owned())
                } else {
                    text_data(&String::from_utf8_lossy(rest))
                };
                EnginePacket { kind, data }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_frames_become_packets() {
        assert_eq!(
            EnginePacket::sent(&Frame::message("2[\"a\"]")),
            EnginePacket {
                kind: "message",
                data: PacketData::Text("2[\"a\"]".into())
            }
        );
        assert_eq!(
            EnginePacket::sent(&Frame::static_text("2")),
            EnginePacket {
                kind: "ping",
                data: PacketData::None
            }
        );
        let bin = Bytes::from_static(b"\x01\x02");
        assert_eq!(
            EnginePacket::sent(&Frame::Binary(bin.clone())).data,
            PacketData::Binary(bin)
        );
    }

    #[test]
    fn incoming_packets_keep_their_data() {
        assert_eq!(
            EnginePacket::received(&Inbound::Message("0")),
            EnginePacket {
                kind: "message",
                data: PacketData::Text("0".into())
            }
        );
        assert_eq!(EnginePacket::received(&Inbound::Pong("")).kind, "pong");
    }
}
