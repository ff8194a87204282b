//! The WebSocket side of a session: the upgrade from polling (probe, check, finish or
//! abort), and the queue a WebSocket writer drains.

use super::{CloseReason, EngineSession, TransportKind};
use crate::packet::Frame;
use std::sync::Arc;

impl EngineSession {
    /// A WebSocket may start probing this session: it is on polling and no other probe runs.
    /// The claim ends when the returned [`Probe`] finishes the upgrade or is dropped.
    pub fn try_begin_probe(self: &Arc<Self>) -> Option<Probe> {
        let mut st = self.state.lock();
        if st.transport != TransportKind::Polling || st.probing || st.closed.is_some() {
            return None;
        }
        st.probing = true;
        Some(Probe {
            session: self.clone(),
            finished: false,
        })
    }

    /// The client sent `2probe` on a new WebSocket: from now on a parked poll is released.
    pub fn start_upgrade(self: &Arc<Self>) {
        self.state.lock().upgrading = true;
        self.wake.notify_waiters();
        if let Some(h) = self.handler() {
            h.on_upgrade(self, false);
        }
    }

    /// For the probing WebSocket: resolves when a poll asks it to read what it has received.
    pub async fn upgrade_check_asked(&self) {
        self.upgrade_check.notified().await;
    }

    /// The probing WebSocket has read everything it had received, without a `5`: the polls
    /// that asked so far may be answered.
    pub fn upgrade_checked(&self) {
        {
            let mut st = self.state.lock();
            st.checks_done = st.checks_asked;
        }
        self.wake.notify_waiters();
    }

    /// The client sent `5`: the WebSocket becomes the transport and takes over the queue.
    ///
    /// Also when the session closed during the probe: the client paused polling for the
    /// upgrade and now reads only the WebSocket, so whatever the close left queued (a
    /// DISCONNECT) goes out there before it closes, as engine.io flushes its write buffer on
    /// the new transport. No poll will fetch the close any more, so the sid need not wait
    /// for one.
    fn finish_upgrade(self: &Arc<Self>) {
        {
            let mut st = self.state.lock();
            st.upgrading = false;
            st.transport = TransportKind::WebSocket;
            if st.closed.is_some() {
                st.close_delivered = true;
            }
        }
        self.wake.notify_waiters();
        self.drained.notify_waiters();
        if let Some(h) = self.handler() {
            h.on_upgrade(self, true);
        }
    }

    /// The probe ended before `5`: stay on polling, and let a later WebSocket probe again.
    fn abort_upgrade(self: &Arc<Self>) {
        {
            let mut st = self.state.lock();
            if st.transport != TransportKind::Polling {
                return;
            }
            st.upgrading = false;
            st.probing = false;
        }
        // A poll held for the probe's check need not wait for a WebSocket that is gone.
        self.wake.notify_waiters();
    }

    /// For the WebSocket writer: waits for queued frames and takes them all. `None` once the
    /// session is closed and drained. `uncompressed` gets the positions in `into` of the
    /// frames sent with compression off.
    pub async fn next_frames(
        self: &Arc<Self>,
        into: &mut Vec<Frame>,
        uncompressed: &mut Vec<usize>,
    ) -> Option<()> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.take_queued(into, uncompressed) {
                Queued::Taken => return Some(()),
                Queued::Closed => return None,
                Queued::Nothing => notified.await,
            }
        }
    }

    /// For a WebSocket writer on a host's thread: takes what is queued, without waiting.
    /// `None` once the session is closed and drained.
    pub fn take_frames(
        self: &Arc<Self>,
        into: &mut Vec<Frame>,
        uncompressed: &mut Vec<usize>,
    ) -> Option<()> {
        match self.take_queued(into, uncompressed) {
            Queued::Closed => None,
            Queued::Taken | Queued::Nothing => Some(()),
        }
    }

    /// Takes every frame queued for the WebSocket, if any.
    fn take_queued(
        self: &Arc<Self>,
        into: &mut Vec<Frame>,
        uncompressed: &mut Vec<usize>,
    ) -> Queued {
        let mut st = self.state.lock();
        if st.transport == TransportKind::WebSocket && !st.queue.is_empty() {
            st.take_queue(into, uncompressed);
            drop(st);
            self.drained.notify_waiters();
            self.drained_by_transport();
            return Queued::Taken;
        }
        if st.closed.is_some() {
            return Queued::Closed;
        }
        Queued::Nothing
    }

    /// Resolves once [`EngineSession::take_frames`] has something to give: frames, or the
    /// end of the session.
    pub async fn frames_ready(&self) {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = self.state.lock();
                if (st.transport == TransportKind::WebSocket && !st.queue.is_empty())
                    || st.closed.is_some()
                {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Resolves once a closed polling session has answered its last poll (the queued packets,
    /// then the close), so its sid must stay routable until then.
    pub async fn close_delivered(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.state.lock().close_delivered {
                return;
            }
            notified.await;
        }
    }

    /// Resolves once the session is closed because its peer stopped reading or answering
    /// (slow consumer, ping timeout); never for other reasons, whose writers finish normally.
    pub async fn stalled(&self) {
        loop {
            let notified = self.closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.state.lock().closed {
                Some(CloseReason::SlowConsumer | CloseReason::PingTimeout) => return,
                Some(_) => break,
                None => {}
            }
            notified.await;
        }
        std::future::pending().await
    }
}

/// A WebSocket's claim on the upgrade of a polling session (only one exists at a time).
///
/// Dropped without [`Probe::finish`] — the 101 never reached the client, the WebSocket closed
/// or erred before `5`, the upgrade timed out, or its task ended — it gives the claim back,
/// so the session goes on over polling and the client can probe again.
pub struct Probe {
    session: Arc<EngineSession>,
    finished: bool,
}

impl Probe {
    pub fn session(&self) -> &Arc<EngineSession> {
        &self.session
    }

    /// The client sent `5`: the WebSocket becomes the transport (see `finish_upgrade`).
    pub fn finish(mut self) -> Arc<EngineSession> {
        self.finished = true;
        self.session.finish_upgrade();
        self.session.clone()
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if !self.finished {
            self.session.abort_upgrade();
        }
    }
}

/// What [`EngineSession::take_queued`] found.
enum Queued {
    Taken,
    /// Closed, and nothing left to send.
    Closed,
    Nothing,
}
