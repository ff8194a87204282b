//! The seed scenarios of roomcast, in Rust, on the in-memory adapter:
//!
//! - the default namespace `/`, where every socket joins "some room" and is greeted by
//!   `io.to("some room").emit("some event")`;
//! - "say to someone": `socket.broadcast.to(id).emit("my message", msg)`, using the room
//!   every socket has under its own id;
//! - the custom namespace `/my-namespace`, whose connection handler greets everyone with
//!   `nsp.emit("hi", "Hello everyone!")` — what the seed page at `/` prints;
//! - leaving every room on disconnect, which needs no code.
//!
//! `PORT` (default 3000) and `HOST` (default 127.0.0.1) choose the address.

use roomcast::{payload, Server, ServerConfig};

const SEED_PAGE: &str = include_str!("../../seed.html");

/// The browser client, from the `socket.io-client` npm package (installed by `scripts/demo`).
fn client_bundle() -> Option<Vec<u8>> {
    let candidates = [
        std::env::var("SIO_CLIENT_BUNDLE").ok(),
        Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/node_modules/socket.io-client/dist/socket.io.min.js"
            )
            .to_string(),
        ),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|p| std::fs::read(p).ok())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();

    let io = Server::new(ServerConfig::default());
    match client_bundle() {
        Some(bundle) => io.serve_client(bundle.into()),
        None => eprintln!("socket.io-client is not installed: /socket.io/socket.io.js will be missing (run scripts/demo)"),
    }
    io.set_fallback(|parts| {
        (parts.uri.path() == "/").then(|| {
            http::Response::builder()
                .header("content-type", "text/html; charset=utf-8")
                .body(bytes::Bytes::from_static(SEED_PAGE.as_bytes()))
                .unwrap_or_default()
        })
    });

    let root = io.sockets();
    let greeter = root.clone();
    root.on_connection(move |socket| {
        println!("someone connected to / as {}", socket.id());
        socket.join(["some room"]);
        let _ = greeter.to(["some room"]).emit("some event", payload!());
        socket.on("say to someone", |socket, args, _ack| {
            if let Ok((id, msg)) = args.parse::<(String, serde_json::Value)>() {
                let _ = socket
                    .broadcast()
                    .to([id.as_str()])
                    .emit("my message", payload!(msg));
            }
        });
        socket.on_disconnect(|socket, reason| {
            // Rooms are already left: nothing to tear down.
            println!("{} left ({reason})", socket.id());
        });
    });

    let nsp = io.of("/my-namespace");
    let everyone = nsp.clone();
    nsp.on_connection(move |_socket| {
        println!("someone connected to /my-namespace");
        let _ = everyone.emit("hi", payload!("Hello everyone!"));
    });

    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = io.listen((host.as_str(), port)).await?;
    println!("roomcast demo listening on http://{addr}/ (Ctrl-C to stop)");

    tokio::signal::ctrl_c().await?;
    io.close().await;
    Ok(())
}
