#!/usr/bin/env bash
# Side by side: sonde against socktop_agent 1.60.1 on this machine, the same
# scenarios for both, interleaved (sonde, socktop, sonde, socktop…), REPS
# repetitions; prints the medians and the ratio sonde/socktop of every figure.
#
#   scripts/compare.sh                        # the full run (about 30 min)
#   REPS=1 IDLE_SECS=10 scripts/compare.sh    # a quick look
#
# socktop_agent is installed from the crate registry into target/peers/ (no
# GPU feature). Everything talks to 127.0.0.1 only. Raw results: JSON lines
# in target/compare/; the table goes to stdout (paste it into
# docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
IDLE_SECS=${IDLE_SECS:-60}
CADENCE_SECS=${CADENCE_SECS:-30}
PORT=${PORT:-3999}
URL="ws://127.0.0.1:$PORT/ws"
HTTP="http://127.0.0.1:$PORT"
NODE_EXPORTER=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
PEER=target/peers/bin/socktop_agent
L=target/release/examples/loadgen
OUT=${OUT:-target/compare/$(date -u +%Y%m%dT%H%M%SZ).jsonl}

# Two builds: built with the example, the library would take the features
# the dev-dependencies ask of shared crates, and sonde would not be the
# binary users build (nor have its code order, build/text-order.txt).
cargo build --release --bin sonde
cargo build --release --example loadgen
if [ ! -x "$PEER" ]; then
  cargo install socktop_agent --version 1.60.1 --no-default-features --locked --root target/peers
fi
mkdir -p "$(dirname "$OUT")"

server_cmd() {
  case $1 in
    sonde) echo "target/release/sonde --bind 127.0.0.1 --port $PORT" ;;
    socktop) echo "$PEER --port $PORT" ;;
  esac
}

TTL0=(--server-env SOCKTOP_AGENT_METRICS_TTL_MS=0 --server-env SOCKTOP_AGENT_PROCESSES_TTL_MS=0 --server-env SOCKTOP_AGENT_DISKS_TTL_MS=0)

# Where the scheduler puts the server and the client changes the cost of a
# short request several-fold on a VM: a wake-up across vCPUs costs far more
# than one on the same vCPU. The main runs leave placement to the scheduler;
# `placed` repeats the fixed-cost scenarios with both pinned to one CPU and
# to two CPUs (taskset, inherited by every thread of the server).
SERVER_PIN=()
CLIENT_PIN=()

# run SCENARIO LOADGEN-ARGS...: the scenario for both servers, sonde first.
run() {
  local scenario=$1
  shift
  for name in sonde socktop; do
    "${CLIENT_PIN[@]}" "$L" "$@" --server "${SERVER_PIN[*]} $(server_cmd "$name")" --url "$URL" \
      --name "$name" --scenario "$scenario" >>"$OUT"
  done
}

# The round-trip floors. sonde answering an unknown request: an error reply,
# no cache, no collection (socktop_agent drops unknown requests, so this runs
# on sonde alone). And `loadgen echo`: a blocking TCP server that only
# answers 1,000 bytes per read, the least any server can spend per request.
floor() {
  local scenario=$1
  "${CLIENT_PIN[@]}" "$L" cost --kind unknown --requests 3000 --server "${SERVER_PIN[*]} $(server_cmd sonde)" \
    --url "$URL" --name sonde --scenario "$scenario" >>"$OUT"
  "${CLIENT_PIN[@]}" "$L" floor --requests 5000 --server "${SERVER_PIN[*]} $L echo --reply-bytes 1000" \
    --name echo --scenario "$scenario" >>"$OUT"
}

# placed LABEL SERVER_CPU CLIENT_CPU COMMAND...: COMMAND with both pinned.
placed() {
  local label=$1
  SERVER_PIN=(taskset -c "$2")
  CLIENT_PIN=(taskset -c "$3")
  shift 3
  "$@" "$label"
  SERVER_PIN=()
  CLIENT_PIN=()
}

base_placed() {
  run "$1 cached" cost --kind processes --requests 3000
  run "$1 ttl0" cost --kind metrics --requests 2000 "${TTL0[@]}"
  floor "$1 floor"
}
big_placed() {
  run "$1 3k ttl0" cost --kind metrics --requests 1000 "${TTL0[@]}"
}

procs() { ls /proc | grep -c '^[0-9]'; }

# hold K: keep K extra idle processes until release.
HOLD=
hold() {
  local want=$(($(procs) + $1))
  "$L" hold --extra-procs "$1" 2>/dev/null &
  HOLD=$!
  for _ in $(seq 600); do
    [ "$(procs)" -ge "$want" ] && return 0
    sleep 0.1
  done
}
release() {
  if [ -n "$HOLD" ]; then kill -INT "$HOLD"; wait "$HOLD" || true; HOLD=; fi
}
trap release EXIT

