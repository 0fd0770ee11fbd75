#!/usr/bin/env bash
# Verity against node-oidc-provider on this machine, with the same load tool (`verity bench`),
# the modes run alternately (Verity, node, Verity, node, ...) so that drift in a noisy machine
# hits both alike. Prints each run's figures, then the medians per mode and the ratios.
#
# With POSTGRES (a server URL without a database), a second Verity on a fresh PostgreSQL
# database joins each round (its CPU is Verity's; PostgreSQL's own is printed beside it). Each
# round also measures this machine's floor, one RS256 signature (`verity bench signature`), and
# the end prints issue 25's ratios from the same run: CPU per flow in signatures, userinfo and
# introspection against a jwks request, and Verity against node-oidc-provider.
#
#   bench/compare-node-oidc.sh                 # 3 rounds of every mode, 10 s each, 4 workers
#   ROUNDS=5 DURATION=20 MODES="sso refresh" bench/compare-node-oidc.sh
#   POSTGRES=postgres://postgres@127.0.0.1:5432 ROUNDS=3 DURATION=6 bench/compare-node-oidc.sh
#
# Environment: ROUNDS, DURATION, WARMUP, WORKERS, MODES, VERITY_PORT, NODE_PORT, PG_PORT,
# POSTGRES, VERITY (a prebuilt binary; otherwise `cargo build --release -p verity`), KEEP=1 keeps
# the work folder. Needs node (>= 20) and npm with the registry reachable, curl and jq (and psql
# with POSTGRES).
set -euo pipefail
cd "$(dirname "$0")/.."

OIDC_PROVIDER_VERSION=9.13.3
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
WORKERS=${WORKERS:-4}
MODES=${MODES:-"sso refresh userinfo introspect jwks discovery signin"}
VERITY_PORT=${VERITY_PORT:-18080}
NODE_PORT=${NODE_PORT:-18081}
PG_PORT=${PG_PORT:-18082}
MASTER_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
ADMIN_TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

if [ -z "${VERITY:-}" ]; then
  cargo build --release -p verity --locked
  VERITY="${CARGO_TARGET_DIR:-target}/release/verity"
fi
VERITY=$(realpath "$VERITY")

work=$(mktemp -d -t verity-vs-node.XXXXXX)
pids=()
db=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "$db" ] && psql -q "$POSTGRES/postgres" -c "DROP DATABASE IF EXISTS $db" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== node-oidc-provider $OIDC_PROVIDER_VERSION into $work/node"
mkdir -p "$work/node" "$work/verity" "$work/results"
cp bench/node-oidc/provider.mjs "$work/node/"
(cd "$work/node" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund --loglevel=error "oidc-provider@$OIDC_PROVIDER_VERSION")

wait_for() { # url
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "not ready: $1" >&2
  return 1
}

echo "== starting both on loopback"
for port in "$VERITY_PORT" "$NODE_PORT" ${POSTGRES:+"$PG_PORT"}; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    echo "something already answers on port $port" >&2
    exit 1
  fi
done
VERITY_ADMIN_TOKEN="$ADMIN_TOKEN" "$VERITY" serve --sandbox --listen "127.0.0.1:$VERITY_PORT" \
  --data-dir "$work/verity" >"$work/verity.log" 2>&1 &
verity_pid=$!
pids+=("$verity_pid")
(cd "$work/node" && exec env PORT="$NODE_PORT" node provider.mjs >"$work/node.log" 2>&1) &
node_pid=$!
pids+=("$node_pid")
wait_for "http://127.0.0.1:$VERITY_PORT/readyz"
wait_for "http://127.0.0.1:$NODE_PORT/.well-known/openid-configuration"
contestants=(verity node)
if [ -n "${POSTGRES:-}" ]; then
  db="verity_vs_node_$$"
  psql -q "$POSTGRES/postgres" -c "CREATE DATABASE $db"
  DATABASE_URL="$POSTGRES/$db" VERITY_MASTER_KEY="$MASTER_KEY" VERITY_ADMIN_TOKEN="$ADMIN_TOKEN" \
    "$VERITY" serve --sandbox --listen "127.0.0.1:$PG_PORT" --data-dir "$work/verity-pg" \
    >"$work/verity-pg.log" 2>&1 &
  pg_pid=$!
  pids+=("$pg_pid")
  wait_for "http://127.0.0.1:$PG_PORT/readyz"
  contestants=(verity verity-pg node)
