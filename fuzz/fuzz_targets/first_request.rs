//! The first bytes of a connection taken over as a host accepted it (plain or after TLS):
//! the request head the engine reads before any HTTP server does, to keep only WebSocket
//! upgrades of its path. Any input must give an answer; a kept upgrade's head fits the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use roomcast::engineio::transport::request_head::FirstRequest;
use std::sync::OnceLock;

fn server() -> &'static roomcast::Server {
    static S: OnceLock<(tokio::runtime::Runtime, roomcast::Server)> = OnceLock::new();
    let (_, server) = S.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        let server = roomcast::Server::with_runtime(roomcast::ServerConfig::default(), rt.handle().clone());
        (rt, server)
    });
    server
}

fuzz_target!(|data: &[u8]| {
    if let FirstRequest::Upgrade { parts, head_len } = server().engine().first_request(data) {
        assert!(head_len <= data.len());
        assert_eq!(parts.method, http::Method::GET);
        assert!(server().handles_path(parts.uri.path()));
    }
});
