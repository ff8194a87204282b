//! Sending to one socket: events, volatile events, events awaiting an acknowledgement, and
//! the frames of a broadcast the adapter hands over.

use super::{check_event, AckCollector, AckError, EmitError};
use super::{AckWaiter, Socket, State};
use crate::engineio::Frame;
use crate::operator::BroadcastOperator;
use crate::socketio::packet;
use crate::Payload;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How one packet goes out: socket.io's per-packet `volatile` and `compress` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendFlags {
    /// Dropped unless the transport can take it right now.
    pub volatile: bool,
    /// May be compressed (permessage-deflate, a poll's gzip); `compress(false)` turns it off.
    pub compress: bool,
}

impl SendFlags {
    pub const DEFAULT: SendFlags = SendFlags {
        volatile: false,
        compress: true,
    };
    pub const VOLATILE: SendFlags = SendFlags {
        volatile: true,
        compress: true,
    };

    /// The flags a broadcast gives each recipient's packet.
    pub fn of(flags: &crate::adapter::BroadcastFlags) -> SendFlags {
        SendFlags {
            volatile: flags.volatile,
            compress: flags.compressed(),
        }
    }
}

impl Default for SendFlags {
    fn default() -> SendFlags {
        SendFlags::DEFAULT
    }
}

impl Socket {
    fn notify_outgoing(self: &Arc<Self>, event: &str, args: &Payload) {
        if self.notify_outgoing.load(Ordering::Relaxed) {
            self.nsp.handler().outgoing(self, event, args);
        }
        if let Some(monitor) = self.nsp.monitor() {
            monitor.event_sent(self, event, args);
        }
    }

    /// Queues a broadcast's frames to this socket (outgoing listeners see it first).
    pub(crate) fn deliver_broadcast(
        self: &Arc<Self>,
        packet: &crate::adapter::BroadcastPacket,
        flags: SendFlags,
    ) -> bool {
        self.notify_outgoing(&packet.event, &packet.args);
        if self.catching_up.load(Ordering::Acquire) {
            // Only while catching up: a broadcast the missed packets carried is dropped by
            // its offset.
            let offset = packet
                .args
                .values()
                .last()
                .and_then(|v| v.as_str().map(str::to_string));
            return self.queue_frames_at(&packet.frames, flags, offset);
        }
        self.queue_frames(&packet.frames, flags)
    }

    /// Holds every frame queued for the client from now on (volatile ones are dropped).
    pub(crate) fn hold(&self) {
        *self.catch_up.lock() = super::CatchUp::Holding(Vec::new());
        self.catching_up.store(true, Ordering::Release);
        self.nsp.recipients_changed();
    }

    /// Sends what was held, except broadcasts at or before `delivered` (the offset the
    /// missed packets went up to), and from then on skips those the stream's reader
    /// delivers late, until one past it arrives.
    pub(crate) fn release(&self, delivered: &str) {
        loop {
            let batch = {
                let mut state = self.catch_up.lock();
                match &mut *state {
                    super::CatchUp::Holding(h) if !h.is_empty() => std::mem::take(h),
                    _ => {
                        *state = super::CatchUp::Skipping(delivered.to_string());
                        return;
                    }
                }
            };
            for h in batch {
                let seen = h
                    .offset
                    .as_deref()
                    .is_some_and(|o| is_at_or_before(o, delivered));
                if !seen {
                    self.send_now(&h.frames, h.flags);
                }
            }
        }
    }

    /// Answers the acknowledgement the client asked for with id `id` (prefer the
    /// [`super::AckSender`] of the event, which answers once; this is for hosts that keep only the
    /// id). An id the client is not waiting for is ignored by the client.
    pub fn send_ack(&self, id: u64, args: Payload) {
        let frames = self.nsp.parser().ack(self.ns(), id, &args);
        self.send_frames(&frames, false);
    }

    /// Sends an event to this client.
    pub fn emit(self: &Arc<Self>, event: &str, args: Payload) -> Result<(), EmitError> {
        self.emit_with(event, args, SendFlags::DEFAULT)
    }

