//! fanout: N clients join one room; a separate control connection sends one
//! trigger `["fanout", {"room", "count": M, "event": "tick"}]`; the server
//! emits M events `tick` `{"i": i}` to the room, in order.
//!
//! Measured from the moment the trigger is written (t0):
//! - duration = last arrival of any tick at any client - t0
//! - deliveries/s = delivered / duration (delivered = N*M when nothing is lost)
//! - latency of delivery (client c, index i) = arrival(c, i) - t0; its
//!   p50/p99/max. Since the M events are emitted back to back, this is the
//!   "time until a client has event i", which grows with i: its max equals the
//!   duration, its median is roughly when half the work is done.
//! - lost = N*M - delivered (by index); duplicated = indices seen twice;
//!   out_of_order = arrivals with an index lower than one already seen.
//!
//! A warm-up round (event `warm`, `--warmup-messages`) runs first and is not
//! measured.
//!
//! Several processes share one fan-out with `--go-stdin` (one process cannot
//! hold 100k sockets under a per-process file limit): each connects and joins,
//! prints `ready` on stderr and reads one line from stdin. `warm`: this process
//! sends the warm-up trigger, then waits for a second line, `go`, before it
//! sends the measured one and prints `triggered <t0>` (µs since the Unix
//! epoch); `wait <t0>`: another process sent the measured trigger at t0, and
//! this one only counts its own clients' deliveries, measured from t0. Every
//! process prints `warmed` once its clients have had the warm-up round, so the
//! caller says `go` when all have, and the rounds do not overlap. The JSON then
//! also holds the pongs answered and the clients broken before the first line
//! came (the hold), and the latencies as a histogram the caller can merge.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
use serde_json::json;
use tokio::sync::watch;

use super::{header, secs, Phase, Setup};
use crate::args::Args;
use crate::proto::{Conn, ConnError, PONGS, SIO_EVENT};
use crate::stats::{histogram_ms, local_us32, now_us32, round3, summarize, unix_us, Errors, Marks};
use crate::Common;

pub struct Params {
    clients: usize,
    messages: usize,
    room: String,
    warmup: usize,
    timeout: Duration,
    go_stdin: bool,
}

impl Params {
    pub fn from_args(a: &mut Args) -> Result<Params, String> {
        let messages: usize = a.req("messages")?;
        Ok(Params {
            clients: a.req("clients")?,
            messages,
            room: a.get_str("room", "bench"),
            warmup: a.get("warmup-messages", messages.min(20))?,
            timeout: Duration::from_secs_f64(a.get("timeout", 120.0)?),
            go_stdin: a.flag("go-stdin"),
        })
    }
}

struct Shared {
    setup: Setup,
    room: String,
    messages: usize,
    warmup: usize,
    warm_done: AtomicUsize,
    done: AtomicUsize,
    broken: AtomicUsize,
    dup: AtomicU64,
    out_of_order: AtomicU64,
    bad: AtomicU64,
}

#[derive(serde::Deserialize)]
struct Tick {
    i: u64,
}

fn tick_index(data: &str) -> Option<u64> {
    serde_json::from_str::<(IgnoredAny, Tick)>(data)
        .ok()
        .map(|(_, t)| t.i)
}

