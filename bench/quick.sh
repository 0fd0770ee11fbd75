#!/usr/bin/env bash
# Smoke test of the load tool, run by .ci/run so that it cannot rot: a fresh sandbox Verity on a
# free loopback port and a temporary data dir, then `verity bench --quick` (every mode, a few
# operations, both userinfo profiles). No timing thresholds: it fails only when an operation
# fails. The targets are checked by the benchmark (BENCHMARKS.md), not here.
#
#   bench/quick.sh [path/to/verity]      (default: $CARGO_TARGET_DIR or target, debug build)
set -euo pipefail
cd "$(dirname "$0")/.."

VERITY=${1:-${CARGO_TARGET_DIR:-target}/debug/verity}
work=$(mktemp -d -t verity-bench-quick.XXXXXX)
token="quick-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

# A free port: one nothing answers on.
for _ in $(seq 1 50); do
  port=$((20000 + RANDOM % 20000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done

VERITY_ADMIN_TOKEN="$token" "$VERITY" serve --sandbox --listen "127.0.0.1:$port" \
  --data-dir "$work" >"$work/verity.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 600); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/verity.log"; exit 1; }
  sleep 0.1
done

"$VERITY" bench --quick --issuer "http://127.0.0.1:$port/oidc" --pid "$pid" --admin-token "$token" ||
  { echo "--- provider log (last lines)"; tail -n 30 "$work/verity.log"; exit 1; }
# The same with DPoP-bound tokens (a proof on every token and userinfo request).
"$VERITY" bench --quick --dpop --issuer "http://127.0.0.1:$port/oidc" --pid "$pid" --admin-token "$token" ||
  { echo "--- provider log (last lines)"; tail -n 30 "$work/verity.log"; exit 1; }
