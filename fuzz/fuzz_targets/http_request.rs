//! Whole HTTP requests to the Engine.IO endpoint (handshake query, sid, transport, EIO,
//! headers, polling bodies), through the same routing the native listener uses. Input:
//! `METHOD URI\nheader: value\n...\n\nbody`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

struct Harness {
    rt: tokio::runtime::Runtime,
    server: roomcast::Server,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        let mut config = roomcast::ServerConfig::default();
        // Sessions the fuzzer opens expire quickly.
        config.engine.ping_interval = Duration::from_millis(20);
        config.engine.ping_timeout = Duration::from_millis(20);
        config.engine.allow_eio3 = true;
        config.engine.max_http_buffer_size = 4096;
        let server = roomcast::Server::with_runtime(config, rt.handle().clone());
        Harness { rt, server }
    })
}

fn parse(data: &[u8]) -> Option<(http::request::Parts, bytes::Bytes)> {
    let text = std::str::from_utf8(data).ok()?;
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let (method, uri) = lines.next()?.split_once(' ')?;
    let mut builder = http::Request::builder().method(method).uri(uri);
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            builder = builder.header(k.trim(), v.trim());
        }
    }
    let req = builder.body(()).ok()?;
    Some((req.into_parts().0, bytes::Bytes::copy_from_slice(body.as_bytes())))
}

static INPUTS: AtomicUsize = AtomicUsize::new(0);

fuzz_target!(|data: &[u8]| {
    let h = harness();
    // A request that completes at once gives the runtime no turn to run the timers that expire
    // sessions; every so often let it run past the ping timeout, after which no session the
    // fuzzer opened may be left (a leak would show here, not as an out-of-memory much later).
    if INPUTS.fetch_add(1, Ordering::Relaxed) % 512 == 511 {
        let mut waits = 0;
        while waits == 0 || (h.server.stats().sessions > 0 && waits < 25) {
            h.rt.block_on(async { tokio::time::sleep(Duration::from_millis(80)).await });
            waits += 1;
        }
        if waits > 1 {
            eprintln!("EXPIRY took {waits} rounds");
        }
        let stats = h.server.stats();
        assert_eq!(stats.sessions, 0, "sessions outlived their ping timeout: {stats:?}");
        assert_eq!(stats.sockets, 0, "sockets outlived their sessions: {stats:?}");
    }
    let Some((parts, body)) = parse(data) else { return };
    h.rt.block_on(async {
        // A poll on a live session waits for data: bound it.
        let _ = tokio::time::timeout(Duration::from_millis(5), h.server.handle_http(parts, None, body)).await;
    });
});
