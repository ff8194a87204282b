//! Minimal Engine.IO v4 / Socket.IO v5 client over a WebSocket.
//!
//! Only what the benchmark needs: the websocket transport (no polling, no
//! upgrade), the default namespace, text packets. Engine.IO pings (`2`) are
//! answered with pongs (`3`) transparently inside [`Conn::recv`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::tls::Stream;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpSocket;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// Socket.IO packet types (the digit after the Engine.IO `4`).
pub const SIO_CONNECT: u8 = 0;
pub const SIO_EVENT: u8 = 2;
pub const SIO_ACK: u8 = 3;
pub const SIO_CONNECT_ERROR: u8 = 4;

/// Engine.IO pings answered by every connection of this process.
pub static PONGS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
pub enum ConnError {
    Timeout(&'static str),
    Io(std::io::Error),
    Ws(String),
    Closed,
    Protocol(String),
    Rejected(String),
}

impl ConnError {
    /// Short stable name, used as a key in the error counters.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnError::Timeout(_) => "timeout",
            ConnError::Io(_) => "io",
            ConnError::Ws(_) => "websocket",
            ConnError::Closed => "closed",
            ConnError::Protocol(_) => "protocol",
            ConnError::Rejected(_) => "rejected",
        }
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Timeout(what) => write!(f, "timed out during {what}"),
            ConnError::Io(e) => write!(f, "io: {e}"),
            ConnError::Ws(e) => write!(f, "websocket: {e}"),
            ConnError::Closed => write!(f, "connection closed"),
            ConnError::Protocol(e) => write!(f, "protocol: {e}"),
            ConnError::Rejected(e) => write!(f, "connect rejected: {e}"),
        }
    }
}

impl From<std::io::Error> for ConnError {
    fn from(e: std::io::Error) -> Self {
        ConnError::Io(e)
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for ConnError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        use tokio_tungstenite::tungstenite::Error as E;
        match e {
            E::ConnectionClosed | E::AlreadyClosed => ConnError::Closed,
            E::Io(io) => ConnError::Io(io),
            other => ConnError::Ws(other.to_string()),
        }
    }
}

/// One Socket.IO packet received from the server (default namespace only).
pub struct Packet {
    text: Utf8Bytes,
    /// Socket.IO packet type (0..=6).
    pub kind: u8,
    /// Ack id, when present.
    pub ack: Option<u64>,
    data_off: usize,
}

impl Packet {
    /// The JSON part of the packet (may be empty).
    pub fn data(&self) -> &str {
        &self.text.as_str()[self.data_off..]
    }

    /// For an EVENT packet `["name", ...]`: true when the event name is `name`.
    /// Tolerates whitespace after the bracket; names with escapes never match.
    pub fn is_event(&self, name: &str) -> bool {
        let d = self.data().trim_start();
        let Some(rest) = d.strip_prefix('[') else {
            return false;
        };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix('"') else {
            return false;
        };
        rest.len() > name.len() && rest.starts_with(name) && rest.as_bytes()[name.len()] == b'"'
    }
}

/// Parses the Socket.IO part of an Engine.IO message packet (`s` starts after the `4`).
fn parse_sio(text: Utf8Bytes) -> Result<Packet, ConnError> {
    let b = text.as_bytes();
    // b[0] is the Engine.IO '4'.
    if b.len() < 2 || !b[1].is_ascii_digit() {
        return Err(ConnError::Protocol(format!(
            "bad socket.io packet: {:.60}",
            text.as_str()
        )));
    }
    let kind = b[1] - b'0';
    let mut i = 2;
    if kind == 5 || kind == 6 {
        return Err(ConnError::Protocol(
            "binary packets are not used by the benchmark".into(),
        ));
    }
    if i < b.len() && b[i] == b'/' {
        // Namespace: only the default namespace is used, but skip it gracefully.
        while i < b.len() && b[i] != b',' {
            i += 1;
        }
        if i < b.len() {
            i += 1;
        }
    }
    let mut ack: Option<u64> = None;
    while i < b.len() && b[i].is_ascii_digit() {
        let d = (b[i] - b'0') as u64;
        ack = Some(ack.unwrap_or(0).saturating_mul(10).saturating_add(d));
        i += 1;
    }
    Ok(Packet {
        text,
        kind,
        ack,
        data_off: i,
    })
}

#[derive(Clone)]
pub struct ConnOpts {
    pub addr: SocketAddr,
    pub path: String,
    pub timeout: Duration,
    pub read_buf: usize,
    /// `wss://` with this connector.
    pub tls: Option<tokio_rustls::TlsConnector>,
}

impl ConnOpts {
    fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!(
            "{scheme}://{}{}?EIO=4&transport=websocket",
            self.addr, self.path
        )
    }
}

pub struct Conn {
    ws: WebSocketStream<Stream>,
    /// Socket.IO session id from the CONNECT reply.
    pub sid: String,
    next_ack: u64,
}

impl Conn {
    /// TCP connect (optionally from a given source address), WebSocket
    /// handshake, Engine.IO OPEN, Socket.IO CONNECT. Bounded by `opts.timeout`.
    pub async fn connect(opts: &ConnOpts, source: Option<IpAddr>) -> Result<Conn, ConnError> {
        match timeout(opts.timeout, Self::connect_inner(opts, source)).await {
            Ok(r) => r,
            Err(_) => Err(ConnError::Timeout("connect")),
        }
    }

