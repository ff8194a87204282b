//! HTTP long-polling payloads (Engine.IO v4): packets joined by the record separator `\x1e`,
//! binary packets as `b` followed by standard base64.

use super::packet::{decode_text, Frame, Inbound, PacketError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;

/// The separator between packets of a v4 polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// Encodes queued frames into one polling response body.
pub fn encode(frames: &[Frame]) -> Vec<u8> {
    let size: usize = frames.iter().map(|f| f.len() * 4 / 3 + 4).sum();
    let mut out = Vec::with_capacity(size);
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        match frame {
            Frame::Text(b) => out.extend_from_slice(b),
            Frame::Binary(b) => {
                out.push(b'b');
                let start = out.len();
                out.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
                let written = STANDARD.encode_slice(b, &mut out[start..]).unwrap_or(0);
                out.truncate(start + written);
            }
        }
    }
    out
}

/// Decodes a polling request body into packets, failing on the first malformed one.
pub fn decode(body: &str) -> Result<Vec<Inbound<'_>>, PacketError> {
    body.split('\u{1e}')
        .map(|part| {
            if let Some(b64) = part.strip_prefix('b') {
                STANDARD
                    .decode(b64)
                    .map(|raw| Inbound::Binary(Bytes::from(raw)))
                    .map_err(|_| PacketError::InvalidBase64)
            } else {
                decode_text(part)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_text_and_binary() {
        let frames = vec![
            Frame::text("4hello"),
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Frame::text("2"),
        ];
        assert_eq!(encode(&frames), b"4hello\x1ebAQIDBA==\x1e2".to_vec());
    }

    #[test]
    fn encodes_single_packet_without_separator() {
        assert_eq!(encode(&[Frame::text("6")]), b"6".to_vec());
    }

    #[test]
    fn decodes_mixed_payload() {
        let packets = decode("4hello\x1ebAQIDBA==\x1e3").unwrap();
        assert_eq!(
            packets,
            vec![
                Inbound::Message("hello"),
                Inbound::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                Inbound::Pong(""),
            ]
        );
    }

    #[test]
    fn rejects_bad_base64_and_empty_parts() {
        assert_eq!(decode("b!!!"), Err(PacketError::InvalidBase64));
        assert_eq!(decode("4a\x1e"), Err(PacketError::Empty));
    }

    #[test]
    fn round_trips() {
        let frames = vec![
            Frame::text("4a"),
            Frame::Binary(Bytes::from_static(b"\xff\x00")),
        ];
        let body = String::from_utf8(encode(&frames)).unwrap();
        let decoded = decode(&body).unwrap();
        assert_eq!(decoded[0], Inbound::Message("a"));
        assert_eq!(decoded[1], Inbound::Binary(Bytes::from_static(b"\xff\x00")));
    }
}
