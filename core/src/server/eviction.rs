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

#[cfg(test)]
impl Evictable {
    fn len(&self) -> usize {
        self.queue.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use crate::admission::{Admission, Refusal};
    use crate::server::Resolved;
    use crate::{Server, ServerConfig};

    fn begin(io: &Server, name: &str) -> Result<Admission, Refusal> {
        match io.shared.resolve_namespace(name, "{}") {
            Resolved::Found(admission) => Ok(admission),
            Resolved::Refused(refusal) => Err(refusal),
            Resolved::Pending(_) => panic!("a closure matcher answers at once"),
        }
    }

    /// CONNECTs that end without a socket joining (refused), without a network.
    #[tokio::test]
    async fn refused_children_are_queued_once_and_evicted_oldest_first() {
        let io = Server::new(ServerConfig {
            max_child_namespaces: 2,
            ..ServerConfig::default()
        });
        io.of_dynamic(|name: &str, _auth: &str| name.starts_with("/dyn-"));
        let evictable = &io.shared.evictable;
        for _ in 0..100 {
            drop(begin(&io, "/dyn-a").expect("admitted"));
        }
        assert_eq!(evictable.len(), 1, "one entry however often it is refused");
        drop(begin(&io, "/dyn-b").expect("admitted"));
        assert_eq!(evictable.len(), 2);

        drop(begin(&io, "/dyn-c").expect("evicts the oldest"));
        assert!(io.namespace("/dyn-a").is_none());
        assert!(io.namespace("/dyn-b").is_some());

        // A CONNECT on its way into /dyn-b keeps it: /dyn-c goes instead.
        let held = begin(&io, "/dyn-b").expect("admitted");
        drop(begin(&io, "/dyn-d").expect("evicts the other"));
        assert!(io.namespace("/dyn-b").is_some());
        assert!(io.namespace("/dyn-c").is_none());

        // Both children held by CONNECTs: nothing to evict.
        let also_held = begin(&io, "/dyn-d").expect("admitted");
        assert_eq!(
            begin(&io, "/dyn-e").err(),
            Some(Refusal::TooManyChildren(2))
        );
        drop((held, also_held));
        assert!(evictable.len() <= 2, "bounded by the children that exist");
        drop(begin(&io, "/dyn-e").expect("evicts again"));
        assert_eq!(io.stats().namespaces, 3);
    }
}
