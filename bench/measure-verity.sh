#!/usr/bin/env bash
# Verity's figures for BENCHMARKS.md on SQLite, release build: start-to-ready on an existing
# database, resident memory idle and under load, every load-tool mode (medians of ROUNDS runs),
# and a sign-in storm with the token endpoint measured beside it.
#
#   bench/measure-verity.sh              # 3 rounds, 10 s per run, 4 workers
#   ROUNDS=5 DURATION=20 bench/measure-verity.sh
#
# Environment: ROUNDS, DURATION, WARMUP, WORKERS, PORT, VERITY (a prebuilt binary), KEEP=1.
# DATA_DIR=dir measures an existing data dir (such as one seeded by bench/seed-sqlite.sql)
# instead of a fresh sandbox. Needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
WORKERS=${WORKERS:-4}
PORT=${PORT:-18080}
ADMIN_TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

if [ -z "${VERITY:-}" ]; then
  cargo build --release -p verity --locked
  VERITY="${CARGO_TARGET_DIR:-target}/release/verity"
fi
VERITY=$(realpath "$VERITY")
work=$(mktemp -d -t verity-measure.XXXXXX)
data=${DATA_DIR:-$work/data}
mkdir -p "$data" "$work/results"
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

start() { # starts the server; $ready_ms: milliseconds from spawn to the first 200 from /readyz
  local t0 t1
  if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then
    echo "something already answers on port $PORT" >&2
    exit 1
  fi
  t0=$(date +%s%N)
  VERITY_ADMIN_TOKEN="$ADMIN_TOKEN" "$VERITY" serve --sandbox --listen "127.0.0.1:$PORT" \
    --data-dir "$data" >>"$work/verity.log" 2>&1 &
  pid=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail "$work/verity.log" >&2; exit 1; }
    sleep 0.002
  done
  t1=$(date +%s%N)
  ready_ms=$(((t1 - t0) / 1000000))
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

echo "== first start (creates and seeds the database when new)"
start
stop
echo "== start to ready on the existing database, 5 times"
ready=()
for _ in 1 2 3 4 5; do start; ready+=("$ready_ms"); stop; done
echo "start-to-ready ms: ${ready[*]} (median $(printf '%s\n' "${ready[@]}" | median))"

start
sleep 2
echo "idle RSS: $(rss VmRSS) kB (peak since start $(rss VmHWM) kB)"

base=(--issuer "http://127.0.0.1:$PORT/oidc" --pid "$pid" --duration "$DURATION" --warmup "$WARMUP"
  --workers "$WORKERS" --json)
oidc=(--profile oidc --admin-token "$ADMIN_TOKEN")
# name, then the arguments of `verity bench`; sso first (its memory peak is reported before
# argon2's 19 MiB buffers inflate the heap), signin last. `signature` runs no request: RS256
# signatures in the load tool's own process, this machine's floor, measured in every round.
runs=(
  "sso-idme|sso"
  "sso-oidc|sso ${oidc[*]}"
  "refresh|refresh"
  "userinfo-idme|userinfo"
  "userinfo-oidc|userinfo ${oidc[*]}"
  "introspect|introspect"
  "jwks|jwks"
  "discovery|discovery"
  "signature|signature"
  "signin|signin"
)
for round in $(seq 1 "$ROUNDS"); do
  for run in "${runs[@]}"; do
    name=${run%%|*}
    read -r -a args <<<"${run#*|}"
    out="$work/results/$name-$round.json"
    "$VERITY" bench "${args[@]}" "${base[@]}" >"$out"
    jq -r --arg name "$name" --arg round "$round" '
      def f(x): if x == null then "n/a" else ((x * 1000 | round) / 1000 | tostring) end;
      "round \($round) \($name): \(.per_second | floor)/s, p50 \(f(.latency_ms.p50)) p90 \(f(.latency_ms.p90)) p99 \(f(.latency_ms.p99)) ms, cpu/op \(f(.provider_cpu_ms_per_op)) ms, rss \(.provider_rss_kib) kB (peak \(.provider_peak_rss_kib) kB), errors \(.errors)\(if .errors > 0 then " (\(.first_errors | join("; ")))" else "" end)"' "$out"
  done
done

echo
echo "== sign-in storm ($WORKERS workers signing in) with refresh grants measured beside it (2 workers)"
"$VERITY" bench signin --issuer "http://127.0.0.1:$PORT/oidc" --pid "$pid" --duration $((DURATION + 4)) \
  --warmup 0 --workers "$WORKERS" --json >"$work/results/storm-signin.json" &
storm=$!
sleep 2
"$VERITY" bench refresh --issuer "http://127.0.0.1:$PORT/oidc" --duration "$DURATION" --warmup 0 \
  --workers 2 --json >"$work/results/storm-refresh.json"
wait "$storm"
jq -r '"storm: signin \(.per_second * 10 | round / 10) flows/s, p99 \(.latency_ms.p99) ms, errors \(.errors)\(if .errors > 0 then " (\(.first_errors | join("; ")))" else "" end)"' "$work/results/storm-signin.json"
jq -r '"storm: token endpoint (refresh) during it: \(.per_second | floor)/s, p50 \(.latency_ms.p50) ms, p99 \(.latency_ms.p99) ms, errors \(.errors)"' "$work/results/storm-refresh.json"

echo
echo "== medians over $ROUNDS rounds"
printf '%-15s %10s %9s %9s %9s %12s %8s\n' run "ops/s" "p50 ms" "p90 ms" "p99 ms" "cpu ms/op" errors
for run in "${runs[@]}"; do
  name=${run%%|*}
  jq -rs --arg name "$name" '
    def med: sort | .[(length - 1) / 2 | floor];
    def f(x; d): if x == null then "n/a" else ((x * d | round) / d | tostring) end;
    [$name, f(map(.per_second) | med; 1), f(map(.latency_ms.p50) | med; 100), f(map(.latency_ms.p90) | med; 100),
     f(map(.latency_ms.p99) | med; 100), f(map(.provider_cpu_ms_per_op // empty) | if length > 0 then med else null end; 1000),
     (map(.errors) | add | tostring)]
    | "\(.[0] + " " * (15 - (.[0] | length))) \(.[1:] | map(" " * (9 - length) + .) | join(" "))"' \
    "$work"/results/"$name"-*.json
done
echo
echo "== against the floor measured in the same rounds (one RS256 signature, aws-lc-rs)"
sig=$(jq -s 'map(.provider_cpu_ms_per_op) | sort | .[(length - 1) / 2 | floor]' "$work"/results/signature-*.json)
# name:signatures per operation (idme-profile apps sign their userinfo JWT too)
for pair in sso-idme:2 sso-oidc:1 refresh:1; do
  jq -rs --arg name "${pair%%:*}" --argjson n "${pair#*:}" --argjson sig "$sig" '
    def r: . * 1000 | round / 1000;
    (map(.provider_cpu_ms_per_op) | sort | .[(length - 1) / 2 | floor]) as $cpu
    | "\($name): \($cpu | r) ms/op = \($n) x \($sig | r) ms signature + \($cpu - $n * $sig | r) ms the rest (\($cpu / $sig * 100 | round / 100)x one signature)"' \
    "$work"/results/"${pair%%:*}"-*.json
done
echo
echo "RSS after the first sso runs (before any signin run): $(jq -s 'map(.provider_rss_kib) | max' "$work"/results/sso-*-1.json) kB; now $(rss VmRSS) kB, peak $(rss VmHWM) kB"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(awk '/MemTotal/ {print int($2 / 1024) " MiB"}' /proc/meminfo)"
