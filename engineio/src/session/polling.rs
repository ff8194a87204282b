//! The long-polling side of a session: a GET takes the queued frames (or parks until there
//! are some), a POST brings packets in; one of each at a time.

use super::{
    CloseReason, EngineSession, PollError, State, TransportKind, CLIENT_CLOSE_GRACE,
    UPGRADE_CHECK_BOUND,
};
use crate::packet::{Frame, NOOP};
use crate::payload;
use std::sync::Arc;
use std::time::Instant;

/// What a polling GET answers.
#[derive(Debug, PartialEq, Eq)]
pub struct PollAnswer {
    pub body: Vec<u8>,
    /// `application/octet-stream` (v3 clients that take binary), else text.
    pub binary: bool,
    /// Whether the body may be compressed: some frame in it was sent with compression on,
    /// as engine.io's polling transport decides.
    pub compress: bool,
}

impl EngineSession {
    /// Answers a polling GET: the queued frames, parking until there are some.
    /// After close it answers the `close` packet.
    /// The body is binary (`application/octet-stream`) only for v3 clients that take binary.
    ///
    /// Two polls at once end the session, as in engine.io: the one that `arrival` says came
    /// second is refused (`Overlap`), the first answers the close. When the second was handled
    /// first (it came on another connection, served first), it is the one refused, so the
    /// client sees what a server handling requests in arrival order would answer.
    pub async fn poll(self: &Arc<Self>, arrival: u64) -> Result<PollAnswer, PollError> {
        let check;
        {
            let mut st = self.state.lock();
            self.check_alive(&mut st)?;
            if st.transport != TransportKind::Polling {
                return Err(PollError::WrongTransport);
            }
            if st.poll_waiting && st.poll_arrival < arrival {
                drop(st);
                self.close(CloseReason::TransportError);
                return Err(PollError::Overlap);
            }
            if st.poll_waiting {
                // The waiting poll came later: it sees `poll_arrival` change and answers the
                // overlap; this one takes its place and answers the close.
                st.poll_arrival = arrival;
                parking_lot::MutexGuard::unlocked(&mut st, || {
                    self.wake.notify_waiters();
                    self.close(CloseReason::TransportError);
                });
            }
            st.poll_waiting = true;
            st.poll_arrival = arrival;
            // The client's `5` may already be on the WebSocket, unread by its task: that
            // task reads what it has before it answers this check.
            check = st.upgrading.then(|| {
                st.checks_asked += 1;
                (st.checks_asked, Instant::now() + UPGRADE_CHECK_BOUND)
            });
        }
        if check.is_some() {
            self.upgrade_check.notify_one();
        }
        // If the client gives up on the request, the session is dead (the reference closes
        // it with "transport error").
        let mut guard = PollGuard {
            session: self,
            done: false,
        };
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let holding;
            {
                let mut st = self.state.lock();
                if st.poll_arrival != arrival {
                    // A poll that arrived before this one took its place (see above).
                    guard.done = true;
                    return Err(PollError::Overlap);
                }
                if !st.queue.is_empty() {
                    let (mut frames, mut uncompressed) = (Vec::new(), Vec::new());
                    st.take_queue(&mut frames, &mut uncompressed);
                    st.poll_waiting = false;
                    guard.done = true;
                    drop(st);
                    self.drained.notify_waiters();
                    self.drained_by_transport();
                    let compress = uncompressed.len() < frames.len();
                    return Ok(self.answer(&frames, compress));
                }
                if let Some(reason) = st.closed {
                    st.poll_waiting = false;
                    st.close_delivered = true;
                    guard.done = true;
                    let found_poll = st.close_found_poll;
                    drop(st);
                    self.drained.notify_waiters();
                    let last: Vec<Frame> = match reason {
                        CloseReason::TransportClose => vec![NOOP],
                        // engine.io discards the transport on shutdown and sends nothing to
                        // a later poll; a close packet tells the client more.
                        CloseReason::ServerShuttingDown => vec![crate::packet::CLOSE],
                        _ if found_poll => vec![crate::packet::CLOSE],
                        _ => vec![NOOP, crate::packet::CLOSE],
                    };
                    return Ok(self.answer(&last, true));
                }
                let upgraded = st.transport != TransportKind::Polling;
                if upgraded && check.is_some() {
                    // The client's `5` came before this poll: polling is over for it.
                    st.poll_waiting = false;
                    guard.done = true;
                    return Err(PollError::WrongTransport);
                }
                let checking = check.is_some_and(|(ticket, bound)| {
                    st.checks_done < ticket && Instant::now() < bound
                });
                if (st.upgrading && !checking) || upgraded {
                    // Releases the pending GET so the client can finish the upgrade.
                    st.poll_waiting = false;
                    guard.done = true;
                    return Ok(self.answer(&[NOOP], true));
                }
                holding = st.upgrading && checking;
            }
            match check {
                Some((_, bound)) if holding => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(bound.into()) => {}
                    }
                }
                _ => notified.await,
            }
        }
    }

    /// The client closed the connection of the poll with `arrival` while it waited: the
    /// session ends ("transport error"), and the poll answers nothing more (its connection is
    /// gone). A poll that has already answered, or another one, is left alone.
    pub fn abort_poll(self: &Arc<Self>, arrival: u64) {
        {
            let mut st = self.state.lock();
            if !(st.poll_waiting && st.poll_arrival == arrival) {
                return;
            }
            st.poll_waiting = false;
            // Arrival numbers start at 1: the waiting poll sees its place taken and ends.
            st.poll_arrival = 0;
        }
        self.close(CloseReason::TransportError);
    }

    /// Refuses a request to a session that has ended for the client, though its sid may
    /// still be routable: a poll took the close, the heartbeat deadline passed before the
    /// request was read, the client's own close was answered, or its transport failed (an
    /// aborted or overlapping poll, an undecodable payload: engine.io forgets such a session
    /// at once, only a poll already waiting gets the close).
    fn check_alive(
        self: &Arc<Self>,
        st: &mut parking_lot::MutexGuard<'_, State>,
    ) -> Result<(), PollError> {
        if self.heartbeat_expired(st) {
            parking_lot::MutexGuard::unlocked(st, || self.close(CloseReason::PingTimeout));
            return Err(PollError::Gone);
        }
        let client_close_over = st.closed == Some(CloseReason::TransportClose)
            && st
                .closed_at
                .is_some_and(|at| at.elapsed() >= CLIENT_CLOSE_GRACE);
        let transport_failed = matches!(
            st.closed,
            Some(CloseReason::TransportError | CloseReason::ParseError)
        );
        if st.close_delivered || client_close_over || transport_failed {
            return Err(PollError::Gone);
        }
        Ok(())
    }

    /// After a POST that carried the client's close: waits until a poll the client sent
    /// with it has taken the noop, or the grace for one has passed, so the POST's answer
    /// comes after both and a poll sent after that answer finds the session gone.
    pub async fn client_close_settled(&self) {
        let deadline = {
            let st = self.state.lock();
            match (st.closed, st.closed_at) {
                (Some(CloseReason::TransportClose), Some(at))
                    if st.transport == TransportKind::Polling && !st.close_delivered =>
                {
                    at + CLIENT_CLOSE_GRACE
                }
                _ => return,
            }
        };
        let _ = tokio::time::timeout_at(deadline.into(), self.close_delivered()).await;
    }

    /// Marks a polling POST as in progress (before its body is read). A second POST while
    /// one is in progress closes the session, as in engine.io.
    pub fn begin_post(self: &Arc<Self>) -> Result<PostGuard<'_>, PollError> {
        {
            let mut st = self.state.lock();
            self.check_alive(&mut st)?;
            if st.transport != TransportKind::Polling && !st.upgrading {
                return Err(PollError::WrongTransport);
            }
            if st.post_active {
                drop(st);
                self.close(CloseReason::TransportError);
                return Err(PollError::Overlap);
            }
            st.post_active = true;
        }
        Ok(PostGuard { session: self })
    }

    fn answer(&self, frames: &[Frame], compress: bool) -> PollAnswer {
        let (body, binary) = self.encode_payload(frames);
        PollAnswer {
            body,
            binary,
            compress,
        }
    }

    /// Encodes frames as a polling response body for this session's protocol.
    pub fn encode_payload(&self, frames: &[Frame]) -> (Vec<u8>, bool) {
        if self.protocol == 3 {
            crate::payload_v3::encode(frames, self.supports_binary)
        } else {
            (payload::encode(frames), false)
        }
    }

    /// Handles a polling POST body (bounded by the driver). `binary` is a v3 client's
    /// `application/octet-stream` payload.
    pub fn post(self: &Arc<Self>, body: &[u8], binary: bool) {
        let decoded = match (self.protocol, binary) {
            (3, true) => crate::payload_v3::decode_binary_payload(body),
            (3, false) => std::str::from_utf8(body)
                .map_err(|_| crate::packet::PacketError::BadLength)
                .and_then(crate::payload_v3::decode_text_payload),
            _ => std::str::from_utf8(body)
                .map_err(|_| crate::packet::PacketError::Empty)
                .and_then(payload::decode),
        };
        match decoded {
            Ok(packets) => {
                for p in packets {
                    self.on_packet(p);
                }
            }
            Err(e) => {
                tracing::debug!(sid = %self.sid, error = %e, "malformed polling payload");
                self.close(CloseReason::ParseError);
            }
        }
    }
}

/// Ends a POST's in-progress mark when dropped.
pub struct PostGuard<'a> {
    session: &'a Arc<EngineSession>,
}

impl Drop for PostGuard<'_> {
    fn drop(&mut self) {
        self.session.state.lock().post_active = false;
    }
}

struct PollGuard<'a> {
    session: &'a Arc<EngineSession>,
    done: bool,
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.session.state.lock().poll_waiting = false;
            self.session.close(CloseReason::TransportError);
        }
    }
}
