//! Clock, latency summaries, error counters and /proc sampling of the server.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::{json, Value};

static BASE: OnceLock<Instant> = OnceLock::new();

/// Microseconds since the process-wide time base (first call).
pub fn now_us() -> u64 {
    BASE.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// Same clock, truncated to u32 (the process never lives for 71 minutes: see
/// the `--max-secs` watchdog, capped at an hour).
pub fn now_us32() -> u32 {
    now_us().min(u32::MAX as u64 - 1) as u32
}

/// Microseconds since the Unix epoch: a clock that processes on one machine share.
pub fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// `unix` (microseconds since the Unix epoch) on this process's clock (`now_us32`).
pub fn local_us32(unix: u64) -> u32 {
    let (local, now) = (now_us() as i64, unix_us() as i64);
    (local - (now - unix as i64)).clamp(0, u32::MAX as i64 - 1) as u32
}

/// Samples in microseconds as `[[ms, count], ...]` (1 ms buckets, empty ones left out), so
/// the latencies of several processes can be merged.
pub fn histogram_ms(v: &[u32]) -> Value {
    let mut buckets: BTreeMap<u32, u64> = BTreeMap::new();
    for &x in v {
        *buckets.entry(x / 1000).or_insert(0) += 1;
    }
    buckets.into_iter().map(|(ms, n)| json!([ms, n])).collect()
}

/// Latency summary of samples in microseconds, reported in milliseconds.
pub fn summarize(mut v: Vec<u32>) -> Value {
    if v.is_empty() {
        return json!({"count": 0});
    }
    v.sort_unstable();
    let n = v.len();
    let pick = |q: f64| -> f64 {
        let idx = ((n as f64 - 1.0) * q).round() as usize;
        v[idx.min(n - 1)] as f64 / 1000.0
    };
    let sum: u64 = v.iter().map(|&x| x as u64).sum();
    json!({
        "count": n,
        "mean_ms": round3(sum as f64 / n as f64 / 1000.0),
        "p50_ms": round3(pick(0.50)),
        "p90_ms": round3(pick(0.90)),
        "p99_ms": round3(pick(0.99)),
        "p999_ms": round3(pick(0.999)),
        "max_ms": round3(v[n - 1] as f64 / 1000.0),
        "min_ms": round3(v[0] as f64 / 1000.0),
    })
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Error counters keyed by a short name.
#[derive(Default)]
pub struct Errors {
    map: Mutex<BTreeMap<String, u64>>,
    first: Mutex<Option<String>>,
}

impl Errors {
    pub fn add(&self, key: &str, detail: impl FnOnce() -> String) {
        let mut m = self.map.lock().unwrap();
        *m.entry(key.to_string()).or_insert(0) += 1;
        drop(m);
        let mut f = self.first.lock().unwrap();
        if f.is_none() {
            *f = Some(format!("{key}: {}", detail()));
        }
    }

    pub fn total(&self) -> u64 {
        self.map.lock().unwrap().values().sum()
    }

    pub fn to_json(&self) -> Value {
        let m = self.map.lock().unwrap();
        let mut obj = serde_json::Map::new();
        for (k, v) in m.iter() {
            obj.insert(k.clone(), json!(v));
        }
        let total: u64 = m.values().sum();
        json!({"total": total, "by_kind": obj, "first": *self.first.lock().unwrap()})
    }
}

/// Samples of a server process read from /proc (Linux only; all optional).
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcSample {
    pub cpu_s: Option<f64>,
    pub rss_kb: Option<u64>,
    pub hwm_kb: Option<u64>,
}

pub fn sample_proc(pid: Option<u32>) -> ProcSample {
    let Some(pid) = pid else {
        return ProcSample::default();
    };
    let mut s = ProcSample::default();
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Fields after the ")" that closes the command name; utime and stime
        // are fields 14 and 15 overall, i.e. 12 and 13 after the state field.
        if let Some(pos) = stat.rfind(')') {
            let fields: Vec<&str> = stat[pos + 1..].split_whitespace().collect();
            if fields.len() > 13 {
                let ut: f64 = fields[11].parse().unwrap_or(0.0);
                let st: f64 = fields[12].parse().unwrap_or(0.0);
                // SAFETY: sysconf has no preconditions.
                let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
                let tck = if tck > 0 { tck as f64 } else { 100.0 };
                s.cpu_s = Some((ut + st) / tck);
            }
        }
    }
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        for line in status.lines() {
            let kb = |l: &str| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|x| x.parse::<u64>().ok())
            };
            if line.starts_with("VmRSS:") {
                s.rss_kb = kb(line);
            } else if line.starts_with("VmHWM:") {
                s.hwm_kb = kb(line);
            }
        }
    }
    s
}

