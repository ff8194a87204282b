//! roomcast from Rust, with the handlers of the benchmark contract (bench/README.md):
//! `join`, `fanout`, `echo` and `chat`.
//!
//! For cluster benchmarks (bench/capacity.js): `REDIS_URL` puts the node on the classic
//! pub/sub Redis adapter (`REDIS_ADAPTER=streams`: the streams adapter), and
//! `PING_INTERVAL` / `PING_TIMEOUT` (ms) shorten the heartbeat.

use std::sync::Arc;
use std::time::Duration;

use roomcast::{payload, Payload, Server, ServerConfig};
use serde_json::Value;

fn env_ms(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

fn config_from_env() -> Result<ServerConfig, String> {
    let mut config = ServerConfig::default();
    if let Some(d) = env_ms("PING_INTERVAL") {
        config.engine.ping_interval = d;
    }
    if let Some(d) = env_ms("PING_TIMEOUT") {
        config.engine.ping_timeout = d;
    }
    if let Ok(url) = std::env::var("REDIS_URL") {
        config.adapter = match std::env::var("REDIS_ADAPTER").as_deref() {
            Ok("streams") => roomcast_redis::RedisStreamsAdapterFactory::new(
                roomcast_redis::RedisStreamsConfig::new(url),
            )
            .map(|f| Arc::new(f) as _),
            Ok("pubsub") | Err(_) => roomcast_redis::RedisAdapterFactory::new(
                roomcast_redis::RedisAdapterConfig::new(url),
            )
            .map(|f| Arc::new(f) as _),
            Ok(other) => return Err(format!("REDIS_ADAPTER={other:?}: use pubsub or streams")),
        }
        .map_err(|e| format!("REDIS_URL: {e}"))?;
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let config = match config_from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("roomcast-bench-server: {e}");
            std::process::exit(2);
        }
    };
    let io = Server::new(config);
    let root = io.sockets();
    let nsp = root.clone();
    root.on_connection(move |socket| {
        socket.on("join", |socket, args, ack| {
            let room: String = args.first().unwrap_or_default();
            socket.join([room.as_str()]);
            if let Some(ack) = ack {
                ack.send(payload!(room));
            }
        });
        let fanout_nsp = nsp.clone();
        socket.on("fanout", move |_, args, _| {
            let spec: Value = args.first().unwrap_or(Value::Null);
            let room = spec
                .get("room")
                .and_then(Value::as_str)
                .unwrap_or("bench")
                .to_string();
            let count = spec.get("count").and_then(Value::as_u64).unwrap_or(0);
            let event = spec
                .get("event")
                .and_then(Value::as_str)
                .unwrap_or("tick")
                .to_string();
            let op = fanout_nsp.to([room.as_str()]);
            for i in 0..count {
                let _ = op.emit(&event, Payload::from_json(format!("[{{\"i\":{i}}}]")));
            }
        });
        socket.on("echo", |_, args, ack| {
            if let Some(ack) = ack {
                ack.send(args);
            }
        });
        let chat_nsp = nsp.clone();
        socket.on("chat", move |_, args, _| {
            let room = args
                .first::<Value>()
                .and_then(|v| v.get("room").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            let _ = chat_nsp.to([room.as_str()]).emit("chat", args);
        });
    });

    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let addr = io.listen((host.as_str(), port)).await?;
    println!("listening on {}", addr.port());
    term.recv().await;
    io.close().await;
    Ok(())
}
