//! A WebSocket framed by the host (ASGI) has the native listener's `maxHttpBufferSize`.

use roomcast::{Server, ServerConfig, WsMessage};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn upgrade_request() -> http::request::Parts {
    let (parts, ()) = http::Request::get("/socket.io/?EIO=4&transport=websocket")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .body(())
        .expect("a valid request")
        .into_parts();
    parts
}

async fn next_text(ws: &mut roomcast::WebSocketChannel) -> Option<String> {
    match tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("an answer in time")
    {
        Some(WsMessage::Text(t)) => Some(t),
        Some(WsMessage::Binary(_)) => panic!("unexpected binary message"),
        None => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_max_http_buffer_size_closes_the_session() {
    let mut config = ServerConfig::default();
    config.engine.max_http_buffer_size = 100;
    let io = Server::new(config);
    let mut ws = io
        .open_websocket(&upgrade_request(), None)
        .expect("the upgrade is accepted");
    assert!(next_text(&mut ws).await.expect("open").starts_with("0{"));
    ws.push(WsMessage::Text("40".into()));
    assert!(next_text(&mut ws)
        .await
        .expect("CONNECT")
        .starts_with("40{"));

    // Within the limit: an event nobody handles changes nothing.
    ws.push(WsMessage::Text(format!("42[\"x\",\"{}\"]", "a".repeat(50))));
    assert_eq!(io.stats().sessions, 1);
    // Over it: the server closes the WebSocket.
    ws.push(WsMessage::Text(format!(
        "42[\"x\",\"{}\"]",
        "a".repeat(200)
    )));
    while let Some(message) = next_text(&mut ws).await {
        assert!(message == "2", "unexpected message {message:?}");
    }
    assert_eq!(io.stats().sockets, 0);
    io.close().await;
}
