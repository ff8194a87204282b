//! Rooms of one namespace on one node: room → sockets and socket → rooms.

use super::BroadcastOptions;
use crate::id::Sid;
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// A room name.
pub type Room = Arc<str>;

#[derive(Default)]
struct Maps {
    rooms: HashMap<Room, HashSet<Sid>>,
    sids: HashMap<Sid, HashSet<Room>>,
}

/// Told of every room a socket enters or leaves (the admin UI's `room_joined` and
/// `room_left`): the socket, the room, and `true` for a join.
pub type RoomWatcher = Arc<dyn Fn(&Sid, &Room, bool) + Send + Sync>;

/// Told when a room comes to exist (its first socket joins: `true`) or stops existing (its last
/// socket leaves: `false`), as socket.io's `create-room` and `delete-room` events: a cluster
/// adapter that listens per room follows it.
pub type RoomLifecycle = Arc<dyn Fn(&Room, bool) + Send + Sync>;

/// The two-way room index. Empty rooms are removed as soon as their last socket leaves.
#[derive(Default)]
pub struct RoomIndex {
    maps: RwLock<Maps>,
    /// Counts changes of membership; bumped under the write lock, so a reader that saw the
    /// same value before and after a walk walked an unchanged index.
    generation: AtomicU64,
    watcher: OnceLock<RoomWatcher>,
    lifecycle: OnceLock<RoomLifecycle>,
}

impl RoomIndex {
    pub fn new() -> RoomIndex {
        RoomIndex::default()
    }

    /// Reports every later join and leave to `watcher` (set once; a second one is ignored).
    pub fn watch(&self, watcher: RoomWatcher) {
        let _ = self.watcher.set(watcher);
    }

    /// Reports every later creation and removal of a room to `hook` (set once; a second one
    /// is ignored). It is called outside the index's lock, so two changes of one room may be
    /// reported out of order: read the index's current state ([`RoomIndex::has_room`]) when
    /// acting on one.
    pub fn on_room_lifecycle(&self, hook: RoomLifecycle) {
        let _ = self.lifecycle.set(hook);
    }

    fn report_lifecycle(&self, rooms: &[Room], created: bool) {
        if let Some(hook) = self.lifecycle.get() {
            for room in rooms {
                hook(room, created);
            }
        }
    }

    /// Tells the watcher, outside the lock, of the rooms `sid` entered or left.
    fn report(&self, sid: &Sid, changed: &[Room], joined: bool) {
        if let Some(w) = self.watcher.get() {
            for room in changed {
                w(sid, room, joined);
            }
        }
    }

    /// A number that changes whenever a socket enters or leaves a room: a caller may keep
    /// what it derived from the index for as long as this stays the same.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Adds `sid` to each room.
    pub fn add_all(&self, sid: &Sid, rooms: impl IntoIterator<Item = Room>) {
        let watched = self.watcher.get().is_some();
        let followed = self.lifecycle.get().is_some();
        let mut entered: Vec<Room> = Vec::new();
        let mut created: Vec<Room> = Vec::new();
        {
            let mut m = self.maps.write();
            let mut joined: Vec<Room> = Vec::new();
            for room in rooms {
                let members = m.rooms.entry(room.clone()).or_default();
                if followed && members.is_empty() {
                    created.push(room.clone());
                }
                let new = members.insert(sid.clone());
                if new && watched {
                    entered.push(room.clone());
                }
                joined.push(room);
            }
            m.sids.entry(sid.clone()).or_default().extend(joined);
            self.changed();
        }
        self.report_lifecycle(&created, true);
        self.report(sid, &entered, true);
    }