    async fn connect_inner(opts: &ConnOpts, source: Option<IpAddr>) -> Result<Conn, ConnError> {
        let sock = if opts.addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(src) = source {
            sock.bind(SocketAddr::new(src, 0))?;
        }
        let stream = sock.connect(opts.addr).await?;
        stream.set_nodelay(true)?;
        let stream = Stream::open(stream, opts.tls.as_ref()).await?;
        let cfg = WebSocketConfig::default()
            .read_buffer_size(opts.read_buf)
            .write_buffer_size(0)
            .max_message_size(Some(16 << 20));
        let (ws, _resp) =
            tokio_tungstenite::client_async_with_config(opts.url(), stream, Some(cfg)).await?;
        let mut conn = Conn {
            ws,
            sid: String::new(),
            next_ack: 0,
        };
        // Engine.IO OPEN.
        loop {
            match conn.ws.next().await {
                None => return Err(ConnError::Closed),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(Message::Text(t))) => {
                    if t.as_str().starts_with('0') {
                        break;
                    }
                    return Err(ConnError::Protocol(format!(
                        "expected engine.io open, got {:.60}",
                        t.as_str()
                    )));
                }
                Some(Ok(Message::Close(_))) => return Err(ConnError::Closed),
                Some(Ok(_)) => continue,
            }
        }
        conn.send_text("40").await?;
        loop {
            let p = conn.recv().await?;
            match p.kind {
                SIO_CONNECT => {
                    conn.sid = extract_sid(p.data()).unwrap_or_default();
                    return Ok(conn);
                }
                SIO_CONNECT_ERROR => {
                    return Err(ConnError::Rejected(p.data().chars().take(120).collect()))
                }
                _ => continue,
            }
        }
    }

    pub async fn send_text(&mut self, s: impl Into<Utf8Bytes>) -> Result<(), ConnError> {
        self.ws
            .send(Message::Text(s.into()))
            .await
            .map_err(Into::into)
    }

    /// Allocates a fresh ack id for this connection.
    pub fn ack_id(&mut self) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        id
    }

    /// Next Socket.IO packet. Answers Engine.IO pings on the way; returns an
    /// error on close, on an Engine.IO CLOSE, or on a transport error.
    /// Unparseable packets are returned as `Protocol` errors and the caller may
    /// keep reading (the connection is still usable).
    pub async fn recv(&mut self) -> Result<Packet, ConnError> {
        loop {
            let msg = match self.ws.next().await {
                None => return Err(ConnError::Closed),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(m)) => m,
            };
            match msg {
                Message::Text(t) => {
                    let first = t.as_bytes().first().copied();
                    match first {
                        Some(b'4') => return parse_sio(t),
                        Some(b'2') => {
                            // ping (possibly "2probe") -> pong with the same payload
                            let reply = format!("3{}", &t.as_str()[1..]);
                            self.send_text(reply).await?;
                            PONGS.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(b'1') => return Err(ConnError::Closed),
                        Some(b'3') | Some(b'6') | Some(b'0') => {}
                        _ => {
                            return Err(ConnError::Protocol(format!(
                                "unknown engine.io packet: {:.40}",
                                t.as_str()
                            )))
                        }
                    }
                }
                Message::Close(_) => return Err(ConnError::Closed),
                // WebSocket-level ping/pong are handled by tungstenite; binary is unused.
                _ => {}
            }
        }
    }

    /// Waits for the ack with id `id`, ignoring (but not losing track of)
    /// other packets. Returns the ack's packet.
    pub async fn wait_ack(&mut self, id: u64, limit: Duration) -> Result<Packet, ConnError> {
        let fut = async {
            loop {
                match self.recv().await {
                    Ok(p) if p.kind == SIO_ACK && p.ack == Some(id) => return Ok(p),
                    Ok(_) => continue,
                    Err(ConnError::Protocol(_)) => continue,
                    Err(e) => return Err(e),
                }
            }
        };
        match timeout(limit, fut).await {
            Ok(r) => r,
            Err(_) => Err(ConnError::Timeout("ack")),
        }
    }

    /// Emits `["join", room]` with an ack id and waits for the ack.
    pub async fn join(&mut self, room: &str, limit: Duration) -> Result<(), ConnError> {
        let id = self.ack_id();
        let room_json = serde_json::to_string(room).unwrap_or_else(|_| "\"\"".into());
        self.send_text(format!("42{id}[\"join\",{room_json}]"))
            .await?;
        self.wait_ack(id, limit).await.map(|_| ())
    }
}

fn extract_sid(data: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Sid {
        sid: String,
    }
    serde_json::from_str::<Sid>(data).ok().map(|s| s.sid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_packets() {
        let p = parse_sio(Utf8Bytes::from("42[\"tick\",{\"i\":3}]")).unwrap();
        assert_eq!(p.kind, 2);
        assert_eq!(p.ack, None);
        assert!(p.is_event("tick"));
        assert!(!p.is_event("tic"));
        let p = parse_sio(Utf8Bytes::from("4317[\"bench\"]")).unwrap();
        assert_eq!(p.kind, 3);
        assert_eq!(p.ack, Some(17));
        assert_eq!(p.data(), "[\"bench\"]");
        let p = parse_sio(Utf8Bytes::from("40/admin,{\"sid\":\"x\"}")).unwrap();
        assert_eq!(p.kind, 0);
        assert_eq!(p.data(), "{\"sid\":\"x\"}");
        let p = parse_sio(Utf8Bytes::from("42[ \"tick\", {\"i\": 3}]")).unwrap();
        assert!(p.is_event("tick"));
        assert!(parse_sio(Utf8Bytes::from("4")).is_err());
        assert!(parse_sio(Utf8Bytes::from("4x")).is_err());
    }
}
