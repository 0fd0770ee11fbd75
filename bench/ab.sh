#!/usr/bin/env bash
# Two builds of Verity against each other, alternating (before, after, before, after, ...), each
# run on a fresh sandbox and a fresh database, so that a noisy machine's drift hits both alike:
# the A/B comparisons of BENCHMARKS.md. Prints each run, then the medians per build and mode
# with the ratio after/before.
#
#   bench/ab.sh BEFORE AFTER [MODE ...]       # two verity binaries; modes default to sso-oidc
#   PAIRS=5 DURATION=10 bench/ab.sh /tmp/verity-main target/release/verity sso-oidc refresh
#   POSTGRES=postgres://postgres@127.0.0.1:5432 bench/ab.sh BEFORE AFTER sso-oidc
#   DATA_AFTER=/tmp/growth bench/ab.sh V V userinfo-oidc   # one build, empty against seeded
#
# Modes: sso-oidc, sso-idme, refresh, userinfo-oidc, userinfo-idme, introspect, jwks, discovery,
# signature (the load tool's own RS256 signatures: the machine's floor, to see drift between runs),
# and sso-oidc-dpop, refresh-dpop, userinfo-idme-dpop (the same with DPoP-bound tokens: a proof on
# every token and userinfo request).
# Environment: PAIRS (3), DURATION (6 s measured per run), WARMUP (2 s, a run of its own before
# the measured one), WORKERS (4), PORT (18090). POSTGRES: a PostgreSQL server URL without a
# database; each run creates a database of its own there and drops it afterwards, and when the
# server runs on this host the figures include PostgreSQL's CPU per operation (the user and
# system time of every `postgres` process, from /proc, over the measured run, which includes the
# few statements of the workers' sign-ins before it).
# DATA_BEFORE, DATA_AFTER: a data dir (such as one seeded by bench/seed-sqlite.sql) copied afresh
# for each run of that side instead of an empty one; with POSTGRES, DB_BEFORE and DB_AFTER name a
# database (such as one seeded by bench/seed-postgres.sql) each run's database is created from
# (CREATE DATABASE ... TEMPLATE). The same binary on both sides with a seed on one measures growth.
# What a run wrote, per operation: on SQLite the bytes Verity's process sent to storage (its
# write-ahead log, its checkpoints into the database file, and its log lines: `write_bytes` of
# /proc/<pid>/io); on PostgreSQL the WAL the server wrote and its full-page images (pg_stat_wal,
# server-wide: keep the server otherwise idle).
# Exits non-zero when any operation failed. Needs curl and jq (and psql with POSTGRES).
set -euo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
BEFORE=$(realpath "$1")
AFTER=$(realpath "$2")
shift 2
MODES=("${@:-sso-oidc}")
PAIRS=${PAIRS:-3}
DURATION=${DURATION:-6}
WARMUP=${WARMUP:-2}
WORKERS=${WORKERS:-4}
PORT=${PORT:-18090}
ADMIN_TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
MASTER_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')

work=$(mktemp -d -t verity-ab.XXXXXX)
pid=
db=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$db" ] && psql -q "$POSTGRES/postgres" -c "DROP DATABASE IF EXISTS $db" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/pg-ticks.sh
. "$(dirname "$0")/pg-ticks.sh"
hz=$(getconf CLK_TCK)

written() { # written <pid>: bytes written so far and full-page images (0 on SQLite)
  if [ -n "${POSTGRES:-}" ]; then
    psql -qAt -F ' ' "$POSTGRES/postgres" -c 'SELECT wal_bytes, wal_fpi FROM pg_stat_wal'
  else
    echo "$(awk '$1 == "write_bytes:" {print $2}' "/proc/$1/io") 0"
  fi
}

