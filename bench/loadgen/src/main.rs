//! roomcast-loadgen: a Socket.IO v5 (Engine.IO v4, websocket transport) load
//! generator for the benchmark harness. See bench/README.md for the scenarios
//! and the wire contract the bench servers implement.
//!
//! Output: exactly one JSON line on stdout; human-readable progress on stderr.

mod args;
mod proto;
mod scenarios;
mod stats;
mod tls;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::json;

use crate::args::Args;
use crate::proto::ConnOpts;

const USAGE: &str = "\
usage: roomcast-loadgen <scenario> [options]

scenarios:
  fanout   --clients N --messages M [--room bench] [--warmup-messages W] [--timeout S]
           [--go-stdin]  (one fan-out over several processes: after joining, print
           `ready`, read `warm` (send the warm-up trigger, then after a `go` line the
           measured one, print `triggered <t0>`) or `wait <t0>` (count deliveries of
           a trigger sent at t0, µs since the epoch); `warmed` once warmed up)
  echo     --clients C --duration S [--warmup S] [--request-timeout S]
  connect  --connections N [--concurrency K] [--source-addrs 127.0.0.1,127.0.0.2]
           [--hold-secs S] [--hold-stdin]
  mixed    --rooms R --members K [--rate MSGS_PER_S] [--duration S] [--warmup S]
           [--msg-bytes B] [--drain-timeout S]

common options:
  --host 127.0.0.1     target address (loopback only)
  --port P             target port (default: $PORT)
  --path /socket.io/   Engine.IO path
  --label NAME         copied into the JSON output
  --server-pid PID     sample the server's CPU time and RSS from /proc
  --concurrency K      connections in flight during setup (default 200)
  --connect-timeout S  per-connection bound (default 10)
  --setup-timeout S    bound on the whole connect+join phase (default 120)
  --source-addrs LIST  loopback source addresses to bind, round-robin
  --threads T          runtime worker threads (default: CPUs allowed)
  --read-buf BYTES     per-connection websocket read buffer (default 16384)
  --tls-ca FILE        wss://: TLS trusting the PEM certificates in FILE (the server's
                       certificate must name the target IP, as tests/fixtures/tls's does)
  --max-secs S         hard watchdog for the whole process (default 900, max 3600)
";

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv[0] == "-h" || argv[0] == "--help" {
        eprint!("{USAGE}");
        std::process::exit(if argv.is_empty() { 2 } else { 0 });
    }
    let args = match Args::parse(&argv) {
        Ok(a) => a,
        Err(e) => usage_error(&e),
    };
    if let Err(e) = run(args) {
        usage_error(&e);
    }
}

fn usage_error(msg: &str) -> ! {
    eprintln!("roomcast-loadgen: {msg}");
    eprint!("{USAGE}");
    println!("{}", json!({"ok": false, "error": msg}));
    std::process::exit(2);
}

/// Settings shared by every scenario.
pub struct Common {
    pub label: Option<String>,
    pub conn: ConnOpts,
    pub server_pid: Option<u32>,
    pub concurrency: usize,
    pub setup_timeout: Duration,
    pub sources: Vec<IpAddr>,
    pub nofile: u64,
}

fn run(mut args: Args) -> Result<(), String> {
    let scenario = args.command.clone();
    let host: IpAddr = args
        .get_str("host", "127.0.0.1")
        .parse()
        .map_err(|_| "--host must be an IP address".to_string())?;
    if !host.is_loopback() {
        return Err("--host must be a loopback address (127.0.0.0/8 or ::1)".into());
    }
    let port: u16 = match args.opt::<u16>("port")? {
        Some(p) => p,
        None => std::env::var("PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .ok_or("--port (or $PORT) is required")?,
    };
    let mut sources = Vec::new();
    if let Some(list) = args.opt::<String>("source-addrs")? {
        for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let ip: IpAddr = s.parse().map_err(|_| format!("bad source address {s}"))?;
            if !ip.is_loopback() {
                return Err(format!("source address {s} is not a loopback address"));
            }
            sources.push(ip);
        }
    }
    let max_secs = args.get::<f64>("max-secs", 900.0)?.clamp(1.0, 3600.0);
    let threads = args.get::<usize>("threads", default_threads())?.max(1);
    let common = Common {
        label: args.opt::<String>("label")?,
        conn: ConnOpts {
            addr: SocketAddr::new(host, port),
            path: args.get_str("path", "/socket.io/"),
            timeout: Duration::from_secs_f64(args.get::<f64>("connect-timeout", 10.0)?),
            read_buf: args.get::<usize>("read-buf", 16384)?.max(1024),
            tls: match args.opt::<String>("tls-ca")? {
                Some(path) => Some(tls::connector(&path)?),
                None => None,
            },
        },
        server_pid: args.opt::<u32>("server-pid")?,
        concurrency: args.get::<usize>("concurrency", 200)?.max(1),
        setup_timeout: Duration::from_secs_f64(args.get::<f64>("setup-timeout", 120.0)?),
        sources,
        nofile: stats::raise_nofile(),
    };

    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(|e| format!("runtime: {e}"))?;

    let scenario_for_watchdog = scenario.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(max_secs));
        eprintln!("roomcast-loadgen: watchdog fired after {max_secs}s");
        println!(
            "{}",
            json!({"scenario": scenario_for_watchdog, "ok": false, "error": "watchdog: --max-secs exceeded"})
        );
        std::process::exit(3);
    });

    stats::now_us(); // pin the time base
    let result = match scenario.as_str() {
        "fanout" => {
            let p = scenarios::fanout::Params::from_args(&mut args)?;
            args.finish()?;
            rt.block_on(scenarios::fanout::run(common, p))
        }
        "echo" => {
            let p = scenarios::echo::Params::from_args(&mut args)?;
            args.finish()?;
            rt.block_on(scenarios::echo::run(common, p))
        }
        "connect" => {
            let p = scenarios::connect::Params::from_args(&mut args)?;
            args.finish()?;
            rt.block_on(scenarios::connect::run(common, p))
        }
        "mixed" => {
            let p = scenarios::mixed::Params::from_args(&mut args)?;
            args.finish()?;
            rt.block_on(scenarios::mixed::run(common, p))
        }
        other => return Err(format!("unknown scenario {other:?}")),
    };
    println!("{result}");
    // Do not wait for lingering tasks (closing thousands of sockets).
    rt.shutdown_timeout(Duration::from_millis(500));
    Ok(())
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
