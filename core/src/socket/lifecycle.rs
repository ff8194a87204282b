//! A socket's life as its client and namespace drive it: connected, announced (CONNECT
//! queued), ready (the host's connection handler ran), events and acks in, and the close —
//! claimed once, whoever starts it.

use super::{AckError, AckSender, AckWaiter, DisconnectReason, IncomingEvent};
use super::{Announcement, Socket};
use crate::engineio::CloseReason;
use crate::host::Pending;
use crate::socketio::packet::PacketKind;
use crate::Payload;
use std::sync::Arc;

impl Socket {
    /// Disconnects the socket from its namespace; with `close` the whole connection closes.
    pub fn disconnect(self: &Arc<Self>, close: bool) {
        crate::hand_off::barrier();
        if !self.connected() {
            return;
        }
        if close {
            self.client.disconnect_all();
            self.client.session.close(CloseReason::ForcedClose);
        } else {
            self.close_with_disconnect_packet();
        }
    }

    /// Disconnects the socket from its namespace (reason "server namespace disconnect") for a
    /// host that has run its `disconnecting` step itself, as socket.io's `disconnect()` runs
    /// those listeners within the call: DISCONNECT is queued and the socket has left its rooms
    /// and namespace when this returns, without a round trip to the host; the host still hears
    /// `disconnected`. Does nothing when the socket is already leaving.
    pub fn disconnect_now(self: &Arc<Self>) {
        crate::hand_off::barrier();
        if !self.claim_close() {
            return;
        }
        self.queue_disconnect_packet();
        self.finish_close(DisconnectReason::ServerNamespaceDisconnect, false);
    }

    fn queue_disconnect_packet(&self) {
        let frame = self
            .nsp
            .parser()
            .control(PacketKind::Disconnect, self.ns(), None);
        self.queue_frames(&[frame], crate::socket::SendFlags::DEFAULT);
    }

    /// Leaves with reason "server namespace disconnect" after queuing DISCONNECT for the
    /// client. The socket is marked closed before the packet is queued: a client that answers
    /// the packet by closing its connection (socket.io-client does, for its last namespace) can
    /// otherwise be seen closing first, and the socket would leave with "transport close".
    pub(crate) fn close_with_disconnect_packet(self: &Arc<Self>) {
        if !self.claim_close() {
            return;
        }
        self.queue_disconnect_packet();
        self.finish_close(DisconnectReason::ServerNamespaceDisconnect, true);
    }

    // ---- driven by the client / namespace ----

    /// The socket belongs to its client from now on (a close runs its disconnect steps); it
    /// enters its namespace when [`Socket::announce`] runs.
    pub(crate) fn mark_connected(&self, announcement: Announcement) {
        let mut st = self.state.lock();
        st.connected = true;
        st.announcement = Some(announcement);
    }

    /// Enters the namespace: joins the socket's own room (and a recovered session's rooms)
    /// and sends CONNECT. A host calls this right before it runs the connection handlers, so
    /// that — as in socket.io, where both happen in one tick — no code of the host runs
    /// between the client learning it is connected and the handlers' `join`s. Runs once;
    /// later calls, and calls after the socket left, do nothing. The core calls it itself
    /// when the connection handlers have finished, for hosts that do not.
    pub fn announce(self: &Arc<Self>) {
        // A broadcast the host handed off before this call must not reach the socket.
        crate::hand_off::barrier();
        let Some(announcement) = self.state.lock().announcement.take() else {
            return;
        };
        self.client.announce(self, announcement);
    }

    /// The host's connection handler has run: hand over the events that waited for it, in
    /// order, then deliver new ones directly.
    pub(crate) fn mark_ready(self: &Arc<Self>) {
        self.announce();
        loop {
            let batch = {
                let mut st = self.state.lock();
                if st.backlog.is_empty() {
                    st.ready = true;
                    return;
                }
                st.backlog_bytes = 0;
                std::mem::take(&mut st.backlog)
            };
            for ev in batch {
                self.nsp.handler().event(self, ev);
            }
        }
    }