    /// Sends an event only if the transport can take it now (socket.io's `volatile`).
    pub fn emit_volatile(self: &Arc<Self>, event: &str, args: Payload) -> Result<(), EmitError> {
        self.emit_with(event, args, SendFlags::VOLATILE)
    }

    /// Sends an event with socket.io's per-packet flags. A volatile event that is dropped
    /// is not an error.
    pub fn emit_with(
        self: &Arc<Self>,
        event: &str,
        args: Payload,
        flags: SendFlags,
    ) -> Result<(), EmitError> {
        crate::hand_off::barrier();
        check_event(event, &args)?;
        if !flags.volatile && self.nsp.recovery().is_some() {
            // Through the room named by the id, so the packet is kept for replay (as socket.io).
            return BroadcastOperator::new(self.nsp.clone())
                .to([self.id.as_str()])
                .compress(flags.compress)
                .emit(event, args);
        }
        self.notify_outgoing(event, &args);
        if args.binaries.len() > packet::MAX_ATTACHMENTS {
            return Err(EmitError::TooManyAttachments(args.binaries.len()));
        }
        let frames = self.nsp.parser().event(self.ns(), None, event, &args);
        if self.queue_frames(&frames, flags) || flags.volatile {
            Ok(())
        } else {
            Err(EmitError::Disconnected)
        }
    }

    /// Sends an event and waits for the client's acknowledgement, up to `timeout`
    /// (no timeout: until the socket disconnects).
    pub fn emit_with_ack(
        self: &Arc<Self>,
        event: &str,
        args: Payload,
        timeout: Option<Duration>,
    ) -> Result<
        impl std::future::Future<Output = Result<Payload, AckError>> + Send + 'static,
        EmitError,
    > {
        crate::hand_off::barrier();
        check_event(event, &args)?;
        let id = self.nsp.next_ack_id();
        let (tx, rx) = oneshot::channel();
        {
            let mut st = self.state.lock();
            if !st.connected {
                return Err(EmitError::Disconnected);
            }
            self.check_pending_acks(&st)?;
            st.acks.insert(id, AckWaiter::One(tx));
        }
        self.notify_outgoing(event, &args);
        let frames = self.nsp.parser().event(self.ns(), Some(id), event, &args);
        self.queue_frames(&frames, SendFlags::DEFAULT);
        let socket = self.clone();
        Ok(async move {
            let result = match timeout {
                Some(t) => match tokio::time::timeout(t, rx).await {
                    Ok(r) => r.map_err(|_| AckError::Disconnected),
                    Err(_) => Err(AckError::Timeout),
                },
                None => rx.await.map_err(|_| AckError::Disconnected),
            };
            if result.is_err() {
                socket.state.lock().acks.remove(&id);
            }
            result
        })
    }

    /// Sends an event and calls `callback` with the client's acknowledgement — inline, when
    /// the ack packet is read, so it runs in order with the socket's incoming events — or
    /// with [`AckError::Timeout`] / [`AckError::Disconnected`].
    pub fn emit_with_ack_callback(
        self: &Arc<Self>,
        event: &str,
        args: Payload,
        timeout: Option<Duration>,
        callback: impl FnOnce(Result<Payload, AckError>) + Send + 'static,
    ) -> Result<(), EmitError> {
        self.emit_with_ack_callback_flags(event, args, timeout, SendFlags::DEFAULT, callback)
    }

