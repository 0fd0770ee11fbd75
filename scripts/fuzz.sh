#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each): `scripts/fuzz.sh [seconds]`.
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz passes nightly-only flags to rustc;
# on a stable toolchain RUSTC_BOOTSTRAP=1 lets them through. A crash leaves its input under
# fuzz/artifacts/<target>/: copy it to fuzz/regressions/<target>/ and add a unit test for it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
export RUSTC_BOOTSTRAP=1
for target in authorize_query token_body auth_headers client_assertion; do
  echo "== fuzzing $target for ${seconds}s"
  cargo fuzz run --sanitizer none "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048
done
