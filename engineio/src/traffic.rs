//! Per-second counts of a server's traffic, for monitoring (the admin UI's aggregated events):
//! message packets and their bytes in each direction, sessions opened, sessions closed by
//! reason. Nothing is counted until a [`TrafficMeter`] is set on the server
//! ([`crate::EngineServer::set_traffic_meter`]).
//!
//! Packets are counted on every send and receive, a broadcast once per recipient, so the
//! counters are lock-free: a small ring of per-second slots of atomics. A slot is moved to
//! the finished list under a lock only when its second is over (once per second, not per
//! packet).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Slots in the ring: seconds a count may lag behind before a drain, with room to spare.
const SLOTS: usize = 4;

/// What is counted per second, as the admin UI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrafficKind {
    PacketsIn,
    BytesIn,
    PacketsOut,
    BytesOut,
    /// A session opened (`rawConnection`).
    Connection,
    /// A session closed (`rawDisconnection`), with its reason.
    Disconnection(&'static str),
}

impl TrafficKind {
    /// The event's type and sub-type as the admin UI reads them.
    pub fn names(self) -> (&'static str, Option<&'static str>) {
        match self {
            TrafficKind::PacketsIn => ("packetsIn", None),
            TrafficKind::BytesIn => ("bytesIn", None),
            TrafficKind::PacketsOut => ("packetsOut", None),
            TrafficKind::BytesOut => ("bytesOut", None),
            TrafficKind::Connection => ("rawConnection", None),
            TrafficKind::Disconnection(reason) => ("rawDisconnection", Some(reason)),
        }
    }
}

/// A count for one second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficEvent {
    /// The second's start, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    pub kind: TrafficKind,
    pub count: u64,
}

/// The four packet counters, in the order of [`PACKET_KINDS`].
const PACKET_KINDS: [TrafficKind; 4] = [
    TrafficKind::PacketsIn,
    TrafficKind::BytesIn,
    TrafficKind::PacketsOut,
    TrafficKind::BytesOut,
];

#[derive(Default)]
struct Slot {
    /// The second these counters belong to (0: unused).
    second: AtomicU64,
    counts: [AtomicU64; 4],
}

/// Counts a server's traffic per second; [`TrafficMeter::drain`] takes what was counted.
#[derive(Default)]
pub struct TrafficMeter {
    slots: [Slot; SLOTS],
    /// Counts of finished slots and the rarer events (sessions opened and closed).
    finished: Mutex<HashMap<(u64, TrafficKind), u64>>,
}

fn now_second() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TrafficMeter {
    pub fn new() -> TrafficMeter {
        TrafficMeter::default()
    }

    /// A message packet from a client, `bytes` of data.
    pub fn packet_in(&self, bytes: usize) {
        self.add_packet(0, bytes);
    }

    /// A message packet queued for a client, `bytes` of data.
    pub fn packet_out(&self, bytes: usize) {
        self.add_packet(2, bytes);
    }

    /// A session opened.
    pub fn connection(&self) {
        self.add_event(TrafficKind::Connection);
    }

    /// A session closed for `reason`.
    pub fn disconnection(&self, reason: &'static str) {
        self.add_event(TrafficKind::Disconnection(reason));
    }

    fn add_event(&self, kind: TrafficKind) {
        *self
            .finished
            .lock()
            .entry((now_second(), kind))
            .or_insert(0) += 1;
    }

    /// `first` is the index of the packet counter; the byte counter follows it.
    fn add_packet(&self, first: usize, bytes: usize) {
        let second = now_second();
        let slot = &self.slots[(second % SLOTS as u64) as usize];
        if slot.second.load(Ordering::Acquire) != second {
            self.roll(slot, second);
        }
        slot.counts[first].fetch_add(1, Ordering::Relaxed);
        slot.counts[first + 1].fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Moves a slot's counts of an earlier second to the finished list and gives it to
    /// `second`. A count added by a thread that read the slot's second just before the
    /// roll lands in the new second: monitoring tolerates that, a lock per packet it would not.
    fn roll(&self, slot: &Slot, second: u64) {
        let mut finished = self.finished.lock();
        let old = slot.second.load(Ordering::Acquire);
        if old == second {
            return;
        }
        Self::take_slot(slot, old, &mut finished);
        slot.second.store(second, Ordering::Release);
    }

    fn take_slot(slot: &Slot, second: u64, into: &mut HashMap<(u64, TrafficKind), u64>) {
        for (counter, kind) in slot.counts.iter().zip(PACKET_KINDS) {
            let n = counter.swap(0, Ordering::Relaxed);
            if n > 0 && second != 0 {
                *into.entry((second, kind)).or_insert(0) += n;
            }
        }
    }

    /// Everything counted since the last drain, the current second's counts so far included,
    /// oldest second first.
    pub fn drain(&self) -> Vec<TrafficEvent> {
        let mut finished = self.finished.lock();
        for slot in &self.slots {
            let second = slot.second.load(Ordering::Acquire);
            Self::take_slot(slot, second, &mut finished);
        }
        let mut events: Vec<TrafficEvent> = finished
            .drain()
            .map(|((second, kind), count)| TrafficEvent {
                timestamp_ms: second * 1000,
                kind,
                count,
            })
            .collect();
        events.sort_by_key(|e| e.timestamp_ms);
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(events: &[TrafficEvent], kind: TrafficKind) -> u64 {
        events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.count)
            .sum()
    }

    #[test]
    fn counts_packets_bytes_and_sessions_until_drained() {
        let meter = TrafficMeter::new();
        meter.packet_in(5);
        meter.packet_in(7);
        meter.packet_out(100);
        meter.connection();
        meter.disconnection("transport close");
        let events = meter.drain();
        assert_eq!(total(&events, TrafficKind::PacketsIn), 2);
        assert_eq!(total(&events, TrafficKind::BytesIn), 12);
        assert_eq!(total(&events, TrafficKind::PacketsOut), 1);
        assert_eq!(total(&events, TrafficKind::BytesOut), 100);
        assert_eq!(total(&events, TrafficKind::Connection), 1);
        assert_eq!(
            total(&events, TrafficKind::Disconnection("transport close")),
            1
        );
        assert!(events.iter().all(|e| e.timestamp_ms % 1000 == 0));
        assert!(meter.drain().is_empty(), "a drain takes everything");
    }

    #[test]
    fn a_slot_reused_for_a_later_second_keeps_the_earlier_counts() {
        let meter = TrafficMeter::new();
        let slot = &meter.slots[0];
        slot.second.store(4, Ordering::Release);
        slot.counts[2].store(3, Ordering::Relaxed);
        slot.counts[3].store(30, Ordering::Relaxed);
        meter.roll(slot, 8);
        slot.counts[2].fetch_add(1, Ordering::Relaxed);
        let events = meter.drain();
        let at = |ms: u64, kind: TrafficKind| {
            events
                .iter()
                .find(|e| e.timestamp_ms == ms && e.kind == kind)
                .map(|e| e.count)
        };
        assert_eq!(at(4000, TrafficKind::PacketsOut), Some(3));
        assert_eq!(at(4000, TrafficKind::BytesOut), Some(30));
        assert_eq!(at(8000, TrafficKind::PacketsOut), Some(1));
    }

    #[test]
    fn counts_from_many_threads_add_up() {
        let meter = std::sync::Arc::new(TrafficMeter::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = meter.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        m.packet_out(2);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("counting thread");
        }
        let events = meter.drain();
        assert_eq!(total(&events, TrafficKind::PacketsOut), 40_000);
        assert_eq!(total(&events, TrafficKind::BytesOut), 80_000);
    }
}
