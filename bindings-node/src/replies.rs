//! Questions the core is waiting on JavaScript for, parked under a token until JavaScript
//! answers. JavaScript answers each exactly once (its dispatcher answers in `finally`), and
//! a token that is never answered only delays that one socket.

use parking_lot::Mutex;
use roomcast::{ConnectError, Reply};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

pub enum Parked {
    /// A middleware verdict.
    Authorize(Reply<Result<(), ConnectError>>),
    /// "The handlers have run" (connection, disconnecting).
    Done(Reply<()>),
    /// Whether a dynamic namespace accepts a name.
    Match(Reply<bool>),
}

#[derive(Default)]
pub struct Replies {
    next: AtomicU64,
    parked: Mutex<HashMap<u64, Parked>>,
}

impl Replies {
    pub fn park(&self, reply: Parked) -> u64 {
        let token = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.parked.lock().insert(token, reply);
        token
    }

    pub fn take(&self, token: u64) -> Option<Parked> {
        self.parked.lock().remove(&token)
    }
}
