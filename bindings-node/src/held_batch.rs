//! A batch whose clients have already sent more waits one round before JavaScript sees it.
//!
//! socket.io handles an event a tick after its packet arrived and drops it when the socket
//! was disconnected meanwhile: a client that emits and disconnects in one go has its event
//! dropped, because socket.io's single thread reads both packets before that tick. Here the
//! core's I/O thread reads the event as soon as it arrives, often while the client (in the
//! same process, as in a test suite) is still writing its disconnect, so the event would
//! reach JavaScript alone. Before a batch with events goes to JavaScript, the kernel is asked
//! whether any of their sockets has bytes the core has not read, or not finished handling,
//! yet; if so, the batch waits, and each later drain adds what arrived and asks again (the
//! core wakes JavaScript once it has handled those bytes; JavaScript's timer is a fallback).
//! A batch waits at most [`HOLD_LIMIT`], so a client that never stops sending still has its
//! events handled.

use crate::mailbox::Delivery;
use parking_lot::Mutex;
use roomcast::{HostEvent, InputNotify, SocketInput, SocketRef};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest a batch waits for its clients' bytes to be read. The core reads them within
/// microseconds when it is not starved of the CPU; a client still sending after this long is
/// streaming, and its events go on.
const HOLD_LIMIT: Duration = Duration::from_millis(2);

type Batch = (Vec<HostEvent>, Vec<Delivery>);

#[derive(Default)]
pub struct HeldBatch(Mutex<Option<(Batch, Instant)>>);

impl HeldBatch {
    /// What JavaScript gets now, given what `take` takes from the queues (behind the batch
    /// held so far, if any): everything, or nothing while the batch must wait (it is kept).
    /// `notify` wakes JavaScript once the bytes a held batch waits for are handled.
    pub fn release(&self, mut take: impl FnMut() -> Batch, notify: &InputNotify) -> Option<Batch> {
        let mut held = self.0.lock();
        let (mut events, mut deliveries) = take();
        let since = match held.take() {
            Some(((mut earlier_events, mut earlier_deliveries), since)) => {
                earlier_events.append(&mut events);
                earlier_deliveries.append(&mut deliveries);
                events = earlier_events;
                deliveries = earlier_deliveries;
                since
            }
            None => Instant::now(),
        };
        if since.elapsed() < HOLD_LIMIT && more_sent_behind(&events, notify) {
            *held = Some(((events, deliveries), since));
            return None;
        }
        // The core may have handled the clients' next bytes after the queues were taken and
        // before they were asked about: what that queued (a disconnect, say) goes with this
        // batch, not after it.
        if !events.is_empty() {
            let (mut later_events, mut later_deliveries) = take();
            events.append(&mut later_events);
            deliveries.append(&mut later_deliveries);
        }
        Some((events, deliveries))
    }
}

/// Whether a client with an event in `events` has sent bytes the core has not handled yet;
/// `notify` is called once they are.
fn more_sent_behind(events: &[HostEvent], notify: &InputNotify) -> bool {
    let mut last: Option<&SocketRef> = None;
    let mut inputs = Vec::new();
    for e in events {
        if let HostEvent::Event { socket, .. } = e {
            // Runs of one socket's events are asked about once.
            if last.is_some_and(|l| Arc::ptr_eq(l, socket)) {
                continue;
            }
            last = Some(socket);
            inputs.extend(socket.input());
        }
    }
    SocketInput::any_unhandled(&inputs, notify)
}
