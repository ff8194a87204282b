#!/usr/bin/env python3
"""The one command of the benchmark harness.

Builds the load generator and the Rust bench servers, installs the Node and
Python bench dependencies when missing, then for each scenario x server runs
the loadgen against a fresh server (server pinned to one CPU, loadgen to the
other), repeats each run, and writes a markdown table of medians with ratios
against socket.io and against the raw ceiling to bench/results/latest.md (and
the raw figures to bench/results/latest.json).

    python3 bench/run.py --quick            # 1k clients, short runs
    python3 bench/run.py                    # 1k and 10k clients
    python3 bench/run.py --servers socketio,raw-ceiling --scenarios fanout-1k --reps 1

Only loopback traffic; every run is bounded in time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LOGS = RESULTS / "tmp"
VENV = BENCH / ".venv"
VENV_PY = VENV / "bin" / "python"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
LOADGEN = TARGET / "roomcast-loadgen"

# Scenario tables: name -> (kind, loadgen arguments, per-run time bound in s[, limits]);
# `limits` may name the only servers a scenario runs on and cap its repetitions.
QUICK = {
    "fanout-1k": ("fanout", ["--clients", "1000", "--messages", "300"], 180),
    "echo-1k": ("echo", ["--clients", "1000", "--duration", "5", "--warmup", "1"], 120),
    "mixed-1k": ("mixed", ["--rooms", "100", "--members", "10", "--rate", "1000",
                           "--duration", "5", "--warmup", "1"], 120),
    "connect-1k": ("connect", ["--connections", "1000", "--concurrency", "100",
                               "--hold-secs", "2"], 120),
}
DEFAULT = {
    "fanout-1k": ("fanout", ["--clients", "1000", "--messages", "1000", "--timeout", "240"], 300),
    "fanout-10k": ("fanout", ["--clients", "10000", "--messages", "100", "--timeout", "240"], 300),
    "echo-1": ("echo", ["--clients", "1", "--duration", "10", "--warmup", "2"], 120),
    "echo-50": ("echo", ["--clients", "50", "--duration", "10", "--warmup", "2"], 120),
    "echo-1k": ("echo", ["--clients", "1000", "--duration", "10", "--warmup", "2"], 180),
    "echo-10k": ("echo", ["--clients", "10000", "--duration", "10", "--warmup", "2"], 300),
    "mixed-1k": ("mixed", ["--rooms", "100", "--members", "10", "--rate", "1000",
                           "--duration", "10", "--warmup", "2"], 180),
    "mixed-10k": ("mixed", ["--rooms", "1000", "--members", "10", "--rate", "2000",
                            "--duration", "10", "--warmup", "2"], 300),
    "connect-1k": ("connect", ["--connections", "1000", "--concurrency", "100",
                               "--hold-secs", "3"], 120),
    "connect-10k": ("connect", ["--connections", "10000", "--concurrency", "200",
                                "--hold-secs", "3"], 300),
    # 100k connections need more source ports than one loopback address has; held past a
    # heartbeat round (bench servers ping every 25 s). A capacity check of roomcast against
    # the ceiling, run once.
    "connect-100k": ("connect", ["--connections", "100000", "--concurrency", "500", "--hold-secs", "30",
                                 "--source-addrs", ",".join(f"127.0.0.{i}" for i in range(1, 9))], 600,
                     {"servers": ["roomcast-rust", "roomcast-python", "roomcast-node", "raw-ceiling"],
                      "reps": 1, "nofile": 101_000}),
}

# What each scenario kind reports, as (column title, path in results, format).
COLUMNS = {
    "fanout": [("deliveries/s", "deliveries_per_s", "int"), ("p50 ms", "latency.p50_ms", "ms"),
               ("p99 ms", "latency.p99_ms", "ms"), ("max ms", "latency.max_ms", "ms"),
               ("lost", "lost", "int"), ("dup", "duplicated", "int"),
               ("srv peak RSS MB", "server.rss_peak_kb", "mb")],
    "echo": [("acks/s", "acks_per_s", "int"), ("p50 ms", "latency.p50_ms", "ms"),
             ("p99 ms", "latency.p99_ms", "ms"), ("max ms", "latency.max_ms", "ms"),
             ("srv peak RSS MB", "server.rss_peak_kb", "mb")],
    "mixed": [("deliveries/s", "deliveries_per_s", "int"), ("offered/s", "offered_deliveries_per_s", "int"),
              ("p50 ms", "latency.p50_ms", "ms"), ("p99 ms", "latency.p99_ms", "ms"),
              ("max ms", "latency.max_ms", "ms"), ("lost", "lost", "int"),
              ("srv peak RSS MB", "server.rss_peak_kb", "mb")],
    "connect": [("conn/s", "connections_per_s", "int"), ("p50 ms", "latency.p50_ms", "ms"),
                ("p99 ms", "latency.p99_ms", "ms"), ("failed", "failed", "int"),
                ("KB/conn", "server_kb_per_connection", "f1"), ("held RSS MB", "server_rss_held_kb", "mb")],
}


def cpu_columns(server_cpu: str, loadgen_cpu: str) -> list[tuple[str, str, str]]:
    """CPU figures shown for every scenario (see Marks::finish in the loadgen)."""
    return [("srv CPU", "server.cpu_util", "f2"), ("lg CPU", "server.loadgen_cpu_util", "f2"),
            ("srv core", f"server.cores_busy.{server_cpu}", "f2"),
            ("lg core", f"server.cores_busy.{loadgen_cpu}", "f2"),
            ("other", "server.other_cpu_util", "f2")]


PRIMARY = {"fanout": "deliveries_per_s", "echo": "acks_per_s", "mixed": "deliveries_per_s",
           "connect": "connections_per_s"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_cmd(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, **kw)


# ---------------------------------------------------------------- environment

def raise_nofile(want: int = 1 << 20) -> int:
    """Raises RLIMIT_NOFILE for this process and its children (ulimit -n)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (want, 200_000, 100_000, 65_536):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(hard, target)))
            return target
        except (ValueError, OSError):
            continue
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    except (ValueError, OSError):
        return soft


