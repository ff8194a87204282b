//! Micro-benchmarks of the wire codecs and of the broadcast encode path.
//!
//! ```text
//! cargo bench -p roomcast --bench codecs              # full run (a few minutes)
//! cargo bench -p roomcast --bench codecs -- --quick   # short run
//! cargo bench -p roomcast --bench codecs -- socketio  # one group (substring filter)
//! ```
//!
//! Groups:
//! - `engineio`: Engine.IO packet decode / encode and HTTP long-polling payloads (v4, v3).
//! - `socketio`: Socket.IO packet encode / decode (default text parser).
//! - `msgpack`: the same events through `socket.io-msgpack-parser`'s format.
//! - `broadcast_encode`: [`BroadcastPacket::new`], the one encode a broadcast does before
//!   the same frames are queued to every recipient.
//! - `broadcast_fanout`: a whole `emit` to 1000 connected sockets of a [`Server`] (encode
//!   once, then one queue push per recipient), with sockets connected over long-polling
//!   through [`Server::handle_http`], so no network is involved.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use roomcast::adapter::BroadcastPacket;
use roomcast::engineio::packet::{self as eio, Frame};
use roomcast::engineio::{payload as payload_v4, payload_v3};
use roomcast::socketio::packet as sio;
use roomcast::socketio::parser::decode_msgpack;
use roomcast::{Parser, Payload, Server, ServerConfig};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The event every group encodes: `["chat",{"user":"ann","text":"hello"}]`.
const EVENT: &str = "chat";
const ARGS: &str = r#"[{"user":"ann","text":"hello"}]"#;
const ARGS_BINARY: &str = r#"[{"user":"ann","file":{"_placeholder":true,"num":0}}]"#;
const ATTACHMENT: &[u8] = &[0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/// `[{"user":"ann","text":"xxx…"}]`, exactly 1 KiB of argument JSON.
fn args_1k() -> String {
    let frame = r#"[{"user":"ann","text":""}]"#;
    let text = "x".repeat(1024 - frame.len());
    let args = format!(r#"[{{"user":"ann","text":"{text}"}}]"#);
    assert_eq!(args.len(), 1024);
    args
}

fn engineio(c: &mut Criterion) {
    let mut g = c.benchmark_group("engineio");

    // Single packets, as received over WebSocket.
    let message = sio::encode_event("/", None, EVENT, ARGS, 0);
    for (name, text) in [("message", message.as_str()), ("ping", "2")] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("decode", name), text, |b, t| {
            b.iter(|| eio::decode_text(black_box(t)))
        });
    }
    // The `4` of an outbound message is written by the Socket.IO encoder into the same
    // string (see `socketio/encode`), so Engine.IO's own share of encoding a message is
    // wrapping that string into a frame; a ping is a static frame.
    g.throughput(Throughput::Bytes(message.len() as u64));
    g.bench_function(BenchmarkId::new("encode", "message"), |b| {
        b.iter_batched(
            || message.clone(),
            |s| Frame::text(black_box(s)),
            criterion::BatchSize::SmallInput,
        )
    });
    g.throughput(Throughput::Bytes(1));
    g.bench_function(BenchmarkId::new("encode", "ping"), |b| {
        b.iter(|| black_box(eio::PING).clone())
    });

    // A polling body of 10 packets: 9 text messages and one binary attachment.
    let mut frames: Vec<Frame> = (0..9)
        .map(|i| Frame::text(sio::encode_event("/", Some(i), EVENT, ARGS, 0)))
        .collect();
    frames.push(Frame::Binary(Bytes::from_static(ATTACHMENT)));
    let body_v4 = String::from_utf8(payload_v4::encode(&frames)).unwrap();
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("payload_v4/encode/10", |b| {
        b.iter(|| payload_v4::encode(black_box(&frames)))
    });
    g.bench_function("payload_v4/decode/10", |b| {
        b.iter(|| payload_v4::decode(black_box(&body_v4)).unwrap())
    });

    let (text_v3, _) = payload_v3::encode(&frames, false);
    let text_v3 = String::from_utf8(text_v3).unwrap();
    let (binary_v3, is_binary) = payload_v3::encode(&frames, true);
    assert!(is_binary);
    g.bench_function("payload_v3/encode_text/10", |b| {
        b.iter(|| payload_v3::encode(black_box(&frames), false))
    });
    g.bench_function("payload_v3/decode_text/10", |b| {
        b.iter(|| payload_v3::decode_text_payload(black_box(&text_v3)).unwrap())
    });
    g.bench_function("payload_v3/decode_binary/10", |b| {
        b.iter(|| payload_v3::decode_binary_payload(black_box(&binary_v3)).unwrap())
    });
    g.finish();
}

/// The Socket.IO cases: (name, namespace, ack id, args, attachments).
const SIO_CASES: &[(&str, &str, Option<u64>, &str, usize)] = &[
    ("event", "/", None, ARGS, 0),
    ("event_ack", "/", Some(12), ARGS, 0),
    ("event_nsp", "/chat", None, ARGS, 0),
    ("binary_event", "/", None, ARGS_BINARY, 1),
];