/// CPU/RSS marks of the server (if its pid is known), of this process and
/// of the machine's cores, taken at the start of a measured phase.
#[derive(Clone)]
pub struct Marks {
    pid: Option<u32>,
    server: ProcSample,
    own: ProcSample,
    cpus: Vec<CpuTimes>,
}

/// Seconds of one /proc/stat line: busy (everything but idle and iowait) and
/// the irq+softirq part of it.
#[derive(Clone, Copy, Default)]
struct CpuTimes {
    busy: f64,
    irq: f64,
}

/// Line 0 is the whole machine, then cpu0, cpu1, ...
fn cpu_times() -> Vec<CpuTimes> {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return Vec::new();
    };
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let tck = if tck > 0 { tck as f64 } else { 100.0 };
    stat.lines()
        .take_while(|l| l.starts_with("cpu"))
        .filter_map(|l| {
            let f: Vec<f64> = l
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal
            (f.len() >= 8).then(|| CpuTimes {
                busy: (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / tck,
                irq: (f[5] + f[6]) / tck,
            })
        })
        .collect()
}

impl Marks {
    pub fn start(pid: Option<u32>) -> Marks {
        Marks {
            pid,
            server: sample_proc(pid),
            own: sample_proc(Some(std::process::id())),
            cpus: cpu_times(),
        }
    }

    /// Figures over the phase that started at `self` and lasted `wall_s`:
    /// - cpu_s / cpu_util: the server process (1.0 = one core saturated);
    /// - loadgen_cpu_util: this process;
    /// - cores_busy: per core, the busy share including kernel network work
    ///   (on loopback the receive path runs on the sender's core);
    /// - softirq_util: irq+softirq over all cores, in cores;
    /// - other_cpu_util: the rest of the machine's busy time (other processes),
    ///   in cores: a noise indicator;
    /// - rss_kb / rss_peak_kb: the server at the end.
    pub fn finish(&self, wall_s: f64) -> Value {
        let server = sample_proc(self.pid);
        let own = sample_proc(Some(std::process::id()));
        let cpus = cpu_times();
        let per = |x: f64| {
            if wall_s > 0.0 {
                round3(x / wall_s)
            } else {
                0.0
            }
        };
        let diff = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        let srv = diff(self.server.cpu_s, server.cpu_s);
        let lg = diff(self.own.cpu_s, own.cpu_s);
        let cores: Vec<f64> = self
            .cpus
            .iter()
            .zip(cpus.iter())
            .skip(1)
            .map(|(a, b)| per((b.busy - a.busy).max(0.0)).min(1.0))
            .collect();
        let (mut softirq, mut other) = (None, None);
        if let (Some(a), Some(b)) = (self.cpus.first(), cpus.first()) {
            let irq = (b.irq - a.irq).max(0.0);
            softirq = Some(per(irq));
            let rest = (b.busy - a.busy) - irq - srv.unwrap_or(0.0) - lg.unwrap_or(0.0);
            other = Some(per(rest.max(0.0)));
        }
        json!({
            "cpu_s": srv.map(round3),
            "cpu_util": srv.map(per),
            "rss_kb": server.rss_kb,
            "rss_peak_kb": server.hwm_kb,
            "loadgen_cpu_util": lg.map(per),
            "cores_busy": cores,
            "softirq_util": softirq,
            "other_cpu_util": other,
        })
    }
}

/// Raises the soft RLIMIT_NOFILE to the hard limit.
pub fn raise_nofile() -> u64 {
    // SAFETY: plain libc calls with a valid, initialised struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 0;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur;
            }
        }
        r.rlim_cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<u32> = (1..=1000).map(|x| x * 1000).collect();
        let s = summarize(v);
        assert_eq!(s["count"], 1000);
        assert_eq!(s["max_ms"], 1000.0);
        assert_eq!(s["p50_ms"], 501.0);
        assert_eq!(s["p99_ms"], 990.0);
        assert_eq!(summarize(vec![])["count"], 0);
    }

    #[test]
    fn histogram() {
        let h = histogram_ms(&[500, 999, 1000, 25_400]);
        assert_eq!(h, json!([[0, 2], [1, 1], [25, 1]]));
    }
}
