#!/usr/bin/env bash
# Where a running provider's CPU goes in one load-tool mode: `perf record` with DWARF call
# graphs (release builds keep no frame pointers) for SECONDS while `verity bench MODE` runs,
# then bench/profile.py's shares per category (RS256 signing, SQLite statements and commits,
# log lines, the runtime, sockets, ...) and per route. BENCHMARKS.md, "Where the CPU goes".
#
#   bench/profile.sh                          # sso, oidc profile, a fresh sandbox on SQLite
#   MODE=refresh SECONDS_=5 bench/profile.sh
#
# Environment: VERITY (a release binary; default target/release/verity), MODE (sso), PORT
# (18300), SECONDS_ (5), DATABASE_URL and VERITY_MASTER_KEY (passed to verity serve). Needs
# perf (with access to the process: root or kernel.perf_event_paranoid <= 1) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
VERITY=$(realpath "${VERITY:-${CARGO_TARGET_DIR:-target}/release/verity}")
MODE=${MODE:-sso}
PORT=${PORT:-18300}
SECONDS_=${SECONDS_:-5}
ADMIN_TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
work=$(mktemp -d -t verity-profile.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

VERITY_ADMIN_TOKEN="$ADMIN_TOKEN" "$VERITY" serve --sandbox --listen "127.0.0.1:$PORT" \
  --data-dir "$work/data" >"$work/verity.log" 2>&1 &
pid=$!
until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { tail "$work/verity.log" >&2; exit 1; }
  sleep 0.05
done
args=("$MODE" --issuer "http://127.0.0.1:$PORT/oidc" --pid "$pid" --workers 4
  --duration $((SECONDS_ + 4)) --warmup 2)
case $MODE in sso | userinfo) args+=(--profile oidc --admin-token "$ADMIN_TOKEN") ;; esac
"$VERITY" bench "${args[@]}" >"$work/bench.txt" &
bench=$!
sleep 2
perf record -F 499 --call-graph dwarf,32768 -p "$pid" -o "$work/perf.data" -- sleep "$SECONDS_" \
  2>/dev/null >/dev/null
wait "$bench"
grep -E "throughput|provider CPU" "$work/bench.txt"
perf script -i "$work/perf.data" 2>/dev/null | python3 bench/profile.py