run() { # run <label> <binary>: one sandbox, every mode
  local label=$1 bin=$2 data=$work/data-$RANDOM env=() mode args before out after seed template wrote written_after
  seed=DATA_${label^^} template=DB_${label^^}
  if [ -n "${!seed:-}" ]; then cp -r "${!seed}" "$data"; fi
  if [ -n "${POSTGRES:-}" ]; then
    db="verity_ab_$$_$RANDOM"
    psql -q "$POSTGRES/postgres" -c "CREATE DATABASE $db${!template:+ TEMPLATE ${!template}}"
    # The copy of a template is hundreds of megabytes of WAL: flushed here, before the run, not
    # by a checkpoint during it. Every run then starts right after a checkpoint, when the first
    # change of each page writes a full-page image: a longer WARMUP measures a server later in
    # its checkpoint cycle.
    psql -q "$POSTGRES/postgres" -c "CHECKPOINT"
    env=(DATABASE_URL="$POSTGRES/$db" VERITY_MASTER_KEY="$MASTER_KEY")
  fi
  if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then
    echo "something already answers on port $PORT" >&2
    exit 1
  fi
  env "${env[@]}" VERITY_ADMIN_TOKEN="$ADMIN_TOKEN" "$bin" serve --sandbox \
    --listen "127.0.0.1:$PORT" --data-dir "$data" >>"$work/verity.log" 2>&1 &
  pid=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail "$work/verity.log" >&2; exit 1; }
    sleep 0.01
  done
  for mode in "${MODES[@]}"; do
    case $mode in
      sso-oidc) args=(sso --profile oidc --admin-token "$ADMIN_TOKEN") ;;
      sso-idme) args=(sso) ;;
      userinfo-oidc) args=(userinfo --profile oidc --admin-token "$ADMIN_TOKEN") ;;
      userinfo-idme) args=(userinfo) ;;
      sso-oidc-dpop) args=(sso --profile oidc --admin-token "$ADMIN_TOKEN" --dpop) ;;
      refresh-dpop) args=(refresh --dpop) ;;
      userinfo-idme-dpop) args=(userinfo --dpop) ;;
      refresh | introspect | jwks | discovery | signature) args=("$mode") ;;
      *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
    args+=(--issuer "http://127.0.0.1:$PORT/oidc" --pid "$pid" --workers "$WORKERS" --json)
    "$bin" bench "${args[@]}" --duration "$WARMUP" --warmup 0 >/dev/null
    before=$(pg_ticks)
    read -ra wrote <<<"$(written "$pid")"
    out=$("$bin" bench "${args[@]}" --duration "$DURATION" --warmup 0)
    after=$(pg_ticks)
    read -ra written_after <<<"$(written "$pid")"
    # PostgreSQL's CPU in microseconds over the measured run, then per operation in ms; bytes and
    # full-page images written, then per operation in KiB and images.
    echo "$out" | jq -r --arg build "$label" --arg mode "$mode" \
      --argjson pg "$(((after - before) * 1000000 / hz))" \
      --argjson bytes "$((written_after[0] - wrote[0]))" \
      --argjson fpi "$((written_after[1] - wrote[1]))" \
      '(if .ops > 0 then .ops else 1 end) as $n |
       "\($build) \($mode) \(.per_second | floor) \(.provider_cpu_ms_per_op) \(.latency_ms.p99) \($pg / 1000 / $n) \(.errors) \($bytes / 1024 / $n) \($fpi / $n)"' |
      tee -a "$work/runs.txt"
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
  if [ -n "$db" ]; then
    psql -q "$POSTGRES/postgres" -c "DROP DATABASE $db"
    db=
  fi
  rm -rf "$data"
}

echo "run: build mode ops/s verity-cpu-ms/op p99-ms postgres-cpu-ms/op errors written-KiB/op fpi/op"
for _ in $(seq 1 "$PAIRS"); do
  run before "$BEFORE"
  run after "$AFTER"
done

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo
echo "medians over $PAIRS pairs"
printf '%-14s %-7s %9s %11s %8s %11s %7s %10s %7s\n' mode build ops/s "cpu ms/op" "p99 ms" \
  "pg ms/op" errors "KiB/op" "fpi/op"
for mode in "${MODES[@]}"; do
  for label in before after; do
    rows=$(awk -v l="$label" -v m="$mode" '$1 == l && $2 == m' "$work/runs.txt")
    ops=$(echo "$rows" | awk '{print $3}' | median)
    cpu=$(echo "$rows" | awk '{print $4}' | median)
    p99=$(echo "$rows" | awk '{print $5}' | median)
    pg=$(echo "$rows" | awk '{print $6}' | median)
    errors=$(echo "$rows" | awk '{e += $7} END {print e}')
    kib=$(echo "$rows" | awk '{print $8}' | median)
    fpi=$(echo "$rows" | awk '{print $9}' | median)
    printf '%-14s %-7s %9s %11.3f %8.2f %11.3f %7s %10.2f %7.2f\n' "$mode" "$label" "$ops" "$cpu" \
      "$p99" "$pg" "$errors" "$kib" "$fpi"
    eval "${label}_ops=$ops ${label}_cpu=$cpu"
  done
  # shellcheck disable=SC2154 # set by the eval above
  awk -v m="$mode" -v bo="$before_ops" -v ao="$after_ops" -v bc="$before_cpu" -v ac="$after_cpu" \
    'BEGIN {printf "%-14s after/before: ops/s %.2fx, cpu/op %.2fx\n", m, ao / bo, ac / bc}'
done
failed=$(awk '{e += $7} END {print e + 0}' "$work/runs.txt")
if [ "$failed" -gt 0 ]; then
  echo "$failed operations failed (verity.log and the runs above)" >&2
  exit 1
fi