fi

# shellcheck source=bench/pg-ticks.sh
. bench/pg-ticks.sh
hz=$(getconf CLK_TCK)

# Verity runs with an app of the `oidc` profile (registered through the admin API), so userinfo
# answers a JSON object as node-oidc-provider's does; the sandbox app's `idme` profile signs a
# JWT at every userinfo call and is measured separately (BENCHMARKS.md).
verity_args=(--issuer "http://127.0.0.1:$VERITY_PORT/oidc" --pid "$verity_pid"
  --profile oidc --admin-token "$ADMIN_TOKEN")
node_args=(--provider node-oidc --issuer "http://127.0.0.1:$NODE_PORT" --pid "$node_pid")
pg_args=(--issuer "http://127.0.0.1:$PG_PORT/oidc" --pid "${pg_pid:-0}"
  --profile oidc --admin-token "$ADMIN_TOKEN")
common=(--duration "$DURATION" --warmup "$WARMUP" --workers "$WORKERS" --json)

echo "== $ROUNDS rounds of: $MODES ($DURATION s each, $WORKERS workers)"
for round in $(seq 1 "$ROUNDS"); do
  # The floor: RS256 signatures in the load tool's own process, one worker (no provider).
  "$VERITY" bench signature --workers 1 --duration "$DURATION" --warmup 1 --json \
    >"$work/results/signature.$round.json"
  jq -r --arg round "$round" '"round \($round) signature: \(.provider_cpu_ms_per_op) ms of CPU"' \
    "$work/results/signature.$round.json"
  for mode in $MODES; do
    for who in "${contestants[@]}"; do
      case $who in
        verity) args=("${verity_args[@]}") ;;
        verity-pg) args=("${pg_args[@]}") ;;
        node) args=("${node_args[@]}") ;;
      esac
      out="$work/results/$mode.$who.$round.json"
      before=$(pg_ticks)
      "$VERITY" bench "$mode" "${args[@]}" "${common[@]}" >"$out.run"
      after=$(pg_ticks)
      # PostgreSQL's CPU per operation in ms (every postgres process on this host, whoever ran).
      jq --argjson pg "$(((after - before) * 1000000 / hz))" \
        '. + {pg_cpu_ms_per_op: (if .ops > 0 then $pg / 1000 / .ops else 0 end)}' "$out.run" >"$out"
      jq -r --arg who "$who" --arg round "$round" \
        'def f(x): if x == null then "n/a" else ((x * 1000 | round) / 1000 | tostring) end;
         "round \($round) \(.mode) \($who): \(.per_second | floor)/s, p99 \(f(.latency_ms.p99)) ms, cpu/op \(f(.provider_cpu_ms_per_op)) ms, errors \(.errors)" + (if $who == "verity-pg" then ", postgres cpu/op \(f(.pg_cpu_ms_per_op)) ms" else "" end)' "$out"
    done
  done
done

echo
echo "== medians over $ROUNDS rounds (provider CPU per operation, throughput, p99 latency)"
printf '%-11s %14s %14s %8s   %12s %12s %7s   %10s %10s %7s\n' mode \
  "verity ms/op" "node ms/op" "node/v" "verity /s" "node /s" "v/node" "verity p99" "node p99" "node/v"
