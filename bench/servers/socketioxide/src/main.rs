//! Comparison server: socketioxide (Rust Socket.IO server) on a bare hyper
//! HTTP/1 server, websocket transport only, implementing the bench wire
//! contract (see bench/README.md): join, fanout, echo, chat.
//!
//! Usage: PORT=3000 roomcast-bench-socketioxide

use std::convert::Infallible;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::ConnectHandler;
use socketioxide::{SocketIo, TransportType};
use tokio::net::TcpListener;

#[derive(serde::Deserialize)]
struct Fanout {
    room: String,
    count: u64,
    #[serde(default)]
    event: Option<String>,
}

fn register(s: &SocketRef) {
    s.on(
        "join",
        async |s: SocketRef, Data(room): Data<String>, ack: AckSender| {
            s.join(room.clone());
            ack.send(&room).ok();
        },
    );
    s.on("fanout", async |io: SocketIo, Data(req): Data<Fanout>| {
        let event = req.event.unwrap_or_else(|| "tick".to_string());
        for i in 0..req.count {
            io.to(req.room.clone())
                .emit(&event, &json!({ "i": i }))
                .await
                .ok();
        }
    });
    s.on("echo", async |Data(data): Data<Value>, ack: AckSender| {
        ack.send(&data).ok();
    });
    s.on("chat", async |io: SocketIo, Data(msg): Data<Value>| {
        if let Some(room) = msg.get("room").and_then(Value::as_str) {
            io.to(room.to_string()).emit("chat", &msg).await.ok();
        }
    });
}

fn main() {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(serve(host, port));
}

async fn serve(host: String, port: u16) {
    let (svc, io) = SocketIo::builder()
        .transports([TransportType::Websocket])
        // The default per-socket queue (128 packets) makes emits fail when a
        // fanout of many events is queued at once; the other servers have
        // unbounded queues, so give this one plenty of room too.
        .max_buffer_size(1 << 20)
        .build_svc();

    // The handlers are registered in a connect *middleware*, which socketioxide
    // awaits before it sends the CONNECT reply. Registered in the connect
    // handler instead (the usual style), they race with the client: that
    // handler is spawned after the reply is queued, so an event sent right
    // after CONNECT (as the loadgen's `join` is) is occasionally dropped.
    io.ns(
        "/",
        (async || {}).with(async |s: SocketRef| {
            register(&s);
            Ok::<(), Infallible>(())
        }),
    );

    let listener = listen(&host, port).expect("bind");
    println!(
        "listening on {}",
        listener.local_addr().map(|a| a.port()).unwrap_or(port)
    );
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}

/// Binds with a 4096-connection accept backlog (the other bench servers use the
/// same; tokio's default of 1024 overflows under bursts of concurrent connects).
fn listen(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let addr: std::net::SocketAddr = (
        host.parse::<std::net::IpAddr>()
            .map_err(std::io::Error::other)?,
        port,
    )
        .into();
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(4096)
}