def subst(s: str) -> str:
    return (s.replace("{bench}", str(BENCH)).replace("{root}", str(ROOT))
             .replace("{target}", str(TARGET)).replace("{venv_python}", str(VENV_PY)))


def cargo_build(packages: list[str]) -> bool:
    cmd = ["cargo", "build", "--release"]
    for p in packages:
        cmd += ["-p", p]
    log(f"$ {' '.join(cmd)}")
    return run_cmd(cmd).returncode == 0


_deps_done: dict[str, bool] = {}


def ensure_node_deps() -> bool:
    if "node" not in _deps_done:
        ok = (BENCH / "node_modules" / "socket.io" / "package.json").exists()
        if not ok and shutil.which("npm"):
            log("installing bench/package.json dependencies")
            cmd = ["npm", "ci"] if (BENCH / "package-lock.json").exists() else ["npm", "install"]
            ok = subprocess.run(cmd + ["--no-audit", "--no-fund"], cwd=BENCH).returncode == 0
        _deps_done["node"] = ok
    return _deps_done["node"]


def ensure_python_deps() -> bool:
    if "python" not in _deps_done:
        ok = VENV_PY.exists() and subprocess.run(
            [str(VENV_PY), "-c", "import socketio, uvicorn, uvloop, flask, flask_socketio"],
            capture_output=True).returncode == 0
        if not ok:
            log("creating bench/.venv and installing bench/requirements.txt")
            ok = (subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode == 0 and
                  subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "-r",
                                  str(BENCH / "requirements.txt")]).returncode == 0)
        _deps_done["python"] = ok
    return _deps_done["python"]


