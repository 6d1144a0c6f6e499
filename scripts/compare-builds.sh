#!/usr/bin/env bash
# Two sonde builds side by side on this machine: the request paths of
# scripts/compare.sh's sonde rows (cached processes reply, metrics and
# processes at TTL 0, the error-reply floor, a /metrics scrape at TTL 0, a
# cached /api/metrics), interleaved (before, after, before…) REPS times;
# prints the medians and the ratio of every figure. Loopback only.
#
#   scripts/compare-builds.sh BEFORE_BINARY [AFTER_BINARY]
#
# AFTER_BINARY defaults to this checkout's release build. Build the earlier
# one from a worktree, e.g.
#   git worktree add /tmp/before <commit> &&
#   (cd /tmp/before && CARGO_TARGET_DIR=/tmp/before-target cargo build --release --bin sonde)
#   scripts/compare-builds.sh /tmp/before-target/release/sonde
set -euo pipefail
cd "$(dirname "$0")/.."

BEFORE=${1:?usage: scripts/compare-builds.sh BEFORE_BINARY [AFTER_BINARY]}
AFTER=${2:-target/release/sonde}
REPS=${REPS:-3}
PORT=${PORT:-3998}
URL="ws://127.0.0.1:$PORT/ws"
HTTP="http://127.0.0.1:$PORT"
L=target/release/examples/loadgen
OUT=${OUT:-target/compare/builds-$(date -u +%Y%m%dT%H%M%SZ).jsonl}

# Two builds: built with the example, the library would take the features
# the dev-dependencies ask of shared crates, and sonde would not be the
# binary users build (nor have its code order, build/text-order.txt).
cargo build --release --bin sonde
cargo build --release --example loadgen
mkdir -p "$(dirname "$OUT")"
TTL0=(--server-env SONDE_METRICS_TTL_MS=0 --server-env SONDE_PROCESSES_TTL_MS=0 --server-env SONDE_DISKS_TTL_MS=0)

for rep in $(seq "$REPS"); do
  echo "repetition $rep of $REPS" >&2
  for name in before after; do
    bin=$BEFORE
    [ "$name" = after ] && bin=$AFTER
    server="$bin --bind 127.0.0.1 --port $PORT"
    "$L" cost --kind processes --requests 3000 --server "$server" --url "$URL" --name "$name" --scenario "cached processes" >>"$OUT"
    "$L" cost --kind metrics --requests 2000 --server "$server" --url "$URL" --name "$name" --scenario "metrics ttl0" "${TTL0[@]}" >>"$OUT"
    "$L" cost --kind processes --requests 300 --server "$server" --url "$URL" --name "$name" --scenario "processes ttl0" "${TTL0[@]}" >>"$OUT"
    "$L" cost --kind unknown --requests 3000 --server "$server" --url "$URL" --name "$name" --scenario "error reply" >>"$OUT"
    "$L" http --path /metrics --requests 300 --server "$server" --url "$HTTP" --name "$name" --scenario "scrape ttl0" "${TTL0[@]}" >>"$OUT"
    "$L" http --path /api/metrics --requests 3000 --server "$server" --url "$HTTP" --name "$name" --scenario "cached api" --server-env SONDE_METRICS_TTL_MS=60000 >>"$OUT"
  done
done
"$L" report --peer before --ours after "$OUT"
