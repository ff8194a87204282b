//! Acknowledgements awaited from one socket are capped by `max_pending_acks`.

mod common;

use common::{blocking, RawClient};
use roomcast::{payload, EmitError, Server, ServerConfig, SocketRef};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_past_the_pending_ack_limit_fail_and_send_nothing() {
    let io = Server::new(ServerConfig {
        max_pending_acks: 2,
        ..ServerConfig::default()
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<SocketRef>();
    io.sockets().on_connection(move |socket| {
        let _ = tx.send(socket);
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    let (client_tx, client_rx) = std::sync::mpsc::channel::<&'static str>();
    let client = blocking(move || {
        let mut client = RawClient::open(addr);
        assert!(client.connect("/").starts_with("40{"));
        client
    })
    .await;
    let socket = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("the connection handler ran")
        .expect("a socket");

    // No timeout: these wait until the client answers or leaves.
    let first = socket.emit_with_ack("q", payload!(1), None).expect("first");
    let _second = socket
        .emit_with_ack("q", payload!(2), None)
        .expect("second");
    match socket.emit_with_ack("q", payload!(3), None) {
        Err(EmitError::TooManyPendingAcks(2)) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a third pending ack was accepted"),
    }

    // The client saw two events; answering the first frees a place.
    let reader = tokio::task::spawn_blocking(move || {
        let mut client = client;
        let a = client.next_packet();
        let b = client.next_packet();
        let id = a
            .strip_prefix("42")
            .and_then(|rest| rest.split('[').next())
            .expect("an event with an ack id")
            .to_string();
        assert!(b.starts_with("42") && b.ends_with("[\"q\",2]"), "{b}");
        client.send(&format!("43{id}[\"ok\"]"));
        let _ = client_rx.recv_timeout(Duration::from_secs(5));
        client
    });
    let answer = tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .expect("the answer arrived")
        .expect("an answer");
    assert_eq!(answer.json, "[\"ok\"]");
    let _fourth = socket
        .emit_with_ack("q", payload!(4), None)
        .expect("room for one more after an answer");
    client_tx.send("done").unwrap();
    drop(reader.await);
    io.close().await;
}