    /// Removes `sid` from `room`.
    pub fn del(&self, sid: &Sid, room: &str) {
        let mut left = None;
        let mut removed = None;
        {
            let mut m = self.maps.write();
            if let Some(set) = m.sids.get_mut(sid) {
                left = set.take(room);
            }
            if let Some(members) = m.rooms.get_mut(room) {
                members.remove(sid);
                if members.is_empty() {
                    removed = m.rooms.remove_entry(room).map(|(r, _)| r);
                }
            }
            self.changed();
        }
        if let Some(room) = removed {
            self.report_lifecycle(&[room], false);
        }
        if let Some(room) = left {
            self.report(sid, &[room], false);
        }
    }

    /// Removes `sid` from every room it is in.
    pub fn del_all(&self, sid: &Sid) {
        let watched = self.watcher.get().is_some();
        let mut left: Vec<Room> = Vec::new();
        let mut removed: Vec<Room> = Vec::new();
        {
            let mut m = self.maps.write();
            if let Some(rooms) = m.sids.remove(sid) {
                for room in rooms {
                    if let Some(members) = m.rooms.get_mut(&room) {
                        members.remove(sid);
                        if members.is_empty() {
                            m.rooms.remove(&room);
                            removed.push(room.clone());
                        }
                    }
                    if watched {
                        left.push(room);
                    }
                }
            }
            self.changed();
        }
        left.sort();
        self.report_lifecycle(&removed, false);
        self.report(sid, &left, false);
    }

