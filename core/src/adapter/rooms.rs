//! Rooms of one namespace on one node: room → sockets and socket → rooms.

use super::BroadcastOptions;
use crate::id::Sid;
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
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

/// The two-way room index. Empty rooms are removed as soon as their last socket leaves.
#[derive(Default)]
pub struct RoomIndex {
    maps: RwLock<Maps>,
    watcher: OnceLock<RoomWatcher>,
}

impl RoomIndex {
    pub fn new() -> RoomIndex {
        RoomIndex::default()
    }

    /// Reports every later join and leave to `watcher` (set once; a second one is ignored).
    pub fn watch(&self, watcher: RoomWatcher) {
        let _ = self.watcher.set(watcher);
    }

    /// Tells the watcher, outside the lock, of the rooms `sid` entered or left.
    fn report(&self, sid: &Sid, changed: &[Room], joined: bool) {
        if let Some(w) = self.watcher.get() {
            for room in changed {
                w(sid, room, joined);
            }
        }
    }

    /// Adds `sid` to each room.
    pub fn add_all(&self, sid: &Sid, rooms: impl IntoIterator<Item = Room>) {
        let watched = self.watcher.get().is_some();
        let mut entered: Vec<Room> = Vec::new();
        {
            let mut m = self.maps.write();
            let mut joined: Vec<Room> = Vec::new();
            for room in rooms {
                let new = m.rooms.entry(room.clone()).or_default().insert(sid.clone());
                if new && watched {
                    entered.push(room.clone());
                }
                joined.push(room);
            }
            m.sids.entry(sid.clone()).or_default().extend(joined);
        }
        self.report(sid, &entered, true);
    }

    /// Removes `sid` from `room`.
    pub fn del(&self, sid: &Sid, room: &str) {
        let mut left = None;
        {
            let mut m = self.maps.write();
            if let Some(set) = m.sids.get_mut(sid) {
                left = set.take(room);
            }
            if let Some(members) = m.rooms.get_mut(room) {
                members.remove(sid);
                if members.is_empty() {
                    m.rooms.remove(room);
                }
            }
        }
        if let Some(room) = left {
            self.report(sid, &[room], false);
        }
    }

    /// Removes `sid` from every room it is in.
    pub fn del_all(&self, sid: &Sid) {
        let watched = self.watcher.get().is_some();
        let mut left: Vec<Room> = Vec::new();
        {
            let mut m = self.maps.write();
            if let Some(rooms) = m.sids.remove(sid) {
                for room in rooms {
                    if let Some(members) = m.rooms.get_mut(&room) {
                        members.remove(sid);
                        if members.is_empty() {
                            m.rooms.remove(&room);
                        }
                    }
                    if watched {
                        left.push(room);
                    }
                }
            }
        }
        left.sort();
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
