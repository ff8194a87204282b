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
    let answer = s.poll(1).await.expect("a poll answer");
    String::from_utf8(answer.body).expect("text payload")
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

/// Spawns a poll with `arrival` and waits until it has parked.
async fn parked_poll(
    s: &Arc<EngineSession>,
    arrival: u64,
) -> tokio::task::JoinHandle<Result<PollAnswer, PollError>> {
    let task = tokio::spawn({
        let s = s.clone();
        async move { s.poll(arrival).await }
    });
    while !(s.state.lock().poll_waiting && s.state.lock().poll_arrival == arrival) {
        tokio::task::yield_now().await;
    }
    task
}

fn text(answer: Result<PollAnswer, PollError>) -> Result<String, PollError> {
    answer.map(|a| String::from_utf8(a.body).expect("text payload"))
}

#[tokio::test]
async fn of_two_overlapping_polls_the_later_arrival_is_refused() {
    // Handled in arrival order: the waiting poll answers the close, the new one is refused.
    let s = session_on(TransportKind::Polling, 1000);
    let first = parked_poll(&s, 3).await;
    assert_eq!(text(s.poll(5).await), Err(PollError::Overlap));
    assert_eq!(text(first.await.expect("the poll")), Ok("1".to_string()));
    assert_eq!(s.close_reason(), Some(CloseReason::TransportError));
}

#[tokio::test]
async fn a_poll_handled_first_but_arrived_later_is_the_one_refused() {
    // Two connections served in the other order: the waiting poll came later, so it is the
    // overlap; the one that came first answers the close, as in arrival order.
    let s = session_on(TransportKind::Polling, 1000);
    let later = parked_poll(&s, 5).await;
    assert_eq!(text(s.poll(3).await), Ok("1".to_string()));
    assert_eq!(
        text(later.await.expect("the poll")),
        Err(PollError::Overlap)
    );
    assert_eq!(s.close_reason(), Some(CloseReason::TransportError));
}

#[tokio::test]
async fn after_an_aborted_poll_the_session_is_gone_for_new_requests() {
    // engine.io forgets a session whose poll was aborted ("poll connection closed
    // prematurely"): the next poll finds the sid unknown, it gets no close packet.
    let s = session_on(TransportKind::Polling, 1000);
    let aborted = parked_poll(&s, 1).await;
    aborted.abort();
    let _ = aborted.await;
    assert_eq!(s.close_reason(), Some(CloseReason::TransportError));
    assert_eq!(text(s.poll(2).await), Err(PollError::Gone));
    assert!(matches!(s.begin_post(), Err(PollError::Gone)));
}

#[tokio::test]
async fn the_queue_is_bounded_by_bytes() {
    let s = session(1000);
    // One message larger than the bound fits an empty queue: the client can read it.
    s.send(Frame::text("x".repeat(1500)))
        .expect("first message");
    let mut taken = Vec::new();
    s.next_frames(&mut taken, &mut Vec::new())
        .await
        .expect("open");
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
    s.next_frames(&mut taken, &mut Vec::new())
        .await
        .expect("open");
    // The writer took it, but the host has not ended its turn: engine.io's transport
    // would not be writable yet.
    super::super::host_turn::end_host_turn();
    s.send(Frame::text("regular")).expect("queued");
    s.next_frames(&mut taken, &mut Vec::new())
        .await
        .expect("open");
    assert!(!s.send_volatile(&[Frame::text("same turn")]));
    super::super::host_turn::end_host_turn();
    assert!(s.send_volatile(&[Frame::text("next turn")]));
}
