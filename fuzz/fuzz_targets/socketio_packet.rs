//! Socket.IO packets of the default parser, including event splitting.
#![no_main]
use libfuzzer_sys::fuzz_target;
use roomcast_protocol::socketio::packet;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = packet::decode(text) {
            if let Some(d) = p.data {
                let _ = packet::split_event(d);
            }
        }
    }
});