async fn client(
    idx: usize,
    sh: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
) -> Option<Vec<u32>> {
    let mut conn = sh.setup.connect_and_join(idx, Some(&sh.room)).await?;
    let m = sh.messages;
    let mut arrivals = vec![u32::MAX; m];
    let mut got = 0usize;
    let mut highest: Option<u64> = None;
    let mut warm_seen = 0usize;
    loop {
        tokio::select! {
            ch = phase.changed() => {
                if ch.is_err() || *phase.borrow() == Phase::Stop {
                    break;
                }
            }
            r = conn.recv() => match r {
                Ok(p) if p.kind == SIO_EVENT => {
                    if p.is_event("tick") {
                        let now = now_us32();
                        match tick_index(p.data()) {
                            Some(i) if (i as usize) < m => {
                                if let Some(h) = highest {
                                    if i < h {
                                        sh.out_of_order.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                                highest = Some(highest.map_or(i, |h| h.max(i)));
                                let slot = &mut arrivals[i as usize];
                                if *slot == u32::MAX {
                                    *slot = now;
                                    got += 1;
                                    if got == m {
                                        sh.done.fetch_add(1, Ordering::Relaxed);
                                    }
                                } else {
                                    sh.dup.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            _ => {
                                sh.bad.fetch_add(1, Ordering::Relaxed);
                                sh.setup.errors.add("bad_tick", || p.data().chars().take(80).collect());
                            }
                        }
                    } else if p.is_event("warm") {
                        warm_seen += 1;
                        if warm_seen == sh.warmup {
                            sh.warm_done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Ok(_) => {}
                Err(ConnError::Protocol(e)) => sh.setup.errors.add("protocol", || e),
                Err(e) => {
                    sh.setup.errors.add(&format!("run_{}", e.kind()), || e.to_string());
                    sh.broken.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
    Some(arrivals)
}

/// Polls `cond` every 10 ms until true or `deadline`, answering pings on the
/// control connection meanwhile. Returns whether `cond` became true.
/// Waits until each of the `ok` clients had every measured event or broke; false (and an
/// error noted) when `timeout` passed first.
async fn wait_for_deliveries(
    ctl: &mut Option<Conn>,
    errors: &Errors,
    sh: &Shared,
    ok: usize,
    timeout: Duration,
) -> bool {
    let deadline = Instant::now() + timeout;
    let completed = wait_for(ctl, errors, deadline, || {
        sh.done.load(Ordering::Relaxed) + sh.broken.load(Ordering::Relaxed) >= ok
    })
    .await;
    if !completed {
        errors.add("fanout_timeout", || {
            format!("not all deliveries within {timeout:?}")
        });
    }
    completed
}

async fn wait_for(
    ctl: &mut Option<Conn>,
    errors: &Errors,
    deadline: Instant,
    cond: impl Fn() -> bool,
) -> bool {
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        let tick = tokio::time::sleep(Duration::from_millis(10));
        match ctl {
            Some(c) => {
                tokio::select! {
                    _ = tick => {}
                    r = c.recv() => {
                        if let Err(e) = r {
                            if !matches!(e, ConnError::Protocol(_)) {
                                errors.add(&format!("control_{}", e.kind()), || e.to_string());
                                *ctl = None;
                            }
                        }
                    }
                }
            }
            None => tick.await,
        }
    }
}

/// What a `--go-stdin` process was told to do.
enum Go {
    /// Send the triggers (the measured one after a `go` line).
    Trigger,
    /// Another process sent the measured trigger at this time (µs since the Unix epoch).
    Wait(u64),
    /// stdin closed or said something else: no fan-out.
    Abort(String),
}

/// Reads one line from stdin on a thread; `poll` has it once it came (`""` at EOF), so a
/// caller can keep answering pings meanwhile.
struct StdinLine(Arc<std::sync::Mutex<Option<String>>>);

impl StdinLine {
    fn read() -> StdinLine {
        let slot = Arc::new(std::sync::Mutex::new(None));
        let filled = slot.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            *filled.lock().unwrap_or_else(|e| e.into_inner()) = Some(line);
        });
        StdinLine(slot)
    }

    fn poll(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn parse_go(line: &str) -> Go {
    let mut words = line.split_whitespace();
    match (words.next(), words.next().map(str::parse::<u64>)) {
        (Some("warm"), None) => Go::Trigger,
        (Some("wait"), Some(Ok(t0))) => Go::Wait(t0),
        _ => Go::Abort(format!(
            "expected `warm` or `wait <t0>` on stdin, got {line:?}"
        )),
    }
}

/// Prints `warmed` once every client of this process had the warm-up round (or broke).
fn report_warmed(sh: Arc<Shared>, ok: usize, limit: Duration) {
    tokio::spawn(async move {
        let deadline = Instant::now() + limit;
        while sh.warmup > 0
            && sh.warm_done.load(Ordering::Relaxed) + sh.broken.load(Ordering::Relaxed) < ok
        {
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        eprintln!("warmed");
    });
}

fn trigger(room: &str, count: usize, event: &str) -> String {
    format!(
        "42{}",
        json!(["fanout", {"room": room, "count": count, "event": event}])
    )
}

pub async fn run(common: Common, p: Params) -> serde_json::Value {
    let errors = Arc::new(Errors::default());
    let mut out = header(
        &common,
        "fanout",
        json!({"clients": p.clients, "messages": p.messages, "room": p.room, "warmup_messages": p.warmup}),
    );
    let pid = common.server_pid;
    let sh = Arc::new(Shared {
        setup: Setup::new(common, errors.clone()),
        room: p.room.clone(),
        messages: p.messages,
        warmup: p.warmup,
        warm_done: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        broken: AtomicUsize::new(0),
        dup: AtomicU64::new(0),
        out_of_order: AtomicU64::new(0),
        bad: AtomicU64::new(0),
    });
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let setup_start = Instant::now();
    let handles: Vec<_> = (0..p.clients)
        .map(|i| tokio::spawn(client(i, sh.clone(), phase_rx.clone())))
        .collect();
    let ok = sh.setup.wait_all(p.clients).await;
    let setup_s = setup_start.elapsed();
    eprintln!(
        "fanout: {ok}/{} clients joined {:?} in {:.2}s",
        p.clients,
        p.room,
        setup_s.as_secs_f64()
    );

    let mut go = Go::Trigger;
    let mut held = json!(null);
    if p.go_stdin {
        eprintln!("ready");
        report_warmed(sh.clone(), ok, Duration::from_secs(86_400));
        let line = StdinLine::read();
        wait_for(
            &mut None,
            &errors,
            Instant::now() + Duration::from_secs(86_400),
            || line.poll().is_some(),
        )
        .await;
        go = parse_go(&line.poll().unwrap_or_default());
        held = json!({
            "clients_broken": sh.broken.load(Ordering::Relaxed),
            "pongs": PONGS.load(Ordering::Relaxed),
        });
        if let Go::Abort(why) = &go {
            errors.add("go_stdin", || why.clone());
        }
    }

    let mut ctl = None;
    if matches!(go, Go::Trigger) {
        match Conn::connect(&sh.setup.common.conn, None).await {
            Ok(c) => ctl = Some(c),
            Err(e) => errors.add("control_connect", || e.to_string()),
        }
    }

    let mut t0 = None;
    let mut completed = false;
    let mut server = json!(null);
    if ok > 0 && ctl.is_some() {
        // Warm-up round.
        if p.warmup > 0 {
            if let Some(c) = ctl.as_mut() {
                if let Err(e) = c.send_text(trigger(&p.room, p.warmup, "warm")).await {
                    errors.add("control_send", || e.to_string());
                }
            }
            let dl = Instant::now() + p.timeout;
            let warm_ok = wait_for(&mut ctl, &errors, dl, || {
                sh.warm_done.load(Ordering::Relaxed) + sh.broken.load(Ordering::Relaxed) >= ok
            })
            .await;
            if !warm_ok {
                errors.add("warmup_timeout", || "warm-up round did not complete".into());
            }
            if !p.go_stdin {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        if p.go_stdin {
            // The caller says `go` once every process's clients had the warm-up round.
            let line = StdinLine::read();
            wait_for(&mut ctl, &errors, Instant::now() + p.timeout, || {
                line.poll().is_some()
            })
            .await;
            if line.poll().as_deref().map(str::trim) != Some("go") {
                errors.add("go_stdin", || {
                    format!("expected `go`, got {:?}", line.poll())
                });
                ctl = None;
            }
        }
        // Measured round.
        let marks = Marks::start(pid);
        let wall = Instant::now();
        if let Some(c) = ctl.as_mut() {
            let (t, unix) = (now_us32(), unix_us());
            match c.send_text(trigger(&p.room, p.messages, "tick")).await {
                Ok(()) => {
                    t0 = Some(t);
                    if p.go_stdin {
                        eprintln!("triggered {unix}");
                    }
                }
                Err(e) => errors.add("control_send", || e.to_string()),
            }
        }
        if t0.is_some() {
            completed = wait_for_deliveries(&mut ctl, &errors, &sh, ok, p.timeout).await;
        }
        // From the trigger until completion was noticed (polled every 10 ms).
        server = marks.finish(wall.elapsed().as_secs_f64());
    } else if let (Go::Wait(unix), true) = (&go, ok > 0) {
        let marks = Marks::start(pid);
        let wall = Instant::now();
        t0 = Some(local_us32(*unix));
        completed = wait_for_deliveries(&mut None, &errors, &sh, ok, p.timeout).await;
        server = marks.finish(wall.elapsed().as_secs_f64());
    }
    let _ = phase_tx.send(Phase::Stop);
    drop(ctl);

    let mut lat: Vec<u32> = Vec::with_capacity(ok.saturating_mul(p.messages).min(50_000_000));
    let mut last = 0u32;
    let mut connected = 0usize;
    for h in handles {
        if let Ok(Some(arr)) = h.await {
            connected += 1;
            if let Some(t0) = t0 {
                for &a in &arr {
                    if a != u32::MAX {
                        let d = a.saturating_sub(t0);
                        last = last.max(d);
                        lat.push(d);
                    }
                }
            }
        }
    }
    let delivered = lat.len() as u64;
    let expected = (connected * p.messages) as u64;
    let lost = expected.saturating_sub(delivered);
    let dup = sh.dup.load(Ordering::Relaxed);
    let duration_s = last as f64 / 1e6;
    let rate = if duration_s > 0.0 {
        delivered as f64 / duration_s
    } else {
        0.0
    };
    eprintln!(
        "fanout: {delivered}/{expected} deliveries in {duration_s:.3}s = {rate:.0}/s, lost {lost}, dup {dup}"
    );
    let hist = p.go_stdin.then(|| histogram_ms(&lat));
    let summary = summarize(lat);
    let ok_run = completed && lost == 0 && dup == 0 && errors.total() == 0;
    out.insert("ok".into(), json!(ok_run));
    out.insert(
        "results".into(),
        json!({
            "clients_connected": connected,
            "setup_s": secs(setup_s),
            "expected": expected,
            "delivered": delivered,
            "lost": lost,
            "duplicated": dup,
            "out_of_order": sh.out_of_order.load(Ordering::Relaxed),
            "malformed": sh.bad.load(Ordering::Relaxed),
            "clients_broken": sh.broken.load(Ordering::Relaxed),
            "duration_s": round3(duration_s),
            "deliveries_per_s": rate.round(),
            "latency": summary,
            "server": server,
            "pongs": PONGS.load(Ordering::Relaxed),
            "held": held,
            "latency_hist_ms": hist,
        }),
    );
    out.insert("errors".into(), errors.to_json());
    serde_json::Value::Object(out)
}