    /// [`Socket::emit_with_ack_callback`] with socket.io's per-packet `compress` flag
    /// (`volatile` does not apply: an event that asks for an answer is always sent).
    pub fn emit_with_ack_callback_flags(
        self: &Arc<Self>,
        event: &str,
        args: Payload,
        timeout: Option<Duration>,
        flags: SendFlags,
        callback: impl FnOnce(Result<Payload, AckError>) + Send + 'static,
    ) -> Result<(), EmitError> {
        crate::hand_off::barrier();
        check_event(event, &args)?;
        let id = self.nsp.next_ack_id();
        {
            let mut st = self.state.lock();
            if !st.connected {
                return Err(EmitError::Disconnected);
            }
            self.check_pending_acks(&st)?;
            st.acks.insert(id, AckWaiter::Callback(Box::new(callback)));
        }
        self.notify_outgoing(event, &args);
        let frames = self.nsp.parser().event(self.ns(), Some(id), event, &args);
        let flags = SendFlags {
            volatile: false,
            ..flags
        };
        self.queue_frames(&frames, flags);
        if let Some(t) = timeout {
            let weak = Arc::downgrade(self);
            self.nsp.runtime().spawn(async move {
                tokio::time::sleep(t).await;
                if let Some(socket) = weak.upgrade() {
                    let waiter = socket.state.lock().acks.remove(&id);
                    if let Some(AckWaiter::Callback(cb)) = waiter {
                        cb(Err(AckError::Timeout));
                    }
                }
            });
        }
        Ok(())
    }

    /// A client that never answers must not make the server hold waiters without end (an
    /// emit without a timeout waits until the socket disconnects).
    fn check_pending_acks(&self, st: &State) -> Result<(), EmitError> {
        let limit = self.nsp.max_pending_acks();
        if st.acks.len() >= limit {
            return Err(EmitError::TooManyPendingAcks(limit));
        }
        Ok(())
    }

    /// Broadcasts with acks always have a timeout, so their waiters are not counted against
    /// `max_pending_acks`: the broadcast is already on its way to this socket.
    pub(crate) fn register_collector(&self, id: u64, collector: AckCollector) {
        let mut st = self.state.lock();
        if st.connected {
            st.acks.insert(id, AckWaiter::Collect(collector));
        }
    }

    /// Queues encoded frames; false when dropped (volatile) or the connection is closed.
    pub fn send_frames(&self, frames: &[Frame], volatile: bool) -> bool {
        crate::hand_off::barrier();
        let flags = SendFlags {
            volatile,
            ..SendFlags::DEFAULT
        };
        self.queue_frames(frames, flags)
    }

    /// [`Socket::send_frames`] for callers that have passed the barrier already (or run on
    /// the runtime): a broadcast calls it once per recipient.
    pub(crate) fn queue_frames(&self, frames: &[Frame], flags: SendFlags) -> bool {
        self.queue_frames_at(frames, flags, None)
    }

    /// [`Socket::queue_frames`] for a broadcast whose offset is `offset`.
    fn queue_frames_at(&self, frames: &[Frame], flags: SendFlags, offset: Option<String>) -> bool {
        if self.catching_up.load(Ordering::Acquire) {
            let mut state = self.catch_up.lock();
            match &mut *state {
                super::CatchUp::Holding(held) => {
                    if !flags.volatile {
                        held.push(super::Held {
                            frames: frames.to_vec(),
                            flags,
                            offset,
                        });
                    }
                    return true;
                }
                super::CatchUp::Skipping(last) => {
                    if let Some(o) = &offset {
                        if is_at_or_before(o, last) {
                            return true;
                        }
                        // Past the missed ones: every later broadcast is too.
                        *state = super::CatchUp::Off;
                        self.catching_up.store(false, Ordering::Release);
                        self.nsp.recipients_changed();
                    }
                }
                super::CatchUp::Off => {}
            }
        }
        self.send_now(frames, flags)
    }

    /// Queues frames on the session, held or not.
    pub(crate) fn send_now(&self, frames: &[Frame], flags: SendFlags) -> bool {
        let session = &self.client.session;
        if flags.volatile {
            session.send_volatile_with(frames, flags.compress)
        } else {
            session.send_all_with(frames, flags.compress).is_ok()
        }
    }
}

/// Whether broadcast offset `a` comes at or before `b`.
fn is_at_or_before(a: &str, b: &str) -> bool {
    crate::recovery::offset_order(a, b).is_some_and(|o| o != std::cmp::Ordering::Greater)
}
