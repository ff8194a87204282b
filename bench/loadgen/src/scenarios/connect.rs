//! connect: open N connections (TCP + WebSocket handshake + Engine.IO OPEN +
//! Socket.IO CONNECT), at most K in flight. Reports connections/s (successes
//! divided by the time until the last attempt finished), per-connection
//! connect latency and failures. Then holds every connection idle (answering
//! pings), prints `holding` on stderr, and waits `--hold-secs` (or, with
//! `--hold-stdin`, until stdin is closed, bounded by `--hold-secs`). With
//! `--server-pid` the server's RSS is sampled before connecting and at the end
//! of the hold, giving an estimate of memory per connection.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{watch, Semaphore};

use super::{header, idle_until, secs, Phase};
use crate::args::Args;
use crate::proto::Conn;
use crate::stats::{now_us32, round3, sample_proc, summarize, Errors, Marks};
use crate::Common;

pub struct Params {
    connections: usize,
    hold: Duration,
    hold_stdin: bool,
}

impl Params {
    pub fn from_args(a: &mut Args) -> Result<Params, String> {
        Ok(Params {
            connections: a.req("connections")?,
            hold: Duration::from_secs_f64(a.get("hold-secs", 3.0)?),
            hold_stdin: a.flag("hold-stdin"),
        })
    }
}

struct Shared {
    common: Common,
    sem: Semaphore,
    ok: AtomicUsize,
    failed: AtomicUsize,
    dropped: AtomicUsize,
    last_done: AtomicU32,
    errors: Arc<Errors>,
}

async fn client(idx: usize, sh: Arc<Shared>, mut phase: watch::Receiver<Phase>) -> Option<u32> {
    let source = if sh.common.sources.is_empty() {
        None
    } else {
        Some(sh.common.sources[idx % sh.common.sources.len()])
    };
    let permit = sh.sem.acquire().await.ok()?;
    let t = now_us32();
    let r = Conn::connect(&sh.common.conn, source).await;
    let done = now_us32();
    drop(permit);
    sh.last_done.fetch_max(done, Ordering::Relaxed);
    let mut conn = match r {
        Ok(c) => {
            sh.ok.fetch_add(1, Ordering::Relaxed);
            c
        }
        Err(e) => {
            sh.failed.fetch_add(1, Ordering::Relaxed);
            sh.errors
                .add(&format!("connect_{}", e.kind()), || e.to_string());
            return None;
        }
    };
    if !idle_until(&mut conn, &mut phase, &sh.errors, |p| p == Phase::Stop).await {
        sh.dropped.fetch_add(1, Ordering::Relaxed);
    }
    Some(done - t)
}

pub async fn run(common: Common, p: Params) -> serde_json::Value {
    let errors = Arc::new(Errors::default());
    let mut out = header(
        &common,
        "connect",
        json!({"connections": p.connections, "concurrency": common.concurrency, "hold_s": secs(p.hold)}),
    );
    let pid = common.server_pid;
    let setup_timeout = common.setup_timeout;
    let sh = Arc::new(Shared {
        sem: Semaphore::new(common.concurrency),
        common,
        ok: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        last_done: AtomicU32::new(0),
        errors: errors.clone(),
    });
    let (phase_tx, phase_rx) = watch::channel(Phase::Run);
    let before = sample_proc(pid);
    let marks = Marks::start(pid);
    let wall = Instant::now();
    let t0 = now_us32();
    let handles: Vec<_> = (0..p.connections)
        .map(|i| tokio::spawn(client(i, sh.clone(), phase_rx.clone())))
        .collect();
    let deadline = Instant::now() + setup_timeout;
    let mut last_report = Instant::now();
    loop {
        let (ok, failed) = (
            sh.ok.load(Ordering::Relaxed),
            sh.failed.load(Ordering::Relaxed),
        );
        if ok + failed >= p.connections {
            break;
        }
        if Instant::now() >= deadline {
            errors.add("connect_phase_timeout", || {
                format!("{} still pending", p.connections - ok - failed)
            });
            break;
        }
        if last_report.elapsed() > Duration::from_secs(2) {
            eprintln!("  connect: {ok} ok, {failed} failed of {}", p.connections);
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ok = sh.ok.load(Ordering::Relaxed);
    let failed = sh.failed.load(Ordering::Relaxed);
    let dur_s = (sh.last_done.load(Ordering::Relaxed).saturating_sub(t0)) as f64 / 1e6;
    let rate = if dur_s > 0.0 { ok as f64 / dur_s } else { 0.0 };
    let server = marks.finish(wall.elapsed().as_secs_f64());
    eprintln!("connect: {ok} ok, {failed} failed in {dur_s:.3}s = {rate:.0}/s");

    // Hold.
    eprintln!("holding");
    let hold_start = Instant::now();
    if p.hold_stdin {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            let _ = tx.send(());
        });
        let _ = tokio::time::timeout(p.hold, rx).await;
    } else {
        tokio::time::sleep(p.hold).await;
    }
    let held = sample_proc(pid);
    let hold_s = hold_start.elapsed();
    let dropped = sh.dropped.load(Ordering::Relaxed);
    let per_conn_kb = match (before.rss_kb, held.rss_kb) {
        (Some(a), Some(b)) if ok > 0 => Some(round3((b as f64 - a as f64) / ok as f64)),
        _ => None,
    };
    let _ = phase_tx.send(Phase::Stop);
    let mut lat = Vec::with_capacity(ok);
    for h in handles {
        if let Ok(Some(d)) = h.await {
            lat.push(d);
        }
    }
    let ok_run = failed == 0 && dropped == 0 && ok == p.connections;
    out.insert("ok".into(), json!(ok_run));
    out.insert(
        "results".into(),
        json!({
            "connected": ok,
            "failed": failed,
            "dropped_during_hold": dropped,
            "duration_s": round3(dur_s),
            "connections_per_s": rate.round(),
            "latency": summarize(lat),
            "hold_s": secs(hold_s),
            "server": server,
            "server_rss_before_kb": before.rss_kb,
            "server_rss_held_kb": held.rss_kb,
            "server_kb_per_connection": per_conn_kb,
        }),
    );
    out.insert("errors".into(), errors.to_json());
    serde_json::Value::Object(out)
}