for rep in $(seq "$REPS"); do
  echo "repetition $rep of $REPS ($(procs) processes)" >&2
  run "base" startup
  run "base ttl0" cost --kind metrics --requests 2000 "${TTL0[@]}"
  # GPU support on (the default) against off, on this host: an extra column.
  "$L" cost --kind metrics --requests 2000 --server "$(server_cmd sonde) --gpu off" --url "$URL" \
    --name sonde-gpu-off --scenario "base ttl0" "${TTL0[@]}" >>"$OUT"
  run "base ttl0" cost --kind processes --requests 300 "${TTL0[@]}"
  run "base cached" cost --kind processes --requests 3000
  floor "base floor"
  placed "same-cpu" 0 0 base_placed
  placed "two-cpu" 0 1 base_placed
  # /metrics against node_exporter (Debian's prometheus-node-exporter),
  # each scrape a fresh collection (sonde at TTL 0), and the cached
  # /api/metrics against the cached WebSocket metrics reply.
  if [ -x "$NODE_EXPORTER" ]; then
    "$L" http --path /metrics --requests 300 --server "$(server_cmd sonde)" --url "$HTTP" \
      --name sonde --scenario "scrape ttl0" "${TTL0[@]}" >>"$OUT"
    "$L" http --path /metrics --requests 300 --server "$NODE_EXPORTER --web.listen-address=127.0.0.1:$PORT" \
      --url "$HTTP" --name node_exporter --scenario "scrape ttl0" >>"$OUT"
  fi
  "$L" http --path /api/metrics --requests 3000 --server "$(server_cmd sonde)" --url "$HTTP" \
    --name sonde --scenario "cached api" --server-env SONDE_METRICS_TTL_MS=60000 >>"$OUT"
  "$L" http --path /healthz --requests 3000 --server "$(server_cmd sonde)" --url "$HTTP" \
    --name sonde-healthz --scenario "cached api" >>"$OUT"
  "$L" cost --kind metrics --requests 3000 --server "$(server_cmd sonde)" --url "$URL" \
    --name sonde-ws --scenario "cached api" --server-env SONDE_METRICS_TTL_MS=60000 >>"$OUT"
  run "base 16conn" load --kind processes --connections 16 --seconds 10
  run "base 0clients" idle --clients 0 --seconds "$IDLE_SECS"
  run "base 100clients" idle --clients 100 --seconds "$IDLE_SECS"
  run "base 200clients" idle --clients 200 --seconds 5

  hold 1000
  run "1k ttl0" cost --kind processes --requests 100 "${TTL0[@]}"
  run "1k ttl0" cost --kind metrics --requests 1000 "${TTL0[@]}"
  release

  hold 3000
  run "3k ttl0" cost --kind processes --requests 40 "${TTL0[@]}"
  run "3k ttl0" cost --kind metrics --requests 1000 "${TTL0[@]}"
  placed "same-cpu" 0 0 big_placed
  placed "two-cpu" 0 1 big_placed
  run "3k tui1" cadence --clients 1 --seconds "$CADENCE_SECS"
  run "3k tui10" cadence --clients 10 --seconds "$CADENCE_SECS"
  release
done

echo "machine: $(nproc) CPUs, $(uname -r), $(date -u +%F); results in $OUT" >&2
"$L" report "$OUT"

# Syscalls per process of one TTL-0 scan at ~1,000 processes (strace -c).
if command -v strace >/dev/null; then
  hold 1000
  target/release/sonde --bind 127.0.0.1 --port "$PORT" --processes-ttl-ms 0 2>/dev/null &
  SONDE=$!
  sleep 0.5
  "$L" cost --kind processes --requests 5 --pid "$SONDE" --url "$URL" >/dev/null 2>&1
  n=$(procs)
  timeout 60 strace -c -f -p "$SONDE" -o target/compare/strace.txt &
  STRACE=$!
  sleep 1
  "$L" cost --kind processes --requests 50 --pid "$SONDE" --url "$URL" >/dev/null 2>&1
  kill -INT "$STRACE"; wait "$STRACE" || true
  kill "$SONDE"; wait "$SONDE" || true
  release
  total=$(awk '$NF == "total" {t = $4} END {print t}' target/compare/strace.txt)
  echo
  echo "strace -c over 50 TTL-0 scans at $n processes: $total syscalls, $(awk -v t="$total" -v n="$n" 'BEGIN {printf "%.2f", t / 50 / n}') per process per scan"
  grep -E 'pread64|getdents64|openat|total' target/compare/strace.txt || true
fi
