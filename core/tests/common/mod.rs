//! A raw Engine.IO v4 / Socket.IO v5 client over a real WebSocket, for tests that look at the
//! server's state (`Server::stats()`) after exact packets.

#![allow(dead_code)] // each test file uses its own part of it

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tungstenite::{Message, WebSocket};

/// Every read is bounded: a missing answer fails the test instead of hanging it.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub struct RawClient {
    ws: WebSocket<TcpStream>,
}

impl RawClient {
    /// Opens a WebSocket-only Engine.IO session and reads its open packet.
    pub fn open(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).expect("connect to the test server");
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("set a read timeout");
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("WebSocket handshake");
        let mut client = RawClient { ws };
        let open = client.next_packet();
        assert!(
            open.starts_with("0{"),
            "expected the open packet, got {open:?}"
        );
        client
    }

    pub fn send(&mut self, text: &str) {
        self.ws
            .send(Message::text(text))
            .expect("send a WebSocket message");
    }

    /// The next Engine.IO text packet, answering pings on the way.
    pub fn next_packet(&mut self) -> String {
        loop {
            match self.ws.read().expect("a packet within the read timeout") {
                Message::Text(t) if t.as_str() == "2" => self.send("3"),
                Message::Text(t) => return t.to_string(),
                Message::Close(frame) => panic!("the server closed the WebSocket: {frame:?}"),
                _ => {}
            }
        }
    }

    /// Sends a Socket.IO CONNECT for `nsp` and returns the server's answer (`40…` or `44…`).
    pub fn connect(&mut self, nsp: &str) -> String {
        self.send(&format!("40{nsp},"));
        self.next_packet()
    }
}

/// Runs blocking client code off the runtime the server runs on.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("the client code did not panic")
}

/// Waits until `check` holds, re-testing every few milliseconds, for at most five seconds:
/// for state with no event to wait on (a session's removal).
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still not true after {READ_TIMEOUT:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl RawClient {
    /// Closes the WebSocket as a client leaving would.
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        // Read until the server's close answer (or the end of the stream).
        while self.ws.read().is_ok() {}
    }
}
