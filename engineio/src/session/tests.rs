//! Unit tests of the session: queue bounds, heartbeat, polling and upgrade races.

use super::*;

fn session(max_queued_bytes: usize) -> Arc<EngineSession> {
    session_on(TransportKind::WebSocket, max_queued_bytes)
}

fn session_on(transport: TransportKind, max_queued_bytes: usize) -> Arc<EngineSession> {
    let config = EngineConfig {
        max_queued_bytes,
        ..EngineConfig::default()
    };
    let request = RequestInfo {
        query: vec![("EIO".into(), "4".into())],
        ..Default::default()
    };
    EngineSession::new(Arc::new(config), transport, request)
}

async fn poll_text(s: &Arc<EngineSession>) -> String {
    let (body, _) = s.poll().await.expect("a poll answer");
    String::from_utf8(body).expect("text payload")
}

#[tokio::test]
async fn a_close_that_waits_for_a_poll_is_answered_after_a_noop() {
    // As engine.io's polling transport: a close buffered while no GET is pending goes out
    // as `6␞1` on the next one, also after the packets queued before it.
    let s = session_on(TransportKind::Polling, 1000);
    s.send(Frame::message("0{}")).expect("queued");
    s.close(CloseReason::ForcedClose);
    assert_eq!(poll_text(&s).await, "40{}");
    assert_eq!(poll_text(&s).await, "6\u{1e}1");

    let s = session_on(TransportKind::Polling, 1000);
    s.close(CloseReason::ForcedClose);
    assert_eq!(poll_text(&s).await, "6\u{1e}1");
}

#[tokio::test]
async fn a_close_that_finds_a_poll_waiting_answers_it_alone() {
    let s = session_on(TransportKind::Polling, 1000);
    let waiting = tokio::spawn({
        let s = s.clone();
        async move { poll_text(&s).await }
    });
    // The poll parks once it has nothing to answer.
    while !s.state.lock().poll_waiting {
        tokio::task::yield_now().await;
    }
    s.close(CloseReason::ForcedClose);
    assert_eq!(waiting.await.expect("the poll"), "1");
}

#[tokio::test]
async fn the_queue_is_bounded_by_bytes() {
    let s = session(1000);
    // One message larger than the bound fits an empty queue: the client can read it.
    s.send(Frame::text("x".repeat(1500)))
        .expect("first message");
    let mut taken = Vec::new();
    s.next_frames(&mut taken).await.expect("open");
    // Drained: the bound applies to what waits, not to what was sent.
    s.send(Frame::text("x".repeat(600)))
        .expect("under the bound");
    s.send(Frame::text("x".repeat(400)))
        .expect("exactly the bound");
    assert_eq!(
        s.send(Frame::text("x")),
        Err(CloseReason::SlowConsumer),
        "one byte past the bound"
    );
    assert_eq!(s.close_reason(), Some(CloseReason::SlowConsumer));
}

#[tokio::test]
async fn volatile_packets_are_dropped_behind_a_backlog() {
    let s = session(1000);
    s.send(Frame::text("backlog")).expect("queued");
    assert!(!s.send_volatile(&[Frame::text("volatile")]));
    assert_eq!(s.queued(), 1);
}

#[tokio::test]
async fn volatile_packets_are_dropped_in_the_host_turn_of_another_packet() {
    let s = session(1000);
    let mut taken = Vec::new();
    s.send(Frame::text("regular")).expect("queued");
    s.next_frames(&mut taken).await.expect("open");
    // The writer took it, but the host has not ended its turn: engine.io's transport
    // would not be writable yet.
    super::super::host_turn::end_host_turn();
    s.send(Frame::text("regular")).expect("queued");
    s.next_frames(&mut taken).await.expect("open");
    assert!(!s.send_volatile(&[Frame::text("same turn")]));
    super::super::host_turn::end_host_turn();
    assert!(s.send_volatile(&[Frame::text("next turn")]));
}