    /// The rooms `sid` is in (sorted, for stable output).
    pub fn socket_rooms(&self, sid: &Sid) -> Vec<Room> {
        let m = self.maps.read();
        let mut v: Vec<Room> = m
            .sids
            .get(sid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Every room with at least one socket.
    pub fn rooms(&self) -> Vec<Room> {
        let mut v: Vec<Room> = self.maps.read().rooms.keys().cloned().collect();
        v.sort();
        v
    }

    /// Whether the room exists (has at least one socket).
    pub fn has_room(&self, room: &str) -> bool {
        self.maps.read().rooms.contains_key(room)
    }

    /// Whether `id` is a socket of this index (its own room is then private to it).
    pub fn has_socket(&self, id: &str) -> bool {
        self.maps.read().sids.contains_key(id)
    }

    /// Members of a room.
    pub fn room_size(&self, room: &str) -> usize {
        self.maps.read().rooms.get(room).map_or(0, HashSet::len)
    }

    /// Number of sockets known to the index.
    pub fn socket_count(&self) -> usize {
        self.maps.read().sids.len()
    }

    /// Number of rooms.
    pub fn room_count(&self) -> usize {
        self.maps.read().rooms.len()
    }

    /// The sockets in any of `rooms` (a socket once), or `None` when there are more than
    /// `limit` of them.
    pub fn members_up_to(&self, rooms: &[Room], limit: usize) -> Option<Vec<Sid>> {
        let m = self.maps.read();
        let mut out: Vec<Sid> = Vec::new();
        for members in rooms.iter().filter_map(|r| m.rooms.get(r)) {
            for sid in members {
                if !out.contains(sid) {
                    if out.len() == limit {
                        return None;
                    }
                    out.push(sid.clone());
                }
            }
        }
        Some(out)
    }

    /// Calls `f` once for every socket that `opts` selects: the union of `opts.rooms` (every
    /// socket when empty) minus the sockets in `opts.except`. A socket in several targeted
    /// rooms is visited once. `f` runs under the index's read lock, which saves copying the
    /// ids of a large room: it must not call back into the index (it would deadlock against
    /// a waiting writer) and should be quick; collect what it needs and act afterwards.
    pub fn for_each_target(&self, opts: &BroadcastOptions, mut f: impl FnMut(&Sid)) {
        let m = self.maps.read();
        let excluded: HashSet<&Sid> = opts
            .except
            .iter()
            .filter_map(|r| m.rooms.get(r))
            .flat_map(|members| members.iter())
            .collect();
        if opts.rooms.is_empty() {
            m.sids
                .keys()
                .filter(|s| !excluded.contains(s))
                .for_each(&mut f);
        } else if opts.rooms.len() == 1 {
            if let Some(members) = m.rooms.get(&opts.rooms[0]) {
                members
                    .iter()
                    .filter(|s| !excluded.contains(s))
                    .for_each(&mut f);
            }
        } else {
            let mut seen: HashSet<&Sid> = HashSet::new();
            for room in &opts.rooms {
                if let Some(members) = m.rooms.get(room) {
                    for s in members {
                        if !excluded.contains(s) && seen.insert(s) {
                            f(s);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(s: &str) -> Room {
        Arc::from(s)
    }

    fn targets(index: &RoomIndex, rooms: &[&str], except: &[&str]) -> Vec<String> {
        let opts = BroadcastOptions {
            rooms: rooms.iter().map(|r| room(r)).collect(),
            except: except.iter().map(|r| room(r)).collect(),
            ..Default::default()
        };
        let mut out = Vec::new();
        index.for_each_target(&opts, |s| out.push(s.to_string()));
        out.sort();
        out
    }

    #[test]
    fn unions_rooms_once_per_socket_minus_except() {
        let idx = RoomIndex::new();
        let (a, b, c) = (
            Sid::from_string("a"),
            Sid::from_string("b"),
            Sid::from_string("c"),
        );
        idx.add_all(&a, [room("a"), room("r1"), room("r2")]);
        idx.add_all(&b, [room("b"), room("r1")]);
        idx.add_all(&c, [room("c")]);
        assert_eq!(targets(&idx, &["r1", "r2"], &[]), vec!["a", "b"]);
        assert_eq!(targets(&idx, &["r1", "r2"], &["a"]), vec!["b"]);
        assert_eq!(targets(&idx, &[], &["r1"]), vec!["c"]);
        assert_eq!(targets(&idx, &[], &[]), vec!["a", "b", "c"]);
        assert_eq!(targets(&idx, &["nope"], &[]), Vec::<String>::new());
    }

    #[test]
    fn room_lifecycle_reports_first_join_and_last_leave() {
        let idx = RoomIndex::new();
        let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let log = seen.clone();
        idx.on_room_lifecycle(Arc::new(move |r: &Room, created| {
            log.lock().push((r.to_string(), created))
        }));
        let (a, b) = (Sid::from_string("a"), Sid::from_string("b"));
        idx.add_all(&a, [room("a"), room("x")]);
        idx.add_all(&b, [room("x")]);
        idx.del(&a, "x");
        idx.del(&b, "x");
        idx.del_all(&a);
        let seen = seen.lock().clone();
        let expect = |r: &str, c| (r.to_string(), c);
        assert_eq!(
            seen,
            vec![
                expect("a", true),
                expect("x", true),
                expect("x", false),
                expect("a", false)
            ]
        );
    }

    #[test]
    fn members_up_to_a_limit() {
        let idx = RoomIndex::new();
        let (a, b, c) = (
            Sid::from_string("a"),
            Sid::from_string("b"),
            Sid::from_string("c"),
        );
        idx.add_all(&a, [room("a"), room("r1"), room("r2")]);
        idx.add_all(&b, [room("b"), room("r1")]);
        idx.add_all(&c, [room("c"), room("r2")]);
        let mut got: Vec<String> = idx
            .members_up_to(&[room("r1"), room("r2")], 3)
            .expect("three sockets fit a limit of three")
            .iter()
            .map(|s| s.to_string())
            .collect();
        got.sort();
        assert_eq!(got, vec!["a", "b", "c"]);
        assert!(idx.members_up_to(&[room("r1"), room("r2")], 2).is_none());
        assert_eq!(idx.members_up_to(&[room("nope")], 0), Some(vec![]));
    }

    #[test]
    fn empty_rooms_vanish() {
        let idx = RoomIndex::new();
        let a = Sid::from_string("a");
        idx.add_all(&a, [room("a"), room("x")]);
        idx.del(&a, "x");
        assert!(!idx.has_room("x"));
        idx.del_all(&a);
        assert_eq!(idx.room_count(), 0);
        assert_eq!(idx.socket_count(), 0);
    }
}
