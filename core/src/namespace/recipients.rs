//! Who a broadcast reaches, kept from one broadcast to the next ([`RecipientCache`]).
//!
//! A handler that emits to a room in a loop, or a server that broadcasts to the same large
//! room on every tick, would otherwise walk the room index, look every member up in the
//! namespace's socket map and check its flags once per packet. The walk costs several
//! dependent memory reads per member, more than queuing the packet itself. So the namespace
//! keeps the result of a walk for large selections, with the two numbers it was derived
//! from: the room index's generation (joins and leaves) and the namespace's own (sockets
//! added, removed or announced, or changing how they take broadcasts). A broadcast whose
//! numbers still match reuses it. A broadcast that excepts a few sockets uses the selection
//! without the exception and skips them (`Recipients::deliver`), so the senders to a room,
//! each excepting itself, share one.

use crate::adapter::{BroadcastOptions, BroadcastPacket, Room};
use crate::engineio::EngineSession;
use crate::socket::{SendFlags, SocketRef};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Selections smaller than this are walked every time: their walk is cheap, and keeping
/// them would churn the cache in an app with many small rooms.
const KEEP_FROM: usize = 64;

/// How many selections a namespace keeps at once.
const ENTRIES: usize = 8;

/// How far ahead of the session it queues to a broadcast prefetches.
const PREFETCH_AHEAD: usize = 8;

/// A socket that takes a broadcast as it is: queued straight on its session.
struct Plain {
    session: Arc<EngineSession>,
    /// For identity only (a broadcast's excepted sockets), never read through.
    socket: SocketRef,
}

/// The recipients of one selection, split by how they take a broadcast.
#[derive(Default)]
pub(crate) struct Recipients {
    plain: Vec<Plain>,
    /// Sockets whose outgoing events are reported to listeners, or that are catching up
    /// after a reconnection: each goes through [`crate::socket::Socket::deliver_broadcast`].
    special: Vec<SocketRef>,
}

impl Recipients {
    /// Sorts a selected socket into its list.
    pub(crate) fn push(&mut self, socket: &SocketRef) {
        if socket.takes_broadcasts_plainly() {
            self.plain.push(Plain {
                session: socket.session().clone(),
                socket: socket.clone(),
            });
        } else {
            self.special.push(socket.clone());
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.plain.len() + self.special.len()
    }

    /// Queues `packet` to every recipient but the `excepted` sockets (a few: each recipient
    /// is compared with each); returns how many took it.
    pub(crate) fn deliver(
        &self,
        packet: &BroadcastPacket,
        flags: SendFlags,
        excepted: &[SocketRef],
    ) -> usize {
        let skip = |socket: &SocketRef| excepted.iter().any(|e| Arc::ptr_eq(e, socket));
        let mut count = 0;
        for (i, recipient) in self.plain.iter().enumerate() {
            if let Some(ahead) = self.plain.get(i + PREFETCH_AHEAD) {
                ahead.session.prefetch_outbox();
            }
            if !excepted.is_empty() && skip(&recipient.socket) {
                continue;
            }
            let session = &recipient.session;
            let queued = if flags.volatile {
                session.send_volatile_with(&packet.frames, flags.compress)
            } else {
                session
                    .send_all_with(&packet.frames, flags.compress)
                    .is_ok()
            };
            count += usize::from(queued);
        }
        for socket in self.special.iter().filter(|s| !skip(s)) {
            count += usize::from(socket.deliver_broadcast(packet, flags));
        }
        count
    }
}

struct Entry {
    rooms: Vec<Room>,
    except: Vec<Room>,
    index_generation: u64,
    sockets_generation: u64,
    recipients: Arc<Recipients>,
    last_used: u64,
}

/// A namespace's kept selections (see the module's documentation).
#[derive(Default)]
pub(crate) struct RecipientCache {
    /// Bumped whenever the namespace's sockets change in a way a selection depends on.
    sockets_generation: AtomicU64,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    list: Vec<Entry>,
    uses: u64,
}

impl RecipientCache {
    /// A socket was added, removed or announced, or changed how it takes broadcasts.
    pub(crate) fn sockets_changed(&self) {
        self.sockets_generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Drops every kept selection, so none holds a removed socket's session alive.
    pub(crate) fn clear(&self) {
        self.sockets_changed();
        // Dropped after the lock is released: the last reference to a socket may go with
        // them, and what its drop does must not find the lock held.
        let dropped = std::mem::take(&mut self.entries.lock().list);
        drop(dropped);
    }

    /// The recipients `opts` selects: kept ones while nothing they depend on changed, else
    /// `walk`'s (kept when large). `index_generation` is the room index's generation.
    pub(crate) fn get(
        &self,
        opts: &BroadcastOptions,
        index_generation: u64,
        walk: impl FnOnce() -> Recipients,
    ) -> Arc<Recipients> {
        // Read before the walk: a change racing with it leaves the entry stale, never wrong.
        let sockets_generation = self.sockets_generation.load(Ordering::Acquire);
        {
            let mut entries = self.entries.lock();
            entries.uses += 1;
            let now = entries.uses;
            if let Some(entry) = entries
                .list
                .iter_mut()
                .find(|e| e.rooms == opts.rooms && e.except == opts.except)
            {
                if entry.index_generation == index_generation
                    && entry.sockets_generation == sockets_generation
                {
                    entry.last_used = now;
                    return entry.recipients.clone();
                }
            }
        }
        let recipients = Arc::new(walk());
        if recipients.len() >= KEEP_FROM {
            // Dropped outside the lock, as in clear().
            let replaced = self.keep(opts, index_generation, sockets_generation, &recipients);
            drop(replaced);
        }
        recipients
    }

    /// Stores a walk's result; returns the entry it replaced.
    fn keep(
        &self,
        opts: &BroadcastOptions,
        index_generation: u64,
        sockets_generation: u64,
        recipients: &Arc<Recipients>,
    ) -> Option<Entry> {
        let mut entries = self.entries.lock();
        // A clear() since the walk began: what the walk saw may include a removed socket.
        if self.sockets_generation.load(Ordering::Acquire) != sockets_generation {
            return None;
        }
        let last_used = entries.uses;
        let entry = Entry {
            rooms: opts.rooms.clone(),
            except: opts.except.clone(),
            index_generation,
            sockets_generation,
            recipients: recipients.clone(),
            last_used,
        };
        let list = &mut entries.list;
        if let Some(same) = list
            .iter_mut()
            .find(|e| e.rooms == opts.rooms && e.except == opts.except)
        {
            Some(std::mem::replace(same, entry))
        } else if list.len() < ENTRIES {
            list.push(entry);
            None
        } else {
            let oldest = list.iter_mut().min_by_key(|e| e.last_used)?;
            Some(std::mem::replace(oldest, entry))
        }
    }
}
