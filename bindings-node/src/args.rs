//! Event arguments between JavaScript and the core: a JSON array as text, binary arguments
//! as placeholders in it plus a list of buffers (the Socket.IO convention, so the core splices
//! the text into packets without parsing it).

use bytes::Bytes;
use napi::bindgen_prelude::Buffer;
use roomcast::Payload;

/// A payload from what JavaScript's encoder produced. Buffers are copied: JavaScript memory
/// cannot be shared with the I/O threads.
pub fn to_payload(json: String, binaries: Option<Vec<Buffer>>) -> Payload {
    match binaries {
        Some(list) if !list.is_empty() => Payload::with_binaries(
            json,
            list.iter().map(|b| Bytes::copy_from_slice(b)).collect(),
        ),
        _ => Payload::from_json(json),
    }
}

/// The binary attachments of a payload as Node buffers (`None` when there are none, so the
/// record stays small).
pub fn to_buffers(payload: &Payload) -> Option<Vec<Buffer>> {
    if payload.binaries.is_empty() {
        None
    } else {
        Some(
            payload
                .binaries
                .iter()
                .map(|b| Buffer::from(b.to_vec()))
                .collect(),
        )
    }
}
