//! Host turns: when a host's emits can no longer be "right after" one another.
//!
//! engine.io's transport is not `writable` from the moment a packet is written until the
//! write's callback runs, on a later turn of Node's event loop, so a `volatile` packet sent in
//! the same turn as a regular one is always dropped. roomcast's writers run on other threads
//! and may finish before the host's next call; a host that wants socket.io's rule ends its
//! turns here (the Node binding does, after each event-loop turn that sent something), and a
//! session refuses volatile packets in the turn it took a regular one. Without a host that
//! ends turns the rule is off.

use std::sync::atomic::{AtomicU64, Ordering};

static TURN: AtomicU64 = AtomicU64::new(0);

/// Ends the current host turn (and turns the rule on).
pub fn end_host_turn() {
    TURN.fetch_add(1, Ordering::Relaxed);
}

/// The current host turn; 0 while no host ends turns.
pub(crate) fn current() -> u64 {
    TURN.load(Ordering::Relaxed)
}
