#!/usr/bin/env bash
# The repeated source of issue 19's target: pairs of places in crates/*/src (tests aside) that
# share six or more lines of the same shape, as the workplace's `duplicates` tool counts them.
# Usage: `scripts/duplicates-src.sh [rows]` (default 20 rows listed after the count).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in crates/*/; do
  name=$(basename "$c")
  [ -d "$c/src" ] && mkdir -p "$tmp/$name" && cp -r "$c/src" "$tmp/$name/"
done
duplicates --repo "$tmp" --most "${1:-20}" --seconds 60
