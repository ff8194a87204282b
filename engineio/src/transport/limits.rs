//! Caps on what peers can hold open on the native listener: TCP connections per server and
//! per address, and the count of refusals and timeouts that [`crate::EngineServer::stats`] reports.
//!
//! A connection is admitted once, when it is accepted, and holds a [`ConnectionPermit`] for
//! as long as its socket is open (through a WebSocket upgrade too), so the caps bound file
//! descriptors rather than requests.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a peer was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Refusal {
    /// The server holds `max_connections` already.
    ServerFull,
    /// This address holds `max_connections_per_ip` already.
    AddressFull,
    /// The server holds `max_sessions` Engine.IO sessions already.
    SessionsFull,
    /// Request headers did not arrive within `http_header_timeout` (or the connection sat
    /// idle that long between requests).
    HeaderTimeout,
    /// A request body did not arrive within `http_body_timeout`.
    BodyTimeout,
}

impl Refusal {
    fn describe(self) -> &'static str {
        match self {
            Refusal::ServerFull => "connection refused: the server holds max_connections",
            Refusal::AddressFull => "connection refused: this address holds max_connections_per_ip",
            Refusal::SessionsFull => "handshake refused: the server holds max_sessions",
            Refusal::HeaderTimeout => "connection closed: request headers not received in time",
            Refusal::BodyTimeout => "request refused: body not received in time",
        }
    }
}

/// Counters of refusals, and the log throttle: an attack refuses thousands of peers a
/// second, so the log gets at most one line per kind and second, with the count suppressed.
#[derive(Default)]
pub(crate) struct Refusals {
    connections: AtomicU64,
    sessions: AtomicU64,
    timeouts: AtomicU64,
    /// Per kind: when its last line was logged, and how many were suppressed since.
    log: Mutex<HashMap<Refusal, (Instant, u64)>>,
}

impl Refusals {
    pub(crate) fn note(&self, why: Refusal, peer: Option<IpAddr>) {
        let counter = match why {
            Refusal::ServerFull | Refusal::AddressFull => &self.connections,
            Refusal::SessionsFull => &self.sessions,
            Refusal::HeaderTimeout | Refusal::BodyTimeout => &self.timeouts,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let suppressed = {
            let mut log = self.log.lock();
            match log.get_mut(&why) {
                Some((last, n)) if now.duration_since(*last) < Duration::from_secs(1) => {
                    *n += 1;
                    return;
                }
                Some(entry) => std::mem::replace(entry, (now, 0)).1,
                None => {
                    log.insert(why, (now, 0));
                    0
                }
            }
        };
        let peer = peer.map(|p| p.to_string()).unwrap_or_default();
        tracing::warn!(peer, suppressed, "{}", why.describe());
    }

    /// (connections refused, handshakes refused, requests timed out)
    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        (
            self.connections.load(Ordering::Relaxed),
            self.sessions.load(Ordering::Relaxed),
            self.timeouts.load(Ordering::Relaxed),
        )
    }
}

/// Open connections of the native listener, in total and per peer address.
pub(crate) struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

impl ConnectionLimits {
    pub(crate) fn new(max_total: usize, max_per_ip: Option<usize>) -> Arc<Self> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_ip: max_per_ip.unwrap_or(usize::MAX),
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        })
    }

    /// Admits a new connection from `ip`, or says which cap it hits.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionPermit, Refusal> {
        if self.total.fetch_add(1, Ordering::AcqRel) >= self.max_total {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::ServerFull);
        }
        if self.max_per_ip != usize::MAX {
            let mut per_ip = self.per_ip.lock();
            let n = per_ip.entry(ip).or_insert(0);
            if *n >= self.max_per_ip {
                drop(per_ip);
                self.total.fetch_sub(1, Ordering::AcqRel);
                return Err(Refusal::AddressFull);
            }
            *n += 1;
        }
        Ok(ConnectionPermit {
            limits: self.clone(),
            ip,
        })
    }

    #[cfg(test)]
    fn open(&self) -> (usize, usize) {
        (self.total.load(Ordering::Acquire), self.per_ip.lock().len())
    }
}

/// One admitted connection; dropping it frees its place.
pub(crate) struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let limits = &self.limits;
        if limits.max_per_ip != usize::MAX {
            let mut per_ip = limits.per_ip.lock();
            if let Some(n) = per_ip.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    per_ip.remove(&self.ip);
                }
            }
        }
        limits.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection cap when none is configured: nine tenths of the open-file limit, so that
/// a flood of connections leaves descriptors for everything else (Redis, log files, the
/// listener's own accept).
pub(crate) fn default_max_connections() -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0
            && limit.rlim_cur != libc::RLIM_INFINITY
        {
            let files = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
            return (files / 10 * 9).max(64);
        }
    }
    usize::MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn caps_connections_per_server_and_per_address() {
        let limits = ConnectionLimits::new(3, Some(2));
        let a1 = limits.admit(ip(1)).expect("first");
        let a2 = limits.admit(ip(1)).expect("second from the same address");
        assert_eq!(limits.admit(ip(1)).err(), Some(Refusal::AddressFull));
        let b1 = limits.admit(ip(2)).expect("another address");
        assert_eq!(limits.admit(ip(3)).err(), Some(Refusal::ServerFull));
        assert_eq!(limits.open(), (3, 2));
        drop(a1);
        let a3 = limits.admit(ip(1)).expect("a freed place is reusable");
        drop((a2, a3, b1));
        assert_eq!(limits.open(), (0, 0));
    }

    #[test]
    fn refusals_are_counted_by_kind() {
        let r = Refusals::default();
        r.note(Refusal::AddressFull, Some(ip(1)));
        r.note(Refusal::ServerFull, None);
        r.note(Refusal::SessionsFull, None);
        r.note(Refusal::HeaderTimeout, None);
        r.note(Refusal::BodyTimeout, None);
        assert_eq!(r.counts(), (2, 1, 2));
    }
}
