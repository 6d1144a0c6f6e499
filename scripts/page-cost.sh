#!/usr/bin/env bash
# What open live pages cost the agent: one sonde (release build) on
# loopback, with 0, 1 and PAGES headless Chromiums each showing the page at
# `/` for DURATION seconds. Prints sonde's CPU (utime+stime, % of one core),
# the WebSocket sessions it saw, and the page's size on the wire (gzip'd,
# as every browser asks for it). docs/performance.md has one run's figures.
#
#   scripts/page-cost.sh                      # 1 and 20 pages, 60 s each
#   PAGES=5 DURATION=30 scripts/page-cost.sh  # a quicker look
#
# Needs Debian's chromium. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

PAGES=${PAGES:-20}
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-10}
PORT=${PORT:-4300}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "chromium is not installed" >&2; exit 1; }
cargo build --release --bin sonde

WORK=$(mktemp -d)
BROWSERS=()
cleanup() {
  [ ${#BROWSERS[@]} -gt 0 ] && kill "${BROWSERS[@]}" 2>/dev/null
  [ -n "${SONDE:-}" ] && kill "$SONDE" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

target/release/sonde --bind 127.0.0.1 --port "$PORT" >"$WORK/sonde.log" 2>&1 &
SONDE=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

gz=$(curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT/" | wc -c)
plain=$(curl -s "http://127.0.0.1:$PORT/" | wc -c)
echo "page: $plain bytes, $gz gzip'd on the wire"

ticks() { awk '{print $14 + $15}' "/proc/$SONDE/stat"; }
hz=$(getconf CLK_TCK)
sessions() { curl -s "http://127.0.0.1:$PORT/metrics?collect[]=sonde" | awk '/^sonde_websocket_sessions /{print $2}'; }

open_pages() {
  local n=$1
  for i in $(seq 1 "$n"); do
    # Each its own browser: a background tab would be hidden, and a hidden
    # page asks for nothing.
    "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
      --no-first-run --disable-background-networking --disable-component-update \
      --disable-background-timer-throttling --disable-renderer-backgrounding \
      --window-size=1440,1000 --user-data-dir="$WORK/profile-$n-$i" \
      --remote-debugging-port=0 "http://127.0.0.1:$PORT/" >/dev/null 2>&1 &
    BROWSERS+=($!)
  done
}

close_pages() {
  [ ${#BROWSERS[@]} -gt 0 ] || return 0
  kill "${BROWSERS[@]}" 2>/dev/null || true
  wait "${BROWSERS[@]}" 2>/dev/null || true
  BROWSERS=()
  sleep 3
}

measure() {
  local n=$1
  if [ "$n" -gt 0 ]; then open_pages "$n"; fi
  sleep "$WARMUP"
  local open; open=$(sessions)
  local t0; t0=$(ticks)
  sleep "$DURATION"
  local t1; t1=$(ticks)
  awk -v n="$n" -v s="$open" -v d=$((t1 - t0)) -v hz="$hz" -v secs="$DURATION" \
    'BEGIN { printf "%2d pages: %s sessions, sonde CPU %.2f %% of a core (%d ticks in %d s)\n", n, s, 100 * d / hz / secs, d, secs }'
  close_pages
}

measure 0
measure 1
measure "$PAGES"
