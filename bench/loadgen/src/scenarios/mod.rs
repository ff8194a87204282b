//! Shared machinery of the scenarios: bounded connect+join setup, phase
//! control, waiting loops.

pub mod connect;
pub mod echo;
pub mod fanout;
pub mod mixed;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};

use crate::proto::{Conn, ConnError};
use crate::stats::Errors;
use crate::Common;

/// What the client tasks should be doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Setup,
    Run,
    Stop,
}

/// Connect + join with a bound on connections in flight; counts outcomes.
pub struct Setup {
    pub common: Common,
    sem: Semaphore,
    pub ok: AtomicUsize,
    pub failed: AtomicUsize,
    pub errors: Arc<Errors>,
    pub join_timeout: Duration,
}

impl Setup {
    pub fn new(common: Common, errors: Arc<Errors>) -> Setup {
        let join_timeout = common.conn.timeout;
        Setup {
            sem: Semaphore::new(common.concurrency),
            common,
            ok: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            errors,
            join_timeout,
        }
    }

    fn source(&self, idx: usize) -> Option<std::net::IpAddr> {
        if self.common.sources.is_empty() {
            None
        } else {
            Some(self.common.sources[idx % self.common.sources.len()])
        }
    }

    /// Connects client `idx` and joins `room` (if any). `None` on failure
    /// (already counted).
    pub async fn connect_and_join(&self, idx: usize, room: Option<&str>) -> Option<Conn> {
        let permit = self.sem.acquire().await.ok()?;
        let r = async {
            let mut c = Conn::connect(&self.common.conn, self.source(idx)).await?;
            if let Some(room) = room {
                c.join(room, self.join_timeout).await?;
            }
            Ok::<Conn, ConnError>(c)
        }
        .await;
        drop(permit);
        match r {
            Ok(c) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                Some(c)
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.errors
                    .add(&format!("setup_{}", e.kind()), || e.to_string());
                None
            }
        }
    }

    /// Waits until all `n` clients have either connected or failed, or the
    /// setup timeout passes. Returns the number connected.
    pub async fn wait_all(&self, n: usize) -> usize {
        let deadline = Instant::now() + self.common.setup_timeout;
        let mut last_report = Instant::now();
        loop {
            let ok = self.ok.load(Ordering::Relaxed);
            let failed = self.failed.load(Ordering::Relaxed);
            if ok + failed >= n {
                break;
            }
            if Instant::now() >= deadline {
                self.errors.add("setup_phase_timeout", || {
                    format!("{} of {n} clients still pending", n - ok - failed)
                });
                break;
            }
            if last_report.elapsed() > Duration::from_secs(2) {
                eprintln!("  setup: {ok} connected, {failed} failed of {n}");
                last_report = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.ok.load(Ordering::Relaxed)
    }
}

/// Reads from `conn` (answering pings, ignoring packets) until the phase
/// satisfies `done`. Returns false if the connection broke.
pub async fn idle_until(
    conn: &mut Conn,
    phase: &mut watch::Receiver<Phase>,
    errors: &Errors,
    done: impl Fn(Phase) -> bool,
) -> bool {
    loop {
        if done(*phase.borrow()) {
            return true;
        }
        tokio::select! {
            ch = phase.changed() => {
                if ch.is_err() {
                    return true;
                }
            }
            r = conn.recv() => match r {
                Ok(_) => {}
                Err(ConnError::Protocol(e)) => errors.add("protocol", || e),
                Err(e) => {
                    errors.add(&format!("idle_{}", e.kind()), || e.to_string());
                    return false;
                }
            }
        }
    }
}

/// Common header of every JSON result.
pub fn header(common: &Common, scenario: &str, params: Value) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("scenario".into(), json!(scenario));
    m.insert("label".into(), json!(common.label));
    m.insert("target".into(), json!(common.conn.addr.to_string()));
    m.insert("params".into(), params);
    m.insert(
        "loadgen".into(),
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "nofile": common.nofile,
            "source_addrs": common.sources.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        }),
    );
    m
}

pub fn secs(d: Duration) -> f64 {
    crate::stats::round3(d.as_secs_f64())
}
