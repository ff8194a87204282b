//! roomcast from Rust, with the handlers of the benchmark contract (bench/README.md):
//! `join`, `fanout`, `echo` and `chat`.

use roomcast::{payload, Payload, Server, ServerConfig};
use serde_json::Value;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = Server::new(ServerConfig::default());
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
