//! Socket.IO packets of the msgpack parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = roomcast_protocol::socketio::parser::decode_msgpack(data);
});
