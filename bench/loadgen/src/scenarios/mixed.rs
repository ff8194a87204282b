//! mixed: R rooms of K members (client c is in room `r{c / K}`). Every client
//! sends chat messages at a fixed rate (`--rate` is the total over all
//! clients, spread evenly in time) as
//! `42["chat",{"room":"r3","s":<sender>,"k":<seq>,"t":<send µs>,"msg":"xx.."}]`
//! and the server broadcasts `42["chat",<same object>]` to the whole room,
//! sender included. Each message therefore yields K deliveries.
//!
//! Latency = arrival - send time (both on the loadgen's clock), for messages
//! sent after the warm-up. deliveries/s = deliveries that arrived during the
//! measured window / window length (drops below rate*K when the server can't
//! keep up). lost = expected - delivered after the drain; duplicated and
//! out-of-order are detected per (receiver, sender) sequence.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;

use super::{header, idle_until, secs, Phase, Setup};
use crate::args::Args;
use crate::proto::{ConnError, SIO_EVENT};
use crate::stats::{now_us, round3, summarize, Errors, Marks};
use crate::Common;

pub struct Params {
    rooms: usize,
    members: usize,
    rate: f64,
    duration: Duration,
    warmup: Duration,
    msg_bytes: usize,
    drain: Duration,
}

impl Params {
    pub fn from_args(a: &mut Args) -> Result<Params, String> {
        let p = Params {
            rooms: a.req("rooms")?,
            members: a.req("members")?,
            rate: a.get("rate", 1000.0)?,
            duration: Duration::from_secs_f64(a.get("duration", 10.0)?),
            warmup: Duration::from_secs_f64(a.get("warmup", 2.0)?),
            msg_bytes: a.get("msg-bytes", 64)?,
            drain: Duration::from_secs_f64(a.get("drain-timeout", 10.0)?),
        };
        if p.rate <= 0.0 || p.rooms == 0 || p.members == 0 {
            return Err("--rate, --rooms and --members must be positive".into());
        }
        Ok(p)
    }
}

struct Times {
    start: Instant,
    measure_us: u64,
    end: Instant,
    end_us: u64,
    period: Duration,
}

struct Shared {
    setup: Setup,
    members: usize,
    clients: usize,
    pad: String,
    times: OnceLock<Times>,
    room_ready: Vec<AtomicUsize>,
    room_sent: Vec<AtomicU64>,
    senders_done: AtomicUsize,
    delivered: AtomicU64,
    out_of_order: AtomicU64,
}

#[derive(serde::Deserialize)]
struct Chat {
    s: u32,
    k: u32,
    t: u64,
}

#[derive(Default)]
struct ClientOut {
    lat: Vec<u32>,
    in_window: u64,
}

async fn client(
    idx: usize,
    sh: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
) -> Option<ClientOut> {
    let room_idx = idx / sh.members;
    let room = format!("r{room_idx}");
    let mut conn = sh.setup.connect_and_join(idx, Some(&room)).await?;
    sh.room_ready[room_idx].fetch_add(1, Ordering::Relaxed);
    let errors = &sh.setup.errors;
    let mut out = ClientOut::default();
    if !idle_until(&mut conn, &mut phase, errors, |p| p != Phase::Setup).await
        || *phase.borrow() == Phase::Stop
    {
        sh.senders_done.fetch_add(1, Ordering::Relaxed);
        return Some(out);
    }
    let t = sh.times.get().expect("times set before Run");
    let offset = t.period.mul_f64(idx as f64 / sh.clients as f64);
    let mut next = t.start + offset;
    let mut sending = true;
    let mut k: u32 = 0;
    let mut next_seq: HashMap<u32, u32> = HashMap::with_capacity(sh.members);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()), if sending => {
                if Instant::now() >= t.end {
                    sending = false;
                    sh.senders_done.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let msg = format!(
                    "42[\"chat\",{{\"room\":\"{room}\",\"s\":{idx},\"k\":{k},\"t\":{},\"msg\":\"{}\"}}]",
                    now_us(),
                    sh.pad
                );
                if let Err(e) = conn.send_text(msg).await {
                    errors.add(&format!("send_{}", e.kind()), || e.to_string());
                    sh.senders_done.fetch_add(1, Ordering::Relaxed);
                    return Some(out);
                }
                sh.room_sent[room_idx].fetch_add(1, Ordering::Relaxed);
                k += 1;
                next += t.period;
            }
            ch = phase.changed() => {
                if ch.is_err() || *phase.borrow() == Phase::Stop {
                    break;
                }
            }
            r = conn.recv() => match r {
                Ok(p) if p.kind == SIO_EVENT && p.is_event("chat") => {
                    let now = now_us();
                    match serde_json::from_str::<(serde::de::IgnoredAny, Chat)>(p.data()) {
                        Ok((_, c)) => {
                            sh.delivered.fetch_add(1, Ordering::Relaxed);
                            let e = next_seq.entry(c.s).or_insert(0);
                            if c.k >= *e {
                                *e = c.k + 1;
                            } else {
                                // Seen a later one already: duplicate or reordering.
                                sh.out_of_order.fetch_add(1, Ordering::Relaxed);
                            }
                            if c.t >= t.measure_us {
                                out.lat.push(now.saturating_sub(c.t).min(u32::MAX as u64) as u32);
                            }
                            if now >= t.measure_us && now <= t.end_us {
                                out.in_window += 1;
                            }
                        }
                        Err(_) => errors.add("bad_chat", || p.data().chars().take(80).collect()),
                    }
                }
                Ok(_) => {}
                Err(ConnError::Protocol(e)) => errors.add("protocol", || e),
                Err(e) => {
                    errors.add(&format!("run_{}", e.kind()), || e.to_string());
                    if sending {
                        sh.senders_done.fetch_add(1, Ordering::Relaxed);
                    }
                    return Some(out);
                }
            }
        }
    }
    if sending {
        sh.senders_done.fetch_add(1, Ordering::Relaxed);
    }
    Some(out)
}

