# Sourced by the bench scripts: pg_ticks prints the CPU ticks (user + system, from /proc) of
# every postgres process on this host, or 0 without POSTGRES; divide a difference by
# `getconf CLK_TCK` for seconds.
pg_ticks() {
  local total=0 p
  [ -n "${POSTGRES:-}" ] || { echo 0; return; }
  for p in $(pgrep -x postgres || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