def resolve_servers(entries: list[dict], build: bool) -> tuple[list[dict], list[tuple[str, str]]]:
    """Returns (available servers, [(key, reason skipped)])."""
    avail, skipped = [], []
    done_setups: set[tuple[str, ...]] = set()
    failed_setups: set[tuple[str, ...]] = set()
    cargo_pkgs = [e for e in entries if e.get("kind") == "cargo"
                  and Path(subst(e.get("manifest", "{bench}/servers/" + e["key"] + "/Cargo.toml"))).exists()]
    built: set[str] = set()
    if build and cargo_pkgs:
        # One build for all; on failure retry one by one so a broken crate skips only itself.
        if cargo_build([e["package"] for e in cargo_pkgs]):
            built = {e["package"] for e in cargo_pkgs}
        else:
            for e in cargo_pkgs:
                if cargo_build([e["package"]]):
                    built.add(e["package"])
    for e in entries:
        kind = e.get("kind")
        reason = None
        if kind == "cargo":
            manifest = Path(subst(e.get("manifest", "{bench}/servers/" + e["key"] + "/Cargo.toml")))
            if not manifest.exists():
                reason = f"no {manifest.relative_to(ROOT)}"
            elif build and e["package"] not in built:
                reason = "cargo build failed"
        elif kind == "node":
            if not shutil.which("node"):
                reason = "node not found"
            elif not all(Path(subst(r)).exists() for r in e.get("requires", [])
                         if "node_modules" not in r):
                reason = "missing " + ", ".join(subst(r) for r in e.get("requires", [])
                                                if not Path(subst(r)).exists())
            elif not ensure_node_deps():
                reason = "npm install failed"
        elif kind == "python":
            if not all(Path(subst(r)).exists() for r in e.get("requires", [])):
                reason = "missing " + ", ".join(subst(r) for r in e.get("requires", [])
                                                if not Path(subst(r)).exists())
            elif not ensure_python_deps():
                reason = "pip install failed"
        if reason is None and e.get("setup"):
            setup = [subst(a) for a in e["setup"]]
            # Entries sharing a setup (one binding build serves several servers) run it once.
            if tuple(setup) in failed_setups or (tuple(setup) not in done_setups and run_cmd(setup).returncode != 0):
                failed_setups.add(tuple(setup))
                reason = "setup command failed"
            else:
                done_setups.add(tuple(setup))
        if reason is None:
            missing = [subst(r) for r in e.get("requires", []) if not Path(subst(r)).exists()]
            if missing:
                reason = "missing " + ", ".join(missing)
        if reason is None:
            exe = subst(e["cmd"][0])
            if not (Path(exe).exists() or shutil.which(exe)):
                reason = f"no {exe}"
        if reason is None and e.get("check"):
            r = run_cmd([subst(a) for a in e["check"]], capture_output=True)
            if r.returncode != 0:
                reason = "check failed: " + " ".join(e["check"])
        if reason:
            skipped.append((e["key"], reason))
            log(f"skip {e['key']}: {reason}")
        else:
            avail.append(e)
    return avail, skipped


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_facts() -> dict:
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                                  cwd=ROOT).stdout.strip()
        except Exception:
            return None
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        m = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else None
    except OSError:
        pass

    def pkg_version(path):
        try:
            return json.loads(Path(path).read_text())["version"]
        except Exception:
            return None

    def lock_version(name):
        try:
            text = (ROOT / "Cargo.lock").read_text()
            m = re.search(r'name = "%s"\nversion = "([^"]+)"' % re.escape(name), text)
            return m.group(1) if m else None
        except OSError:
            return None
    pyver = None
    if VENV_PY.exists():
        pyver = out([str(VENV_PY), "-c",
                     "import importlib.metadata as m; print(' '.join(p + '=' + m.version(p) for p in "
                     "('python-socketio', 'python-engineio', 'uvicorn', 'websockets', 'uvloop')))"])
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "os": out(["sh", "-c", ". /etc/os-release 2>/dev/null && echo $PRETTY_NAME"]),
        "git": out(["git", "rev-parse", "--short", "HEAD"]),
        "rustc": out(["rustc", "--version"]),
        "node": out(["node", "--version"]),
        "python": out([str(VENV_PY) if VENV_PY.exists() else sys.executable, "--version"]),
        "socket.io": pkg_version(BENCH / "node_modules" / "socket.io" / "package.json"),
        "python_packages": pyver,
        "socketioxide": lock_version("socketioxide"),
        "tokio": lock_version("tokio"),
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "loadavg_at_start": " ".join(Path("/proc/loadavg").read_text().split()[:3])
                            if Path("/proc/loadavg").exists() else None,
        "pinning": "server on CPU 0, loadgen on CPU 1 (taskset)" if shutil.which("taskset")
                   else "none (taskset missing)",
    }


