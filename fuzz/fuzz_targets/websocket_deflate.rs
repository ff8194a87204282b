//! Bytes from a WebSocket client that negotiated permessage-deflate: frame headers, masks,
//! fragments, control frames, compressed payloads (inflate limits), close frames; and the
//! `Sec-WebSocket-Extensions` offer parser on the same input read as text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use roomcast_engineio::transport::{permessage_deflate, server_websocket};

fuzz_target!(|data: &[u8]| {
    let _ = server_websocket::decode_client_bytes(data, 64 * 1024);
    let _ = permessage_deflate::inflate(data, 64 * 1024);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(value) = http::HeaderValue::from_str(text) {
            let mut headers = http::HeaderMap::new();
            headers.insert("sec-websocket-extensions", value);
            let _ = permessage_deflate::accepts(&headers);
        }
    }
});