pub async fn run(common: Common, p: Params) -> serde_json::Value {
    let errors = Arc::new(Errors::default());
    let clients = p.rooms * p.members;
    let mut out = header(
        &common,
        "mixed",
        json!({
            "rooms": p.rooms, "members": p.members, "clients": clients, "rate_msgs_per_s": p.rate,
            "duration_s": secs(p.duration), "warmup_s": secs(p.warmup), "msg_bytes": p.msg_bytes,
            "sender_receives_own": true,
        }),
    );
    let pid = common.server_pid;
    let sh = Arc::new(Shared {
        setup: Setup::new(common, errors.clone()),
        members: p.members,
        clients,
        pad: "x".repeat(p.msg_bytes),
        times: OnceLock::new(),
        room_ready: (0..p.rooms).map(|_| AtomicUsize::new(0)).collect(),
        room_sent: (0..p.rooms).map(|_| AtomicU64::new(0)).collect(),
        senders_done: AtomicUsize::new(0),
        delivered: AtomicU64::new(0),
        out_of_order: AtomicU64::new(0),
    });
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let setup_start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|i| tokio::spawn(client(i, sh.clone(), phase_rx.clone())))
        .collect();
    let ok = sh.setup.wait_all(clients).await;
    let setup_s = setup_start.elapsed();
    eprintln!(
        "mixed: {ok}/{clients} clients joined {} rooms in {:.2}s",
        p.rooms,
        setup_s.as_secs_f64()
    );

    let start = Instant::now() + Duration::from_millis(200);
    let base_now = (now_us(), Instant::now());
    let to_us = |i: Instant| base_now.0 + (i - base_now.1).as_micros() as u64;
    let measure = start + p.warmup;
    let end = measure + p.duration;
    let period = Duration::from_secs_f64(clients as f64 / p.rate);
    let _ = sh.times.set(Times {
        start,
        measure_us: to_us(measure),
        end,
        end_us: to_us(end),
        period,
    });
    let mut server = json!(null);
    let mut drained = false;
    let mut expected = 0u64;
    if ok > 0 {
        let _ = phase_tx.send(Phase::Run);
        tokio::time::sleep_until(measure.into()).await;
        let marks = Marks::start(pid);
        tokio::time::sleep_until(end.into()).await;
        server = marks.finish(p.duration.as_secs_f64());
        let dl = end + p.drain;
        loop {
            let senders_done = sh.senders_done.load(Ordering::Relaxed) >= ok;
            expected = (0..p.rooms)
                .map(|r| {
                    sh.room_sent[r].load(Ordering::Relaxed)
                        * sh.room_ready[r].load(Ordering::Relaxed) as u64
                })
                .sum();
            if senders_done && sh.delivered.load(Ordering::Relaxed) >= expected {
                drained = true;
                break;
            }
            if Instant::now() >= dl {
                errors.add("drain_timeout", || {
                    format!("not all deliveries within {:?} after the end", p.drain)
                });
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let _ = phase_tx.send(Phase::Stop);
    let mut lat = Vec::new();
    let mut in_window = 0u64;
    for h in handles {
        if let Ok(Some(o)) = h.await {
            lat.extend_from_slice(&o.lat);
            in_window += o.in_window;
        }
    }
    let delivered = sh.delivered.load(Ordering::Relaxed);
    let sent: u64 = sh.room_sent.iter().map(|s| s.load(Ordering::Relaxed)).sum();
    let lost = expected.saturating_sub(delivered);
    let rate = in_window as f64 / p.duration.as_secs_f64().max(1e-9);
    eprintln!(
        "mixed: sent {sent}, delivered {delivered}/{expected}, {rate:.0} deliveries/s in window, lost {lost}"
    );
    let ooo = sh.out_of_order.load(Ordering::Relaxed);
    let ok_run = drained && lost == 0 && ooo == 0 && errors.total() == 0;
    out.insert("ok".into(), json!(ok_run));
    out.insert(
        "results".into(),
        json!({
            "clients_connected": ok,
            "setup_s": secs(setup_s),
            "sent": sent,
            "send_rate_per_s": round3(sent as f64 / (p.warmup + p.duration).as_secs_f64()),
            "expected": expected,
            "delivered": delivered,
            "lost": lost,
            "duplicated_or_reordered": ooo,
            "deliveries_per_s": rate.round(),
            "offered_deliveries_per_s": (p.rate * p.members as f64).round(),
            "latency": summarize(lat),
            "server": server,
        }),
    );
    out.insert("errors".into(), errors.to_json());
    serde_json::Value::Object(out)
}
