//! Connection state recovery (socket.io 4.6+ semantics): after a recoverable disconnect a
//! socket's id, rooms and data are kept for `max_disconnection_duration`, and the broadcasts
//! it missed are replayed when the client reconnects with its private id and last offset.
//!
//! Every stored broadcast carries its offset as a last argument (that is how the client
//! learns it); packets with acks and volatile packets are not stored, as in socket.io.

use crate::adapter::{BroadcastOptions, Room};
use crate::disconnect_reason::DisconnectReason;
use crate::id::Sid;
use crate::Payload;
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
    /// Broadcasts kept for replay per namespace, oldest dropped first (default 100,000).
    pub max_packets: usize,
    /// Bytes of broadcasts kept for replay per namespace (default 64 MiB).
    pub max_bytes: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_packets: 100_000,
            max_bytes: 64 << 20,
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
    /// For a session kept by the cluster ([`crate::adapter::SessionStore`]): the offset the
    /// missed packets were read up to. What the cluster appends after it, until the socket
    /// sees broadcasts again, is read once more then (see
    /// [`crate::adapter::SessionStore::missed_after`]).
    pub read_up_to: Option<String>,
}

/// Offsets as `<ms>-<seq>`, compared as numbers (`None` when one is not such an offset).
pub fn offset_order(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let parse = |o: &str| -> Option<(u64, u64)> {
        let (ms, seq) = o.split_once('-')?;
        Some((ms.parse().ok()?, seq.parse().ok()?))
    };
    Some(parse(a)?.cmp(&parse(b)?))
}

struct StoredPacket {
    /// The counter part of `offset`: packets are in increasing order of it.
    seq: u64,
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
    packets: Mutex<Packets>,
    counter: AtomicU64,
    /// When the sessions were last swept for expiry: at most once a second, not on every
    /// broadcast (a sweep visits every persisted session).
    last_sweep: Mutex<Instant>,
    /// Sockets whose disconnect is under way (their host's `disconnecting` handlers run
    /// before the session is kept), by private id, with the CONNECTs waiting for them.
    closing: Mutex<HashMap<String, Vec<tokio::sync::oneshot::Sender<()>>>>,
}

#[derive(Default)]
struct Packets {
    queue: VecDeque<StoredPacket>,
    bytes: usize,
}

impl Packets {
    fn pop_front(&mut self) {
        if let Some(p) = self.queue.pop_front() {
            self.bytes -= p.size();
        }
    }
}

impl StoredPacket {
    fn size(&self) -> usize {
        self.offset.len()
            + self.event.len()
            + self.args.json.len()
            + self.args.binaries.iter().map(|b| b.len()).sum::<usize>()
    }
}

/// The counter part of an offset (`<ms>-<counter>`).
fn seq_of(offset: &str) -> Option<u64> {
    offset.rsplit_once('-')?.1.parse().ok()
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
            packets: Mutex::new(Packets::default()),
            counter: AtomicU64::new(0),
            last_sweep: Mutex::new(Instant::now()),
            closing: Mutex::new(HashMap::new()),
        }
    }

    /// The socket of `pid` is disconnecting: a CONNECT that claims its session waits for
    /// [`RecoveryStore::closed`] ([`RecoveryStore::wait_closed`]).
    pub(crate) fn closing(&self, pid: &str) {
        self.closing.lock().entry(pid.to_string()).or_default();
    }

    /// The socket of `pid` has finished disconnecting (its session is kept, if recoverable).
    pub(crate) fn closed(&self, pid: &str) {
        let waiters = self.closing.lock().remove(pid).unwrap_or_default();
        for waiter in waiters {
            let _ = waiter.send(());
        }
    }

    /// When the socket of `pid` is still disconnecting, resolves once it has finished (or
    /// its disconnect was dropped); `None` when there is nothing to wait for.
    pub(crate) fn wait_closed(&self, pid: &str) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let mut closing = self.closing.lock();
        let waiters = closing.get_mut(pid)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        waiters.push(tx);
        Some(rx)
    }

    pub fn config(&self) -> RecoveryConfig {
        self.config
    }

    fn expire(&self, now: Instant) {
        let max = self.config.max_disconnection_duration;
        {
            let mut last = self.last_sweep.lock();
            if now.duration_since(*last) >= Duration::from_secs(1) {
                *last = now;
                drop(last);
                self.sessions
                    .lock()
                    .retain(|_, (_, at)| now.duration_since(*at) <= max);
            }
        }
        let mut packets = self.packets.lock();
        while packets
            .queue
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
        self.expire(now);
        let mut packets = self.packets.lock();
        // Taken under the lock, so the queue stays in increasing order of `seq`.
        let seq = self.counter.fetch_add(1, Ordering::Relaxed);
        let offset = format!("{}-{}", crate::handshake::RequestInfo::now_ms(), seq);
        // A string cannot fail to serialise.
        let _ = args.push(&offset);
        let packet = StoredPacket {
            seq,
            offset,
            opts: opts.clone(),
            event: event.to_string(),
            args: args.clone(),
            at: now,
        };
        packets.bytes += packet.size();
        packets.queue.push_back(packet);
        while packets.queue.len() > self.config.max_packets
            || (packets.bytes > self.config.max_bytes && packets.queue.len() > 1)
        {
            packets.pop_front();
        }
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
        let (session, at) = self.sessions.lock().remove(pid)?;
        if at.elapsed() > self.config.max_disconnection_duration {
            return None;
        }
        let packets = self.packets.lock();
        let seq = seq_of(offset)?;
        let start = packets.queue.binary_search_by_key(&seq, |p| p.seq).ok()?;
        if packets.queue[start].offset != offset {
            return None;
        }
        let missed = packets
            .queue
            .iter()
            .skip(start + 1)
            .filter(|p| should_include(&session.rooms, &p.opts))
            .map(|p| (p.event.clone(), p.args.clone()))
            .collect();
        Some(RestoredSession {
            session,
            missed,
            read_up_to: None,
        })
    }

    /// Counts, for leak checks.
    pub fn sizes(&self) -> (usize, usize) {
        (self.sessions.lock().len(), self.packets.lock().queue.len())
    }
}

