//! Connection state recovery (socket.io 4.6+ semantics): after a recoverable disconnect a
//! socket's id, rooms and data are kept for `max_disconnection_duration`, and the broadcasts
//! it missed are replayed when the client reconnects with its private id and last offset.
//!
//! Every stored broadcast carries its offset as a last argument (that is how the client
//! learns it); packets with acks and volatile packets are not stored, as in socket.io.

use crate::adapter::{BroadcastOptions, Room};
use crate::id::Sid;
use crate::payload::Payload;
use crate::socket::DisconnectReason;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `connectionStateRecovery` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected session can be recovered (socket.io's default: 2 minutes).
    pub max_disconnection_duration: Duration,
    /// Recovered sockets skip the namespace's middlewares (socket.io's default: true).
    pub skip_middlewares: bool,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
        }
    }
}

/// What a disconnected socket leaves behind.
#[derive(Debug, Clone)]
pub struct PersistedSession {
    pub sid: Sid,
    pub pid: Sid,
    pub rooms: Vec<Room>,
    pub data: String,
}

/// A session restored on reconnect, with the events it missed in order (`[event, ...args]`
/// split as event name and arguments, the offset last among them).
#[derive(Debug, Clone)]
pub struct RestoredSession {
    pub session: PersistedSession,
    pub missed: Vec<(String, Payload)>,
}

struct StoredPacket {
    offset: String,
    opts: BroadcastOptions,
    event: String,
    args: Payload,
    at: Instant,
}

/// The recovery state of one namespace.
pub struct RecoveryStore {
    config: RecoveryConfig,
    sessions: Mutex<HashMap<String, (PersistedSession, Instant)>>,
    packets: Mutex<VecDeque<StoredPacket>>,
    counter: AtomicU64,
}

/// Disconnect reasons after which the client may come back (socket.io's list).
pub fn is_recoverable(reason: DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::TransportError
            | DisconnectReason::TransportClose
            | DisconnectReason::ForcedClose
            | DisconnectReason::PingTimeout
            | DisconnectReason::ServerShuttingDown
    )
}

impl RecoveryStore {
    pub fn new(config: RecoveryConfig) -> RecoveryStore {
        RecoveryStore {
            config,
            sessions: Mutex::new(HashMap::new()),
            packets: Mutex::new(VecDeque::new()),
            counter: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> RecoveryConfig {
        self.config
    }

    fn expire(&self, now: Instant) {
        let max = self.config.max_disconnection_duration;
        self.sessions
            .lock()
            .retain(|_, (_, at)| now.duration_since(*at) <= max);
        let mut packets = self.packets.lock();
        while packets
            .front()
            .is_some_and(|p| now.duration_since(p.at) > max)
        {
            packets.pop_front();
        }
    }

    /// Appends a fresh offset to a broadcast's arguments and keeps it for replay. Returns the
    /// arguments to encode (with the offset).
    pub fn store(&self, event: &str, mut args: Payload, opts: &BroadcastOptions) -> Payload {
        let now = Instant::now();
        let offset = format!(
            "{}-{}",
            crate::handshake::RequestInfo::now_ms(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        );
        // A string cannot fail to serialise.
        let _ = args.push(&offset);
        self.expire(now);
        self.packets.lock().push_back(StoredPacket {
            offset,
            opts: opts.clone(),
            event: event.to_string(),
            args: args.clone(),
            at: now,
        });
        args
    }

    /// Keeps a disconnected socket's state.
    pub fn persist(&self, session: PersistedSession) {
        let now = Instant::now();
        self.expire(now);
        self.sessions
            .lock()
            .insert(session.pid.to_string(), (session, now));
    }

    /// The session of `pid` with the packets after `offset` it should have received, if the
    /// session has not expired and the offset is still known. A session restores once.
    pub fn restore(&self, pid: &str, offset: &str) -> Option<RestoredSession> {
        self.expire(Instant::now());
        let (session, _) = self.sessions.lock().remove(pid)?;
        let packets = self.packets.lock();
        let start = packets.iter().position(|p| p.offset == offset)?;
        let missed = packets
            .iter()
            .skip(start + 1)
            .filter(|p| should_include(&session.rooms, &p.opts))
            .map(|p| (p.event.clone(), p.args.clone()))
            .collect();
        Some(RestoredSession { session, missed })
    }

    /// Counts, for leak checks.
    pub fn sizes(&self) -> (usize, usize) {
        (self.sessions.lock().len(), self.packets.lock().len())
    }
}

fn should_include(rooms: &[Room], opts: &BroadcastOptions) -> bool {
    let included = opts.rooms.is_empty() || rooms.iter().any(|r| opts.rooms.contains(r));
    let excluded = rooms.iter().any(|r| opts.except.contains(r));
    included && !excluded
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn session(rooms: &[&str]) -> PersistedSession {
        PersistedSession {
            sid: Sid::from_string("s"),
            pid: Sid::from_string("p"),
            rooms: rooms.iter().map(|r| Arc::from(*r)).collect(),
            data: "{}".into(),
        }
    }

    fn to(rooms: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| Arc::from(*r)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn replays_only_what_the_session_missed_in_its_rooms() {
        let store = RecoveryStore::new(RecoveryConfig::default());
        let first = store.store("a", Payload::from_json("[1]"), &to(&["r"]));
        let offset: Vec<serde_json::Value> = first.values();
        let offset = offset.last().and_then(|v| v.as_str()).unwrap().to_string();
        store.store("b", Payload::from_json("[2]"), &to(&["r"]));
        store.store("c", Payload::from_json("[3]"), &to(&["other"]));
        store.store("d", Payload::empty(), &to(&[]));
        store.persist(session(&["s", "r"]));
        let restored = store.restore("p", &offset).unwrap();
        let events: Vec<&str> = restored.missed.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(events, vec!["b", "d"]);
        assert!(
            store.restore("p", &offset).is_none(),
            "a session restores once"
        );
    }

    #[test]
    fn unknown_offsets_and_expired_sessions_do_not_restore() {
        let store = RecoveryStore::new(RecoveryConfig {
            max_disconnection_duration: Duration::ZERO,
            skip_middlewares: true,
        });
        store.persist(session(&["s"]));
        std::thread::sleep(Duration::from_millis(2));
        assert!(store.restore("p", "nope").is_none());
    }
}
