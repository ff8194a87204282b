#!/usr/bin/env bash
# Runs the benchmark harness: see bench/README.md. Arguments go to bench/run.py.
set -euo pipefail
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 "$(dirname "$0")/run.py" "$@"