# ---------------------------------------------------------------- one run

def start_server(entry: dict, port: int, cpu: str, logfile: Path):
    cmd = [subst(a) for a in entry["cmd"]]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", cpu] + cmd
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", NODE_ENV="production")
    env.update({k: subst(v) for k, v in entry.get("env", {}).items()})
    fh = open(logfile, "wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.time() + float(entry.get("start_timeout", 30))
    pat = re.compile(rb"listening on (\d+)")
    while time.time() < deadline:
        if proc.poll() is not None:
            fh.close()
            return proc, f"exited with {proc.returncode} before listening"
        if pat.search(logfile.read_bytes()):
            # Also make sure the port accepts connections.
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    fh.close()
                    return proc, None
            except OSError:
                pass
        time.sleep(0.05)
    fh.close()
    return proc, "did not print 'listening on <port>' in time"


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def run_one(entry: dict, scen_name: str, scen: tuple, rep: int, cpus: tuple[str, str]) -> dict:
    kind, args, bound = scen
    port = free_port()
    logfile = LOGS / f"{entry['key']}.{scen_name}.{rep}.log"
    proc, err = start_server(entry, port, cpus[0], logfile)
    if err:
        stop_server(proc)
        return {"ok": False, "error": f"server: {err} (see {logfile.relative_to(ROOT)})"}
    time.sleep(0.2)
    cmd = [str(LOADGEN), kind, *args, "--port", str(port), "--server-pid", str(proc.pid),
           "--label", entry["key"], "--max-secs", str(bound)]
    if entry.get("tls"):
        # wss:// to a server with the repository's test certificate.
        cmd += ["--tls-ca", str(ROOT / "tests" / "fixtures" / "tls" / "localhost-cert.pem")]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus[1]] + cmd
    try:
        r = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=bound + 30)
        lines = [l for l in r.stdout.splitlines() if l.strip().startswith("{")]
        result = json.loads(lines[-1]) if lines else {"ok": False, "error": "no JSON output",
                                                       "stderr": r.stderr[-2000:]}
        with open(logfile, "a") as fh:
            fh.write("\n--- loadgen stderr ---\n" + r.stderr)
    except subprocess.TimeoutExpired:
        result = {"ok": False, "error": "loadgen timed out"}
    except json.JSONDecodeError as e:
        result = {"ok": False, "error": f"bad loadgen JSON: {e}"}
    finally:
        alive = proc.poll() is None
        stop_server(proc)
    if not alive:
        result["ok"] = False
        result["server_died"] = True
    return result


# ---------------------------------------------------------------- reporting

def dig(d: dict, path: str):
    for part in path.split("."):
        if isinstance(d, list) and part.isdigit():
            d = d[int(part)] if int(part) < len(d) else None
        elif isinstance(d, dict):
            d = d.get(part)
        else:
            return None
    return d


def median_of(runs: list[dict], path: str):
    vals = [dig(r.get("results") or {}, path) for r in runs]
    vals = [v for v in vals if isinstance(v, (int, float))]
    return statistics.median(vals) if vals else None


def fmt(v, how: str) -> str:
    if v is None:
        return "–"
    if how == "int":
        return f"{v:,.0f}"
    if how == "ms":
        return f"{v:.2f}" if v < 100 else f"{v:,.0f}"
    if how == "mb":
        return f"{v / 1024:.0f}"
    if how == "f1":
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b, pct=False) -> str:
    if a is None or b is None or b == 0:
        return "–"
    return f"{100 * a / b:.0f}%" if pct else f"{a / b:.2f}×"


