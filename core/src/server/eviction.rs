//! The dynamic children a CONNECT at `max_child_namespaces` may evict: children nobody ever
//! joined, kept after a middleware refused their clients (as socket.io keeps them). Without
//! this, `40/dyn-1,`, `40/dyn-2,`… refused one by one would fill the cap for good.

use crate::namespace::Namespace;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};

/// Candidates in the order they became evictable. A namespace is in the queue at most once
/// (its flag says so), so the queue holds no more entries than the server holds children.
#[derive(Default)]
pub(super) struct Evictable {
    queue: Mutex<VecDeque<Weak<Namespace>>>,
}

impl Evictable {
    /// `nsp` may be evicted from now on (a CONNECT into it ended, nobody joined it).
    pub(super) fn offer(&self, nsp: &Namespace) {
        let mut queue = self.queue.lock();
        if nsp.enter_eviction_queue() {
            queue.push_back(nsp.weak());
        }
    }

    /// The oldest candidate that is still in `map` and still evictable, out of the queue.
    /// Called under the map's write lock, so no CONNECT can start into it meanwhile. Each
    /// entry is looked at once: stale ones (joined since, removed, a CONNECT on its way in)
    /// leave the queue, and a CONNECT that ends offers its child again.
    pub(super) fn take(&self, map: &HashMap<String, Arc<Namespace>>) -> Option<Arc<Namespace>> {
        let mut queue = self.queue.lock();
        while let Some(entry) = queue.pop_front() {
            let Some(nsp) = entry.upgrade() else {
                continue;
            };
            nsp.leave_eviction_queue();
            let current = map.get(nsp.name()).is_some_and(|n| Arc::ptr_eq(n, &nsp));
            if current && nsp.evictable() {
                return Some(nsp);
            }
        }
        None
    }
}
