//! Long-polling payloads: v4 text, v3 text (UTF-16 lengths) and v3 binary.
#![no_main]
use libfuzzer_sys::fuzz_target;
use roomcast_protocol::engineio::{payload, payload_v3};

fuzz_target!(|data: &[u8]| {
    let _ = payload_v3::decode_binary_payload(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = payload::decode(text);
        let _ = payload_v3::decode_text_payload(text);
    }
});
