#!/usr/bin/env python3
"""Soak test (not part of CI): N clients in rooms of 10 chat for M minutes through a roomcast
server (the Rust bench server by default); reports delivered against expected and the server's
RSS over time.

    bench/soak.py --clients 5000 --minutes 10          # the figure quoted in the README
    bench/soak.py --clients 500 --minutes 1            # a quick check

Uses the release loadgen and bench server (built on demand); all traffic is on 127.0.0.1."""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release")


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=5000)
    ap.add_argument("--members", type=int, default=10, help="clients per room")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=2000, help="messages per second over all clients")
    ap.add_argument("--sample-secs", type=float, default=30)
    ap.add_argument("--server", default=os.path.join(TARGET, "roomcast-bench-server"),
                    help="server command (prints 'listening on <port>')")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()

    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "roomcast-loadgen", "-p", "roomcast-bench-server"],
                       cwd=ROOT, check=True)
    server = subprocess.Popen(a.server.split(), stdout=subprocess.PIPE, text=True, env={**os.environ, "PORT": "0"})
    line = server.stdout.readline()
    if not line.startswith("listening on "):
        sys.exit(f"server did not start: {line!r}")
    port = line.split()[-1]

    samples = []
    stop = threading.Event()

    def sample():
        start = time.time()
        while not stop.wait(a.sample_secs):
            samples.append((round(time.time() - start), rss_mb(server.pid)))

    samples.append((0, rss_mb(server.pid)))
    threading.Thread(target=sample, daemon=True).start()
    rooms = max(1, a.clients // a.members)
    cmd = [os.path.join(TARGET, "roomcast-loadgen"), "mixed", "--port", port, "--rooms", str(rooms),
           "--members", str(a.members), "--rate", str(a.rate), "--duration", str(a.minutes * 60),
           "--warmup", "5", "--drain-timeout", "60", "--server-pid", str(server.pid),
           "--max-secs", str(int(a.minutes * 60 + 600))]
    print("running:", " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    stop.set()
    samples.append(("end", rss_mb(server.pid)))
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=10)

    report = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}
    result = report.get("results", {})
    print(f"\n{a.clients} clients in rooms of {a.members}, {a.rate:.0f} msg/s for {a.minutes} min")
    for key in ("sent", "expected", "delivered", "lost", "duplicated_or_reordered"):
        if key in result:
            print(f"  {key:>12}: {result[key]}")
    lat = result.get("latency", {})
    if lat:
        print(f"  latency p50 {lat.get('p50_ms')} ms, p99 {lat.get('p99_ms')} ms, max {lat.get('max_ms')} ms")
    print("  server RSS over time (s: MB):", ", ".join(f"{t}: {m:.1f}" for t, m in samples if m is not None))
    ok = bool(report.get("ok")) and result.get("expected", 0) == result.get("delivered", -1)
    print("  delivered == expected:", ok)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