def render(report: dict) -> str:
    m = report["machine"]
    out = [f"# roomcast benchmark results ({report['mode']})", ""]
    out.append(f"{m['date']} · git {m['git']} · {report['reps']} runs per cell, medians shown · "
               f"{m['pinning']}")
    out.append("")
    out.append("| machine | |")
    out.append("| --- | --- |")
    for k in ("cpu", "nproc", "memory", "kernel", "os", "rustc", "node", "python", "socket.io",
              "python_packages", "socketioxide", "tokio", "nofile", "loadavg_at_start"):
        out.append(f"| {k} | {m.get(k) if m.get(k) is not None else '–'} |")
    if report["skipped"]:
        out.append("")
        out.append("Skipped: " + "; ".join(f"`{k}` ({why})" for k, why in report["skipped"]) + ".")
    out.append("")
    out.append("Ratios: throughput of the row divided by socket.io's (× socket.io) and by the raw "
               "ceiling's (% of ceiling); `p99 × sio` is the row's p99 latency over socket.io's "
               "(lower is better). `ok` counts runs with no loss, no duplicate and no error. "
               "CPU, during the measured phase, in cores: `srv CPU` / `lg CPU` = the server / load "
               "generator processes; `srv core` / `lg core` = how busy their pinned cores were, kernel "
               "network work included (on loopback a packet's receive path runs on the sender's core); "
               "`other` = everything else on the machine (well above ~0.1 means the figures were "
               "disturbed). † marks a throughput limited by the load generator's core "
               "(lg core ≥ 0.9 while srv CPU < 0.85 and other < 0.3): a floor for that server.")
    for name, why in report.get("skipped_scenarios", []):
        out.append("")
        out.append(f"Not run: `{name}` ({why}).")
    baseline = report.get("baseline")
    ceiling = report.get("ceiling")
    for scen_name, cell in report["scenarios"].items():
        kind = cell["kind"]
        out.append("")
        out.append(f"## {scen_name}")
        out.append("")
        out.append(f"`roomcast-loadgen {kind} {' '.join(cell['args'])}`")
        if cell.get("reps", report["reps"]) != report["reps"]:
            out.append("")
            out.append(f"({cell['reps']} run per server in this scenario.)")
        out.append("")
        cols = COLUMNS[kind] + cpu_columns(*report["cpus"])
        head = ["server"] + [c[0] for c in cols] + ["× socket.io", "% of ceiling", "p99 × sio", "ok"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join([" --- "] + [" ---: "] * (len(head) - 1)) + "|")
        base_m = cell["servers"].get(baseline, {}).get("median", {})
        ceil_m = cell["servers"].get(ceiling, {}).get("median", {})
        p = PRIMARY[kind]
        for key, s in cell["servers"].items():
            med = s["median"]
            row = [s["name"]] + [fmt(med.get(c[1]), c[2]) for c in cols]
            lg_core = med.get(f"server.cores_busy.{report['cpus'][1]}")
            srv = med.get("server.cpu_util")
            other = med.get("server.other_cpu_util") or 0.0
            if (lg_core is not None and srv is not None and lg_core >= 0.9 and srv < 0.85
                    and other < 0.3):
                row[1] += " †"
            row.append(ratio(med.get(p), base_m.get(p)))
            row.append(ratio(med.get(p), ceil_m.get(p), pct=True))
            row.append(ratio(med.get("latency.p99_ms"), base_m.get("latency.p99_ms")))
            row.append(f"{s['ok_runs']}/{len(s['runs'])}")
            out.append("| " + " | ".join(row) + " |")
        errs = [(key, r.get("error") or dig(r, "errors.first")) for key, s in cell["servers"].items()
                for r in s["runs"] if not r.get("ok")]
        for key, e in errs[:6]:
            out.append(f"\n- `{key}`: {e}")
    out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1k clients, short runs")
    ap.add_argument("--servers", help="comma-separated server keys (default: all in servers.json)")
    ap.add_argument("--scenarios", help="comma-separated scenario names (default: all of the mode)")
    ap.add_argument("--reps", type=int, default=3, help="runs per cell (default 3)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build")
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--loadgen-cpu", default="1")
    ap.add_argument("--out", default=str(RESULTS / "latest"), help="output path without extension")
    a = ap.parse_args()

    nofile = raise_nofile()
    log(f"RLIMIT_NOFILE: {nofile}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)

    if not a.no_build and not cargo_build(["roomcast-loadgen"]):
        log("cargo build of roomcast-loadgen failed")
        return 1
    if not LOADGEN.exists():
        log(f"{LOADGEN} missing (build it or drop --no-build)")
        return 1

    entries = json.loads((BENCH / "servers.json").read_text())["servers"]
    if a.servers:
        wanted = [k.strip() for k in a.servers.split(",") if k.strip()]
        unknown = set(wanted) - {e["key"] for e in entries}
        if unknown:
            log(f"unknown servers: {', '.join(sorted(unknown))}")
            return 2
        entries = [e for e in entries if e["key"] in wanted]
    servers, skipped = resolve_servers(entries, build=not a.no_build)
    if not servers:
        log("no server available")
        return 1

    table = QUICK if a.quick else DEFAULT
    scen_names = list(table)
    if a.scenarios:
        scen_names = [s.strip() for s in a.scenarios.split(",") if s.strip()]
        bad = [s for s in scen_names if s not in table]
        if bad:
            log(f"unknown scenarios for this mode: {', '.join(bad)} (have: {', '.join(table)})")
            return 2

    all_entries = json.loads((BENCH / "servers.json").read_text())["servers"]
    report = {
        "mode": "quick" if a.quick else "default",
        "cpus": [a.server_cpu, a.loadgen_cpu],
        "reps": a.reps,
        "machine": machine_facts(),
        "skipped": skipped,
        "baseline": next((e["key"] for e in all_entries if e.get("baseline")), None),
        "ceiling": next((e["key"] for e in all_entries if e.get("ceiling")), None),
        "scenarios": {},
        "skipped_scenarios": [],
    }
    started = time.time()
    for scen_name in scen_names:
        kind, args, bound = table[scen_name][:3]
        limits = table[scen_name][3] if len(table[scen_name]) > 3 else {}
        if nofile < limits.get("nofile", 0):
            why = (f"needs {limits['nofile']} open files per process; RLIMIT_NOFILE here is "
                   f"{nofile} and cannot be raised (no CAP_SYS_RESOURCE)")
            log(f"skipping {scen_name}: {why}")
            report["skipped_scenarios"].append((scen_name, why))
            continue
        # A server that serves only some kinds (a ceiling of the connect path) sits the rest out.
        cell_servers = [e for e in servers if e["key"] in limits.get("servers", [e["key"]])
                        and kind in e.get("kinds", [kind])]
        reps = min(a.reps, limits.get("reps", a.reps))
        cell = {"kind": kind, "args": args, "servers": {}, "reps": reps}
        for e in cell_servers:
            cell["servers"][e["key"]] = {"name": e["name"], "runs": []}
        # Servers interleaved within each repetition, so slow drift hits all alike.
        for rep in range(reps):
            for e in cell_servers:
                log(f"[{time.time() - started:6.0f}s] {scen_name} · {e['key']} · run {rep + 1}/{reps}")
                res = run_one(e, scen_name, (kind, args, bound), rep, (a.server_cpu, a.loadgen_cpu))
                cell["servers"][e["key"]]["runs"].append(res)
                summary = dig(res, "results." + PRIMARY[kind])
                log(f"    {PRIMARY[kind]}={summary} p99={dig(res, 'results.latency.p99_ms')} "
                    f"ok={res.get('ok')} {res.get('error') or dig(res, 'errors.first') or ''}")
        for key, s in cell["servers"].items():
            paths = ({c[1] for c in COLUMNS[kind] + cpu_columns(a.server_cpu, a.loadgen_cpu)}
                     | {PRIMARY[kind], "latency.p99_ms"})
            s["median"] = {p: median_of(s["runs"], p) for p in paths}
            s["ok_runs"] = sum(1 for r in s["runs"] if r.get("ok"))
        report["scenarios"][scen_name] = cell

    md = render(report)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(md)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    print(md)
    log(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')} "
        f"in {time.time() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
