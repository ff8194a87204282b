//! Engine.IO packets as received over WebSocket (text frames).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = roomcast_protocol::engineio::packet::decode_text(text);
    }
});