    pub(crate) fn on_event(self: &Arc<Self>, ev: IncomingEvent) {
        {
            let mut st = self.state.lock();
            if !st.connected {
                return;
            }
            if !st.ready {
                // Held until the connection handler has run: bounded like the host's queue.
                st.backlog_bytes += ev.byte_len();
                if st.backlog_bytes > self.nsp.host_backlog_limits().0 {
                    let held = st.backlog_bytes;
                    drop(st);
                    self.close_for_host_backlog(held);
                    return;
                }
                st.backlog.push(ev);
                return;
            }
        }
        self.nsp.handler().event(self, ev);
    }

    /// Closes the connection of a client whose events the host cannot keep up with.
    pub(crate) fn close_for_host_backlog(&self, held: usize) {
        tracing::warn!(
            socket = %self.id,
            held_bytes = held,
            "events waiting for the host passed their bound: closing the connection (host backlog full)"
        );
        self.client.session.close(CloseReason::HostBacklogFull);
    }

    pub(crate) fn make_ack_sender(self: &Arc<Self>, id: u64) -> AckSender {
        AckSender {
            socket: self.clone(),
            id,
        }
    }

    pub(crate) fn on_ack(&self, id: u64, args: Payload) {
        let waiter = self.state.lock().acks.remove(&id);
        match waiter {
            Some(AckWaiter::One(tx)) => {
                let _ = tx.send(args);
            }
            Some(AckWaiter::Callback(cb)) => cb(Ok(args)),
            Some(AckWaiter::Collect(c)) => c.respond(args),
            None => tracing::debug!(socket = %self.id, id, "ack for an unknown id ignored"),
        }
    }

    /// Leaves the namespace: `disconnecting` (rooms still there), then cleanup, then
    /// `disconnect`. Runs once.
    pub(crate) fn on_close(self: &Arc<Self>, reason: DisconnectReason) {
        if self.claim_close() {
            self.finish_close(reason, true);
        }
    }

    /// Marks the socket closed; false when it already was (whoever closed it first finishes
    /// the close with its reason). Pending acks fail as "disconnected".
    fn claim_close(&self) -> bool {
        let mut st = self.state.lock();
        if !st.connected {
            return false;
        }
        st.connected = false;
        st.announcement = None;
        st.backlog.clear();
        st.backlog_bytes = 0;
        // Futures waiting for an ack see their sender dropped.
        let waiters: Vec<AckWaiter> = st.acks.drain().map(|(_, w)| w).collect();
        drop(st);
        for w in waiters {
            if let AckWaiter::Callback(cb) = w {
                cb(Err(AckError::Disconnected));
            }
        }
        true
    }

    /// The rest of a close claimed by [`Socket::claim_close`]: leave the client, run the
    /// host's `disconnecting` step (unless `ask_host` is false: the host ran it already) and
    /// `disconnect` step, persist a recoverable session.
    fn finish_close(self: &Arc<Self>, reason: DisconnectReason, ask_host: bool) {
        self.client.forget(self.ns());
        let handler = self.nsp.handler();
        let socket = self.clone();
        // A reconnect that claims this session before the host's `disconnecting` handlers
        // are done waits for them: the session is only kept after them.
        if let (Some(store), Some(pid)) = (self.nsp.recovery(), self.pid.as_ref()) {
            store.closing(pid.as_str());
        }
        let finish = move || {
            if let (Some(store), Some(pid)) = (socket.nsp.recovery(), socket.pid.clone()) {
                if crate::recovery::is_recoverable(reason) {
                    let session = crate::recovery::PersistedSession {
                        sid: socket.id.clone(),
                        pid: pid.clone(),
                        rooms: socket.rooms(),
                        data: socket.data(),
                    };
                    match socket.nsp.adapter().session_store() {
                        Some(shared) => {
                            shared.persist(session, store.config().max_disconnection_duration)
                        }
                        None => store.persist(session),
                    }
                }
                store.closed(pid.as_str());
            }
            let emptied = socket.nsp.remove_socket(&socket.id);
            if let Some(monitor) = socket.nsp.monitor().filter(|_| socket.announced()) {
                monitor.disconnected(&socket, reason);
            }
            handler.disconnected(&socket, reason);
            if emptied {
                socket.nsp.left_empty();
            }
        };
        if !ask_host {
            finish();
            return;
        }
        match self.nsp.handler().disconnecting(self, reason) {
            Pending::Ready(()) => finish(),
            Pending::Later(fut) => {
                self.nsp.runtime().spawn(async move {
                    fut.await;
                    finish();
                });
            }
        }
    }
}