fn socketio(c: &mut Criterion) {
    let mut g = c.benchmark_group("socketio");
    for &(name, nsp, id, args, attachments) in SIO_CASES {
        let text = sio::encode_event(nsp, id, EVENT, args, attachments);
        // Decoding starts after the Engine.IO `4`.
        let packet = &text[1..];
        g.throughput(Throughput::Bytes(packet.len() as u64));
        g.bench_function(BenchmarkId::new("encode", name), |b| {
            b.iter(|| {
                sio::encode_event(
                    black_box(nsp),
                    black_box(id),
                    black_box(EVENT),
                    black_box(args),
                    attachments,
                )
            })
        });
        g.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| sio::decode(black_box(packet)).unwrap())
        });
        // What the server does with a received event: decode, then split the name from the
        // argument array handed to the handler.
        g.bench_function(BenchmarkId::new("decode_split", name), |b| {
            b.iter(|| {
                let p = sio::decode(black_box(packet)).unwrap();
                sio::split_event(p.data.unwrap()).unwrap()
            })
        });
    }
    g.finish();
}

fn msgpack(c: &mut Criterion) {
    let mut g = c.benchmark_group("msgpack");
    for &(name, nsp, id, args, attachments) in SIO_CASES {
        let binaries = vec![Bytes::from_static(ATTACHMENT); attachments];
        let payload = Payload::with_binaries(args, binaries);
        let frames = Parser::MsgPack.event(nsp, id, EVENT, &payload);
        let [Frame::Binary(bytes)] = frames.as_slice() else {
            panic!("a msgpack event is one binary frame");
        };
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(BenchmarkId::new("encode", name), |b| {
            b.iter(|| Parser::MsgPack.event(black_box(nsp), id, EVENT, black_box(&payload)))
        });
        g.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| decode_msgpack(black_box(bytes)).unwrap())
        });
    }
    g.finish();
}

fn broadcast_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("broadcast_encode");
    let big = args_1k();
    for (size, args) in [("small", ARGS), ("1KiB", big.as_str())] {
        let payload = Payload::from_json(args);
        g.throughput(Throughput::Bytes(args.len() as u64));
        for (parser_name, parser) in [("default", Parser::Default), ("msgpack", Parser::MsgPack)] {
            // `emit` takes the arguments by value, so this includes cloning them, and the
            // packet is dropped in the loop as after a delivery, so the allocator reuses its
            // memory as in a server. (Keeping every output alive until the end of a batch,
            // as `iter_batched` does, made the 1 KiB case about 4x slower in `--quick` runs:
            // it measured fresh memory rather than the encode.)
            g.bench_with_input(
                BenchmarkId::new(parser_name, size),
                &payload,
                |b, payload| {
                    b.iter(|| {
                        BroadcastPacket::new(parser, "/", EVENT, black_box(payload).clone(), None)
                    })
                },
            );
        }
    }
    g.finish();
}

const FANOUT_SOCKETS: usize = 1000;
/// Emits between two drains of the recipients' queues (bounds the memory they hold).
const FANOUT_CHUNK: u64 = 200;

/// A server whose `FANOUT_SOCKETS` clients are connected to `/` over long-polling, driven
/// through `handle_http` only; returns it with the Engine.IO sids.
fn fanout_server(rt: &tokio::runtime::Runtime) -> (Server, Vec<String>) {
    let mut config = ServerConfig::default();
    // No heartbeat during the run: the benchmark's clients never answer pings.
    config.engine.ping_interval = Duration::from_secs(3600);
    config.engine.ping_timeout = Duration::from_secs(3600);
    rt.block_on(async {
        let io = Server::new(config);
        let mut sids = Vec::with_capacity(FANOUT_SOCKETS);
        for _ in 0..FANOUT_SOCKETS {
            let open = request(&io, "GET", "/socket.io/?EIO=4&transport=polling", "").await;
            let open: serde_json::Value = serde_json::from_slice(&open[1..]).unwrap();
            let sid = open["sid"].as_str().unwrap().to_string();
            let uri = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
            assert_eq!(&request(&io, "POST", &uri, "40").await[..], b"ok");
            assert!(request(&io, "GET", &uri, "").await.starts_with(b"40{"));
            sids.push(sid);
        }
        assert_eq!(io.sockets().socket_count(), FANOUT_SOCKETS);
        (io, sids)
    })
}

async fn request(io: &Server, method: &str, uri: &str, body: &'static str) -> Bytes {
    let (parts, ()) = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(())
        .unwrap()
        .into_parts();
    let resp = io
        .handle_http(parts, None, Bytes::from_static(body.as_bytes()))
        .await
        .expect("a Socket.IO path");
    assert_eq!(resp.status(), 200);
    resp.into_body()
}

/// Answers every client's pending frames with one polling GET each.
fn drain(rt: &tokio::runtime::Runtime, io: &Server, sids: &[String]) {
    rt.block_on(async {
        for sid in sids {
            let uri = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
            black_box(request(io, "GET", &uri, "").await);
        }
    });
}

fn broadcast_fanout(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (io, sids) = fanout_server(&rt);
    let nsp = io.sockets();
    let mut g = c.benchmark_group("broadcast_fanout");
    g.throughput(Throughput::Elements(FANOUT_SOCKETS as u64));
    let big = args_1k();
    for (size, args) in [("small", ARGS), ("1KiB", big.as_str())] {
        let payload = Payload::from_json(args);
        g.bench_function(BenchmarkId::new("emit_1000_sockets", size), |b| {
            // Only the emits are timed; the queues are emptied between chunks.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(FANOUT_CHUNK);
                    let payloads: Vec<Payload> = (0..n).map(|_| payload.clone()).collect();
                    let start = Instant::now();
                    for p in payloads {
                        nsp.emit(EVENT, p).unwrap();
                    }
                    total += start.elapsed();
                    drain(&rt, &io, &sids);
                    left -= n;
                }
                total
            })
        });
    }
    g.finish();
    rt.block_on(io.close());
}

criterion_group!(
    benches,
    engineio,
    socketio,
    msgpack,
    broadcast_encode,
    broadcast_fanout
);
criterion_main!(benches);
