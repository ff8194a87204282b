//! HTTP long-polling payloads of Engine.IO v3 (socket.io v2 clients).
//!
//! Text payloads prefix each packet with its length in UTF-16 code units and a colon
//! (`6:4hello`), binary packets inside them being `b4<base64>`. Clients that support binary
//! (XHR2, no `b64=1` in the query) get binary payloads instead when a binary packet is
//! queued: per packet a 0 (text) or 1 (binary) byte, the length as one byte per decimal
//! digit, 255, then the bytes (binary packets carry their type as a leading byte 4).

use super::packet::{decode_text, Frame, Inbound, PacketError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;

/// Encodes frames for a v3 client; returns the body and whether it is binary.
pub fn encode(frames: &[Frame], supports_binary: bool) -> (Vec<u8>, bool) {
    let has_binary = frames.iter().any(|f| matches!(f, Frame::Binary(_)));
    if supports_binary && has_binary {
        (encode_binary(frames), true)
    } else {
        (encode_text(frames).into_bytes(), false)
    }
}

fn encode_text(frames: &[Frame]) -> String {
    let mut out = String::new();
    for f in frames {
        let packet = match f {
            Frame::Text(_) => f.as_text().unwrap_or_default().to_string(),
            Frame::Binary(b) => format!("b4{}", STANDARD.encode(b)),
        };
        let units = packet.encode_utf16().count();
        out.push_str(&units.to_string());
        out.push(':');
        out.push_str(&packet);
    }
    out
}

fn encode_binary(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        let (marker, body): (u8, Vec<u8>) = match f {
            Frame::Text(b) => (0, b.to_vec()),
            Frame::Binary(b) => {
                let mut v = Vec::with_capacity(b.len() + 1);
                v.push(4);
                v.extend_from_slice(b);
                (1, v)
            }
        };
        out.push(marker);
        out.extend(body.len().to_string().bytes().map(|d| d - b'0'));
        out.push(255);
        out.extend_from_slice(&body);
    }
    out
}

/// Decodes a v3 text payload (`<len>:<packet>...`, lengths in UTF-16 code units).
pub fn decode_text_payload(body: &str) -> Result<Vec<Inbound<'_>>, PacketError> {
    let mut packets = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let colon = rest.find(':').ok_or(PacketError::BadLength)?;
        let units: usize = rest[..colon].parse().map_err(|_| PacketError::BadLength)?;
        let data = &rest[colon + 1..];
        // Walk `units` UTF-16 code units forward to find where the packet ends.
        let mut seen = 0;
        let mut end = data.len();
        for (i, c) in data.char_indices() {
            if seen == units {
                end = i;
                break;
            }
            seen += c.len_utf16();
        }
        if seen < units && end == data.len() && data.encode_utf16().count() < units {
            return Err(PacketError::BadLength);
        }
        let packet = &data[..end];
        packets.push(decode_v3_packet(packet)?);
        rest = &data[end..];
    }
    Ok(packets)
}

fn decode_v3_packet(packet: &str) -> Result<Inbound<'_>, PacketError> {
    match packet.strip_prefix('b') {
        Some(b64) => {
            // `b<type><base64>`: only messages carry binary.
            let data = b64.get(1..).ok_or(PacketError::InvalidBase64)?;
            STANDARD
                .decode(data)
                .map(|raw| Inbound::Binary(Bytes::from(raw)))
                .map_err(|_| PacketError::InvalidBase64)
        }
        None => decode_text(packet),
    }
}

/// Decodes a v3 binary payload (what XHR2 clients POST as `application/octet-stream`).
pub fn decode_binary_payload(body: &[u8]) -> Result<Vec<Inbound<'_>>, PacketError> {
    let mut packets = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let marker = body[i];
        i += 1;
        let mut len: usize = 0;
        let mut digits = 0;
        while i < body.len() && body[i] != 255 {
            if body[i] > 9 || digits >= 10 {
                return Err(PacketError::BadLength);
            }
            len = len * 10 + body[i] as usize;
            digits += 1;
            i += 1;
        }
        if i >= body.len() || digits == 0 {
            return Err(PacketError::BadLength);
        }
        i += 1; // 255
        let end = i
            .checked_add(len)
            .filter(|e| *e <= body.len())
            .ok_or(PacketError::BadLength)?;
        let chunk = &body[i..end];
        i = end;
        match marker {
            0 => {
                let text = std::str::from_utf8(chunk).map_err(|_| PacketError::BadLength)?;
                packets.push(decode_v3_packet(text)?);
            }
            1 => {
                // Leading type byte; only messages (4) carry binary.
                let data = chunk.get(1..).ok_or(PacketError::BadLength)?;
                packets.push(Inbound::Binary(Bytes::copy_from_slice(data)));
            }
            _ => return Err(PacketError::BadLength),
        }
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_payload_counts_utf16_units() {
        let frames = vec![Frame::text("4é€😀"), Frame::text("2")];
        let (body, binary) = encode(&frames, false);
        assert!(!binary);
        // "4é€😀" is 1 + 1 + 1 + 2 UTF-16 units.
        assert_eq!(String::from_utf8(body).unwrap(), "5:4é€😀1:2");
        let decoded = decode_text_payload("5:4é€😀1:2").unwrap();
        assert_eq!(decoded, vec![Inbound::Message("é€😀"), Inbound::Ping("")]);
    }

    #[test]
    fn binary_in_text_payload_is_base64() {
        let frames = vec![Frame::Binary(Bytes::from_static(&[1, 2, 3]))];
        let (body, _) = encode(&frames, false);
        assert_eq!(String::from_utf8(body).unwrap(), "6:b4AQID");
        assert_eq!(
            decode_text_payload("6:b4AQID").unwrap(),
            vec![Inbound::Binary(Bytes::from_static(&[1, 2, 3]))]
        );
    }

    #[test]
    fn binary_payload_round_trips() {
        let frames = vec![
            Frame::text("451-[\"b\",{\"_placeholder\":true,\"num\":0}]"),
            Frame::Binary(Bytes::from_static(&[9; 12])),
        ];
        let (body, binary) = encode(&frames, true);
        assert!(binary);
        let text_len = frames[0].len().to_string();
        assert_eq!(body[0], 0);
        assert_eq!(body[1 + text_len.len()], 255);
        let decoded = decode_binary_payload(&body).unwrap();
        assert_eq!(
            decoded[0],
            Inbound::Message("51-[\"b\",{\"_placeholder\":true,\"num\":0}]")
        );
        assert_eq!(decoded[1], Inbound::Binary(Bytes::from_static(&[9; 12])));
    }

    #[test]
    fn malformed_payloads_are_errors() {
        assert!(decode_text_payload("x:4a").is_err());
        assert!(decode_text_payload("9:4a").is_err());
        assert!(decode_text_payload("2:4a1").is_err());
        assert!(decode_binary_payload(&[0, 9, 9, 255, b'4']).is_err());
        assert!(decode_binary_payload(&[7, 1, 255, b'4']).is_err());
        assert!(decode_binary_payload(&[0, 255]).is_err());
    }
}
