//! The socket-level ceiling of the benchmark: a plain WebSocket server that
//! does only what the bench wire contract needs (Engine.IO OPEN, Socket.IO
//! CONNECT, the `join`/`fanout`/`echo`/`chat` events), with no Socket.IO
//! library in the way. Every broadcast frame is encoded once and the same
//! buffer is queued to every member; one writer task per socket batches its
//! queue into as few writes as possible.
//!
//! Not a Socket.IO server: no polling, no namespaces, no binary, no
//! validation beyond what keeps it from crashing.
//!
//! Usage: PORT=3000 roomcast-bench-raw-ceiling

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

const PING_INTERVAL_MS: u64 = 25_000;
const PING_TIMEOUT_MS: u64 = 20_000;

type Tx = mpsc::UnboundedSender<Message>;

#[derive(Default)]
struct State {
    rooms: Mutex<HashMap<String, HashMap<u64, Tx>>>,
    next_id: AtomicU64,
}

impl State {
    /// Snapshot of a room's members (so the lock is not held while queueing).
    fn members(&self, room: &str) -> Vec<Tx> {
        let rooms = self.rooms.lock().unwrap();
        rooms
            .get(room)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
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
    rt.block_on(async move {
        let listener = listen(&host, port).expect("bind");
        println!(
            "listening on {}",
            listener.local_addr().map(|a| a.port()).unwrap_or(port)
        );
        let state = Arc::new(State::default());
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let state = state.clone();
            tokio::spawn(async move {
                let _ = connection(stream, state).await;
            });
        }
    });
}

// The signature is the one tungstenite's handshake callback requires.
#[allow(clippy::result_large_err)]
fn check_path(req: &Request, resp: Response) -> Result<Response, ErrorResponse> {
    if req.uri().path().starts_with("/socket.io") {
        Ok(resp)
    } else {
        let mut e = ErrorResponse::new(None);
        *e.status_mut() = StatusCode::NOT_FOUND;
        Err(e)
    }
}

async fn connection(
    stream: TcpStream,
    state: Arc<State>,
) -> Result<(), Box<dyn std::error::Error>> {
    stream.set_nodelay(true)?;
    let cfg = WebSocketConfig::default()
        .read_buffer_size(8192)
        .write_buffer_size(16384);
    let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, check_path, Some(cfg)).await?;
    let (mut sink, mut source) = ws.split();
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let sid = format!("c{id:015x}");

    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        let mut ping = tokio::time::interval(Duration::from_millis(PING_INTERVAL_MS));
        ping.tick().await;
        loop {
            let first = tokio::select! {
                m = rx.recv() => match m { Some(m) => m, None => break },
                _ = ping.tick() => Message::text("2"),
            };
            if sink.feed(first).await.is_err() {
                break;
            }
            // Drain whatever else is queued, then write it all in one go.
            while let Ok(m) = rx.try_recv() {
                if sink.feed(m).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let open = format!(
        "0{{\"sid\":\"{sid}\",\"upgrades\":[],\"pingInterval\":{PING_INTERVAL_MS},\"pingTimeout\":{PING_TIMEOUT_MS},\"maxPayload\":1000000}}"
    );
    let _ = tx.send(Message::text(open));

    let mut joined: Vec<String> = Vec::new();
    while let Some(msg) = source.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let s = text.as_str();
        match s.as_bytes().first() {
            Some(b'4') => {}
            Some(b'2') => {
                let _ = tx.send(Message::text(format!("3{}", &s[1..])));
                continue;
            }
            Some(b'1') => break,
            _ => continue, // pongs, noops, anything else
        }
        match s.as_bytes().get(1) {
            Some(b'0') => {
                let _ = tx.send(Message::text(format!("40{{\"sid\":\"{sid}\"}}")));
            }
            Some(b'1') => break,
            Some(b'2') => handle_event(&s[2..], id, &tx, &state, &mut joined),
            _ => {}
        }
    }

    {
        let mut rooms = state.rooms.lock().unwrap();
        for r in &joined {
            if let Some(m) = rooms.get_mut(r) {
                m.remove(&id);
                if m.is_empty() {
                    rooms.remove(r);
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
    Ok(())
}

#[derive(serde::Deserialize)]
struct Fanout<'a> {
    #[serde(borrow)]
    room: std::borrow::Cow<'a, str>,
    count: u64,
    #[serde(borrow, default)]
    event: Option<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct Chat<'a> {
    #[serde(borrow)]
    room: std::borrow::Cow<'a, str>,
}

/// `s` is an EVENT packet after its type digit: `[<ack id>]["name",args...]`.
fn handle_event(s: &str, id: u64, tx: &Tx, state: &State, joined: &mut Vec<String>) {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let ack: Option<&str> = if digits > 0 { Some(&s[..digits]) } else { None };
    let Ok(args) = serde_json::from_str::<Vec<&RawValue>>(&s[digits..]) else {
        return;
    };
    let Some(name) = args
        .first()
        .and_then(|n| serde_json::from_str::<&str>(n.get()).ok())
    else {
        return;
    };
    let reply_ack = |payload: &str| {
        if let Some(ack) = ack {
            let _ = tx.send(Message::text(format!("43{ack}[{payload}]")));
        }
    };
    match name {
        "join" => {
            let Some(room_raw) = args.get(1) else { return };
            let Ok(room) = serde_json::from_str::<String>(room_raw.get()) else {
                return;
            };
            state
                .rooms
                .lock()
                .unwrap()
                .entry(room.clone())
                .or_default()
                .insert(id, tx.clone());
            if !joined.contains(&room) {
                joined.push(room);
            }
            reply_ack(room_raw.get());
        }
        "echo" => {
            let rest: Vec<&str> = args[1..].iter().map(|a| a.get()).collect();
            reply_ack(&rest.join(","));
        }
        "fanout" => {
            let Some(req) = args
                .get(1)
                .and_then(|a| serde_json::from_str::<Fanout>(a.get()).ok())
            else {
                return;
            };
            let event =
                serde_json::to_string(req.event.as_deref().unwrap_or("tick")).unwrap_or_default();
            let members = state.members(&req.room);
            for i in 0..req.count {
                // Encoded once, shared by every member (Bytes is reference-counted).
                let frame = Utf8Bytes::from(format!("42[{event},{{\"i\":{i}}}]"));
                for m in &members {
                    let _ = m.send(Message::Text(frame.clone()));
                }
            }
        }
        "chat" => {
            let Some(raw) = args.get(1) else { return };
            let Ok(chat) = serde_json::from_str::<Chat>(raw.get()) else {
                return;
            };
            let frame = Utf8Bytes::from(format!("42[\"chat\",{}]", raw.get()));
            for m in state.members(&chat.room) {
                let _ = m.send(Message::Text(frame.clone()));
            }
        }
        _ => {}
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
