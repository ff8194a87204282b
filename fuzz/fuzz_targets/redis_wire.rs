//! Messages from Redis: broadcasts, requests and responses (msgpack or JSON).
#![no_main]
use libfuzzer_sys::fuzz_target;
use roomcast_redis::wire;

fuzz_target!(|data: &[u8]| {
    let _ = wire::decode_broadcast(data);
    let _ = wire::decode_request(data);
    let _ = wire::decode_response(data);
});
