//! echo: C clients in closed loops. Each sends `42<id>["echo",{"n":k}]` and
//! waits for `43<id>[{"n":k}]` before sending the next. After `--warmup`
//! seconds, acks completed during `--duration` seconds are counted;
//! latency = ack arrival - request send.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;

use super::{header, idle_until, secs, Phase, Setup};
use crate::args::Args;
use crate::proto::ConnError;
use crate::stats::{summarize, Errors, Marks};
use crate::Common;

pub struct Params {
    clients: usize,
    duration: Duration,
    warmup: Duration,
    request_timeout: Duration,
}

impl Params {
    pub fn from_args(a: &mut Args) -> Result<Params, String> {
        Ok(Params {
            clients: a.req("clients")?,
            duration: Duration::from_secs_f64(a.get("duration", 10.0)?),
            warmup: Duration::from_secs_f64(a.get("warmup", 1.0)?),
            request_timeout: Duration::from_secs_f64(a.get("request-timeout", 10.0)?),
        })
    }
}

struct Times {
    start: Instant,
    measure: Instant,
    end: Instant,
}

struct Shared {
    setup: Setup,
    times: OnceLock<Times>,
    finished: AtomicUsize,
    acks: AtomicU64,
    mismatched: AtomicU64,
    request_timeout: Duration,
}

#[derive(serde::Deserialize)]
struct N {
    n: u64,
}

async fn client(
    idx: usize,
    sh: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
) -> Option<Vec<u32>> {
    let mut conn = sh.setup.connect_and_join(idx, None).await?;
    let errors = &sh.setup.errors;
    let mut lat = Vec::new();
    let alive = idle_until(&mut conn, &mut phase, errors, |p| p != Phase::Setup).await;
    let mut alive = alive && *phase.borrow() == Phase::Run;
    if alive {
        let t = sh.times.get().expect("times set before Run");
        tokio::time::sleep_until(t.start.into()).await;
        let mut k: u64 = 0;
        while alive && Instant::now() < t.end {
            let id = conn.ack_id();
            let sent = Instant::now();
            if let Err(e) = conn
                .send_text(format!("42{id}[\"echo\",{{\"n\":{k}}}]"))
                .await
            {
                errors.add(&format!("send_{}", e.kind()), || e.to_string());
                alive = false;
                break;
            }
            match conn.wait_ack(id, sh.request_timeout).await {
                Ok(p) => {
                    let now = Instant::now();
                    match serde_json::from_str::<(N,)>(p.data()) {
                        Ok((n,)) if n.n == k => {}
                        _ => {
                            sh.mismatched.fetch_add(1, Ordering::Relaxed);
                            errors.add("bad_ack", || p.data().chars().take(80).collect());
                        }
                    }
                    if sent >= t.measure && now <= t.end {
                        lat.push((now - sent).as_micros().min(u32::MAX as u128) as u32);
                        sh.acks.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    errors.add(&format!("ack_{}", e.kind()), || e.to_string());
                    if !matches!(e, ConnError::Timeout(_)) {
                        alive = false;
                    }
                    break;
                }
            }
            k += 1;
        }
    }
    sh.finished.fetch_add(1, Ordering::Relaxed);
    if alive {
        idle_until(&mut conn, &mut phase, errors, |p| p == Phase::Stop).await;
    }
    Some(lat)
}

pub async fn run(common: Common, p: Params) -> serde_json::Value {
    let errors = Arc::new(Errors::default());
    let mut out = header(
        &common,
        "echo",
        json!({"clients": p.clients, "duration_s": secs(p.duration), "warmup_s": secs(p.warmup)}),
    );
    let pid = common.server_pid;
    let sh = Arc::new(Shared {
        setup: Setup::new(common, errors.clone()),
        times: OnceLock::new(),
        finished: AtomicUsize::new(0),
        acks: AtomicU64::new(0),
        mismatched: AtomicU64::new(0),
        request_timeout: p.request_timeout,
    });
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let setup_start = Instant::now();
    let handles: Vec<_> = (0..p.clients)
        .map(|i| tokio::spawn(client(i, sh.clone(), phase_rx.clone())))
        .collect();
    let ok = sh.setup.wait_all(p.clients).await;
    let setup_s = setup_start.elapsed();
    eprintln!(
        "echo: {ok}/{} clients connected in {:.2}s",
        p.clients,
        setup_s.as_secs_f64()
    );

    let start = Instant::now() + Duration::from_millis(100);
    let measure = start + p.warmup;
    let end = measure + p.duration;
    let _ = sh.times.set(Times {
        start,
        measure,
        end,
    });
    let mut server = json!(null);
    if ok > 0 {
        let _ = phase_tx.send(Phase::Run);
        tokio::time::sleep_until(measure.into()).await;
        let marks = Marks::start(pid);
        tokio::time::sleep_until(end.into()).await;
        server = marks.finish(p.duration.as_secs_f64());
        // Everyone stops at `end` or after at most one request timeout.
        let dl = end + p.request_timeout + Duration::from_secs(2);
        while sh.finished.load(Ordering::Relaxed) < ok && Instant::now() < dl {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let _ = phase_tx.send(Phase::Stop);
    let mut lat = Vec::new();
    for h in handles {
        if let Ok(Some(v)) = h.await {
            lat.extend_from_slice(&v);
        }
    }
    let acks = lat.len() as u64;
    let rate = acks as f64 / p.duration.as_secs_f64().max(1e-9);
    eprintln!(
        "echo: {acks} acks in {:.1}s = {rate:.0}/s",
        p.duration.as_secs_f64()
    );
    let ok_run = ok == p.clients && errors.total() == 0;
    out.insert("ok".into(), json!(ok_run));
    out.insert(
        "results".into(),
        json!({
            "clients_connected": ok,
            "setup_s": secs(setup_s),
            "acks": acks,
            "acks_per_s": rate.round(),
            "mismatched": sh.mismatched.load(Ordering::Relaxed),
            "latency": summarize(lat),
            "server": server,
        }),
    );
    out.insert("errors".into(), errors.to_json());
    serde_json::Value::Object(out)
}