median='sort_by(.) | if length == 0 then null else .[(length - 1) / 2 | floor] end'
for mode in $MODES; do
  v=$(jq -s "{cpu: (map(.provider_cpu_ms_per_op // empty) | $median), rps: (map(.per_second) | $median), p99: (map(.latency_ms.p99) | $median), errors: (map(.errors) | add)}" "$work"/results/"$mode".verity.*.json)
  n=$(jq -s "{cpu: (map(.provider_cpu_ms_per_op // empty) | $median), rps: (map(.per_second) | $median), p99: (map(.latency_ms.p99) | $median), errors: (map(.errors) | add)}" "$work"/results/"$mode".node.*.json)
  jq -rn --arg mode "$mode" --argjson v "$v" --argjson n "$n" '
    def r(a; b): if (a == null or b == null or b == 0) then "n/a" else ((a / b * 100 | round) / 100 | tostring) + "x" end;
    def f(x; d): if x == null then "n/a" else ((x * d | round) / d | tostring) end;
    [$mode, f($v.cpu; 1000), f($n.cpu; 1000), r($n.cpu; $v.cpu), f($v.rps; 1), f($n.rps; 1), r($v.rps; $n.rps),
     f($v.p99; 100), f($n.p99; 100), r($n.p99; $v.p99),
     (if ($v.errors + $n.errors) > 0 then "errors: verity \($v.errors), node \($n.errors)" else "" end)]
    | "\(.[0] | . + " " * (11 - length)) \(.[1] | " " * (14 - length) + .) \(.[2] | " " * (14 - length) + .) \(.[3] | " " * (8 - length) + .)   \(.[4] | " " * (12 - length) + .) \(.[5] | " " * (12 - length) + .) \(.[6] | " " * (7 - length) + .)   \(.[7] | " " * (10 - length) + .) \(.[8] | " " * (10 - length) + .) \(.[9] | " " * (7 - length) + .)  \(.[10])"'
done
echo
echo "memory at the end: verity $(awk '/VmRSS/ {print $2 " kB"}' /proc/$verity_pid/status) (peak $(awk '/VmHWM/ {print $2 " kB"}' /proc/$verity_pid/status)), node $(awk '/VmRSS/ {print $2 " kB"}' /proc/$node_pid/status) (peak $(awk '/VmHWM/ {print $2 " kB"}' /proc/$node_pid/status))"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), node $(node --version), oidc-provider $OIDC_PROVIDER_VERSION"

# Issue 25's ratios, each from the medians above (same run): CPU per flow against the floor,
# userinfo and introspection against a jwks request, Verity against node-oidc-provider.
med() { # med <file glob pattern> <jq path>: the median over the rounds, or null
  # shellcheck disable=SC2086 # the pattern is a glob
  jq -s "map($2 // empty) | $median" $1 2>/dev/null || echo null
}
sig=$(med "$work/results/signature.*.json" .provider_cpu_ms_per_op)
echo
echo "== issue 25: ratios from this run (one RS256 signature = $sig ms of CPU)"
for who in "${contestants[@]}"; do
  [ "$who" = node ] && continue
  for mode in $MODES; do
    cpu=$(med "$work/results/$mode.$who.*.json" .provider_cpu_ms_per_op)
    pg=$(med "$work/results/$mode.$who.*.json" .pg_cpu_ms_per_op)
    rps=$(med "$work/results/$mode.$who.*.json" .per_second)
    ncpu=$(med "$work/results/$mode.node.*.json" .provider_cpu_ms_per_op)
    nrps=$(med "$work/results/$mode.node.*.json" .per_second)
    jwks=$(med "$work/results/jwks.$who.*.json" .provider_cpu_ms_per_op)
    jq -rn --arg who "$who" --arg mode "$mode" --argjson cpu "$cpu" --argjson pg "$pg" \
      --argjson rps "$rps" --argjson ncpu "$ncpu" --argjson nrps "$nrps" --argjson jwks "$jwks" \
      --argjson sig "$sig" '
      def r(a; b): if (a == null or b == null or b == 0) then "n/a" else ((a / b * 100 | round) / 100 | tostring) end;
      def ms(a): if a == null then "n/a" else ((a * 1000 | round) / 1000 | tostring) end;
      "\($who) \($mode): \(ms($cpu)) ms/op = \(r($cpu; $sig)) signatures, \(r($cpu; $jwks)) x jwks; node/verity CPU \(r($ncpu; $cpu))x, verity/node throughput \(r($rps; $nrps))x"
        + (if $who == "verity-pg" then "; postgres \(ms($pg)) ms/op" else "" end)'
  done
done
