//! permessage-deflate (RFC 7692): negotiation, and the deflate/inflate of one message.
//!
//! roomcast always answers with `server_no_context_takeover; client_no_context_takeover`.
//! Every message is then compressed on its own with the same parameters for every client, so
//! a broadcast is compressed once and the same bytes go to all recipients (see
//! `deflate_shared`), and no connection keeps a 32 KiB compression window alive between
//! messages: the (de)compressors are per thread, reset for each message.

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

/// The `Sec-WebSocket-Extensions` value of an accepted offer.
pub(crate) const ACCEPTED: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// The four bytes a sync flush ends with, removed on the wire (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Whether one of the client's offers (all `Sec-WebSocket-Extensions` values) can be accepted
/// with the parameters above. Offers asking for a server window under 15 bits are declined:
/// the compressor always uses a 32 KiB window.
pub fn accepts(headers: &http::HeaderMap) -> bool {
    headers
        .get_all("sec-websocket-extensions")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(offer_acceptable)
}

fn offer_acceptable(offer: &str) -> bool {
    let mut parts = offer.split(';').map(str::trim);
    if parts.next() != Some("permessage-deflate") {
        return false;
    }
    let mut seen: Vec<&str> = Vec::new();
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        if seen.contains(&name) {
            return false;
        }
        seen.push(name);
        let ok = match (name, value) {
            ("server_no_context_takeover" | "client_no_context_takeover", None) => true,
            ("server_max_window_bits", Some(v)) => v == "15",
            ("client_max_window_bits", None) => true,
            ("client_max_window_bits", Some(v)) => {
                v.parse::<u8>().is_ok_and(|b| (8..=15).contains(&b))
            }
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Why a compressed message could not be inflated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InflateError {
    #[error("compressed message inflates past the {max} byte limit")]
    TooLarge { max: usize },
    #[error("invalid deflate data in a compressed message")]
    Corrupt,
}

thread_local! {
    static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(false));
    static DEFLATERS: RefCell<Vec<(u32, Compress)>> = const { RefCell::new(Vec::new()) };
}

/// Inflates one message (its frames' payloads joined), refusing output past `max` bytes.
pub fn inflate(payload: &[u8], max: usize) -> Result<Vec<u8>, InflateError> {
    INFLATER.with(|cell| {
        let mut d = cell.borrow_mut();
        d.reset(false);
        let mut out = Vec::with_capacity((payload.len() * 3).clamp(64, max.max(64)));
        for input in [payload, &TAIL[..]] {
            let mut input = input;
            loop {
                if out.len() == out.capacity() {
                    if out.len() > max {
                        return Err(InflateError::TooLarge { max });
                    }
                    out.reserve(out.capacity().min(max + 1 - out.len()).max(64));
                }
                let before_in = d.total_in();
                let before_out = d.total_out();
                let status = d
                    .decompress_vec(input, &mut out, FlushDecompress::Sync)
                    .map_err(|_| InflateError::Corrupt)?;
                let read = (d.total_in() - before_in) as usize;
                input = &input[read..];
                if out.len() > max {
                    return Err(InflateError::TooLarge { max });
                }
                let progressed = read > 0 || d.total_out() > before_out;
                match status {
                    // A final block ends the message; the tail is not needed.
                    Status::StreamEnd => return Ok(out),
                    _ if input.is_empty() && out.len() < out.capacity() => break,
                    _ if !progressed && out.len() < out.capacity() => {
                        return Err(InflateError::Corrupt)
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    })
}

/// Deflates one message on its own (no context kept), without the sync-flush tail.
pub fn deflate(payload: &[u8], level: u32) -> Vec<u8> {
    DEFLATERS.with(|cell| {
        let mut all = cell.borrow_mut();
        let index = match all.iter().position(|(l, _)| *l == level) {
            Some(i) => i,
            None => {
                all.push((level, Compress::new(Compression::new(level), false)));
                all.len() - 1
            }
        };
        let c = &mut all[index].1;
        c.reset();
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        let mut input = payload;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(64));
            }
            let before = c.total_in();
            // Compressing into a Vec cannot fail: errors are only for misuse of the stream.
            let _ = c.compress_vec(input, &mut out, FlushCompress::Sync);
            input = &input[(c.total_in() - before) as usize..];
            // A sync flush is complete when all input is taken and output stopped short of
            // the buffer's end.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        out
    })
}

/// Recently deflated payloads, keyed by the address of their bytes. A broadcast is queued to
/// every recipient as clones of one `Bytes`, so the first writer compresses it and the others
/// find it here. Each entry holds a clone of its source, so the address cannot be reused by
/// other bytes while the entry lives.
struct SharedDeflates {
    entries: HashMap<(usize, usize), (Bytes, Bytes)>,
    order: VecDeque<(usize, usize)>,
    bytes: usize,
}

const CACHE_ENTRIES: usize = 256;
const CACHE_BYTES: usize = 8 * 1024 * 1024;

static SHARED: Mutex<Option<SharedDeflates>> = Mutex::new(None);

/// [`deflate`] through the shared cache: one compression per payload, however many
/// connections send it.
pub(crate) fn deflate_shared(payload: &Bytes, level: u32) -> Bytes {
    let key = (payload.as_ptr() as usize, payload.len());
    if let Some(cache) = SHARED.lock().as_ref() {
        if let Some((_, deflated)) = cache.entries.get(&key) {
            return deflated.clone();
        }
    }
    let deflated = Bytes::from(deflate(payload, level));
    let size = payload.len() + deflated.len();
    if size <= CACHE_BYTES / 4 {
        let mut guard = SHARED.lock();
        let cache = guard.get_or_insert_with(|| SharedDeflates {
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
        });
        if cache
            .entries
            .insert(key, (payload.clone(), deflated.clone()))
            .is_none()
        {
            cache.order.push_back(key);
            cache.bytes += size;
        }
        while cache.order.len() > CACHE_ENTRIES || cache.bytes > CACHE_BYTES {
            let Some(old) = cache.order.pop_front() else {
                break;
            };
            if let Some((src, out)) = cache.entries.remove(&old) {
                cache.bytes -= src.len() + out.len();
            }
        }
    }
    deflated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append("sec-websocket-extensions", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn accepts_browser_and_ws_offers() {
        assert!(accepts(&headers(&[
            "permessage-deflate; client_max_window_bits"
        ])));
        assert!(accepts(&headers(&["permessage-deflate"])));
        assert!(accepts(&headers(&[
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
        ])));
    }

    #[test]
    fn declines_what_it_cannot_honour() {
        assert!(!accepts(&headers(&[])));
        assert!(!accepts(&headers(&["x-webkit-deflate-frame"])));
        assert!(!accepts(&headers(&[
            "permessage-deflate; server_max_window_bits=10"
        ])));
        assert!(!accepts(&headers(&[
            "permessage-deflate; client_max_window_bits=16"
        ])));
        assert!(!accepts(&headers(&[
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover"
        ])));
        assert!(!accepts(&headers(&["permessage-deflate; foo=1"])));
    }

    #[test]
    fn falls_back_to_a_later_offer() {
        assert!(accepts(&headers(&[
            "permessage-deflate; server_max_window_bits=9, permessage-deflate"
        ])));
    }

    #[test]
    fn round_trips_and_drops_the_tail() {
        let text = "42[\"chat\",{\"text\":\"hello hello hello hello\"}]".repeat(40);
        let d = deflate(text.as_bytes(), 1);
        assert!(!d.ends_with(&TAIL));
        assert!(d.len() < text.len() / 4);
        assert_eq!(inflate(&d, 1 << 20).unwrap(), text.as_bytes());
    }

    #[test]
    fn inflates_the_rfc_example() {
        // RFC 7692 §7.2.3.1: "Hello" compressed.
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate(&hello, 100).unwrap(), b"Hello");
        assert_eq!(inflate(&[0x00], 100).unwrap(), b"");
    }

    #[test]
    fn refuses_bombs_and_garbage() {
        let zeros = vec![0u8; 2 << 20];
        let d = deflate(&zeros, 6);
        assert_eq!(
            inflate(&d, 1 << 20),
            Err(InflateError::TooLarge { max: 1 << 20 })
        );
        assert_eq!(
            inflate(&[0xff, 0xff, 0xff], 100),
            Err(InflateError::Corrupt)
        );
    }

    #[test]
    fn a_shared_payload_is_deflated_once() {
        let payload = Bytes::from("4".to_string() + &"x".repeat(5000));
        let a = deflate_shared(&payload, 1);
        let b = deflate_shared(&payload.clone(), 1);
        // Same allocation: the second call found the first result.
        assert_eq!(a.as_ptr(), b.as_ptr());
        assert_eq!(inflate(&a, 1 << 20).unwrap(), payload.as_ref());
    }
}