/// Whether a broadcast sent with `opts` reaches a socket in `rooms` (a missed packet to
/// replay when the socket recovers).
pub fn should_include(rooms: &[Room], opts: &BroadcastOptions) -> bool {
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

    fn offset_of(args: &Payload) -> String {
        let values: Vec<serde_json::Value> = args.values();
        values.last().and_then(|v| v.as_str()).unwrap().to_string()
    }

    #[test]
    fn packets_are_capped_by_count_and_bytes() {
        let store = RecoveryStore::new(RecoveryConfig {
            max_packets: 3,
            max_bytes: 1 << 20,
            ..RecoveryConfig::default()
        });
        let first = offset_of(&store.store("a", Payload::from_json("[1]"), &to(&[])));
        let second = offset_of(&store.store("b", Payload::from_json("[2]"), &to(&[])));
        for e in ["c", "d"] {
            store.store(e, Payload::empty(), &to(&[]));
        }
        assert_eq!(store.sizes().1, 3);
        store.persist(session(&["s"]));
        assert!(store.restore("p", &first).is_none(), "dropped by the count");
        store.persist(session(&["s"]));
        let missed = store.restore("p", &second).unwrap().missed;
        assert_eq!(missed.len(), 2);

        let store = RecoveryStore::new(RecoveryConfig {
            max_bytes: 1000,
            ..RecoveryConfig::default()
        });
        let big = format!("[\"{}\"]", "x".repeat(400));
        for _ in 0..10 {
            store.store("big", Payload::from_json(&big), &to(&[]));
        }
        assert_eq!(store.sizes().1, 2, "two of ~430 bytes fit in 1000");
    }

    #[test]
    fn offsets_are_found_by_index_and_checked_whole() {
        let store = RecoveryStore::new(RecoveryConfig::default());
        let offsets: Vec<String> = (0..1000)
            .map(|i| offset_of(&store.store("e", Payload::from_json(format!("[{i}]")), &to(&[]))))
            .collect();
        store.persist(session(&["s"]));
        assert_eq!(store.restore("p", &offsets[990]).unwrap().missed.len(), 9);
        store.persist(session(&["s"]));
        let forged = format!("0-{}", seq_of(&offsets[5]).unwrap());
        assert!(
            store.restore("p", &forged).is_none(),
            "same counter, other time"
        );
    }

    #[test]
    fn unknown_offsets_and_expired_sessions_do_not_restore() {
        let store = RecoveryStore::new(RecoveryConfig {
            max_disconnection_duration: Duration::ZERO,
            ..RecoveryConfig::default()
        });
        store.persist(session(&["s"]));
        std::thread::sleep(Duration::from_millis(2));
        assert!(store.restore("p", "nope").is_none());
    }
}
