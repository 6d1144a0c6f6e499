#!/usr/bin/env bash
# The kernel floor of a /metrics scrape and how close sonde's scrape comes
# to it, on this machine:
#
# 1. sonde (release, TTL 0, its default collectors plus ARGS) is scraped
#    three times to warm up, then once under `strace -f -y`: every file
#    the scrape reads (`read`/`pread64` of /proc and /sys, whatever the
#    descriptor), every `statfs` and every netlink dump it asks for
#    (devices, addresses, TCP sockets), once each, is the scrape's read
#    list;
# 2. `loadgen reads` reads that list back to back with kept descriptors
#    and `pread`, and asks for the same dumps, nothing parsed or written:
#    the floor (what any agent serving the same series pays the kernel,
#    at the least);
# 3. `loadgen http` measures sonde's CPU per scrape, and node_exporter's
#    (its defaults) when it is installed.
#
#   scripts/scrape-floor.sh                     # sonde's defaults
#   scripts/scrape-floor.sh --collector tcpstat # with an opt-in collector
#
# Prints the three figures and the ratios; JSON lines in target/compare/.
# Loopback only. Needs strace.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-3996}
REQUESTS=${REQUESTS:-300}
NODE_EXPORTER=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
L=target/release/examples/loadgen
OUT=${OUT:-target/compare/scrape-floor-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
command -v strace >/dev/null || { echo "strace is needed" >&2; exit 1; }
# Two builds: built with the example, the library would take the features
# the dev-dependencies ask of shared crates, and sonde would not be the
# binary users build (nor have its code order, build/text-order.txt).
cargo build --release --bin sonde
cargo build --release --example loadgen
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d)
SERVER=
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

SONDE="target/release/sonde --bind 127.0.0.1 --port $PORT $*"
TTL0=(--server-env SONDE_METRICS_TTL_MS=0 --server-env SONDE_PROCESSES_TTL_MS=0 --server-env SONDE_DISKS_TTL_MS=0)
SONDE_METRICS_TTL_MS=0 SONDE_PROCESSES_TTL_MS=0 SONDE_DISKS_TTL_MS=0 $SONDE >/dev/null 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
for _ in 1 2 3; do curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null; done
strace -f -yy -qq -e trace=read,pread64,statfs,sendto -o "$WORK/trace" -p "$SERVER" &
TRACER=$!
sleep 1
curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null
sleep 0.5
kill "$TRACER"; wait "$TRACER" 2>/dev/null || true
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
SERVER=
# read(12</proc/meminfo>, …) and pread64(…) of /proc and /sys, the
# server's own /proc/PID as /proc/self; statfs("/boot", …).
{
  grep -oE '(read|pread64)\([0-9]+</(proc|sys)/[^>]*>' "$WORK/trace" |
    sed -E 's/^[a-z0-9]+\([0-9]+<//; s/>$//' | sed -E "s#^/proc/[0-9]+/#/proc/self/#"
  grep -oE 'statfs\("[^"]*"' "$WORK/trace" | sed -E 's/^statfs\("/statfs:/; s/"$//'
  # Netlink dump requests by type and length: RTM_GETLINK (0x12, 32
  # bytes), RTM_GETADDR (0x16, 24), TCPDIAG_GETSOCK (0x12, 76).
  grep -oE 'sendto\([0-9]+<NETLINK:[^>]*>, \[\{nlmsg_len=[0-9]+, nlmsg_type=[^,]*' "$WORK/trace" |
    sed -E 's/.*nlmsg_len=([0-9]+), nlmsg_type=([^ ,]*).*/\1 \2/' |
    awk '$1 == 32 && $2 ~ /^(0x12|RTM_GETLINK)$/ {print "netlink:links"}
         $1 == 24 && $2 ~ /^(0x16|RTM_GETADDR)$/ {print "netlink:addresses"}
         $1 == 76 && $2 ~ /^(0x12|TCPDIAG_GETSOCK)$/ {print "netlink:tcp"}'
} | sort -u >"$WORK/reads"
echo "the scrape read $(grep -vcE '^(statfs|netlink):' "$WORK/reads") files, $(grep -c '^statfs:' "$WORK/reads" || true) mounts and $(grep -c '^netlink:' "$WORK/reads" || true) netlink dumps" >&2

"$L" reads --files "$WORK/reads" --requests "$REQUESTS" --name floor --scenario floor >>"$OUT"
"$L" http --path /metrics --requests "$REQUESTS" --server "$SONDE" --url "http://127.0.0.1:$PORT" \
  --name sonde --scenario floor "${TTL0[@]}" >>"$OUT"
if [ -x "$NODE_EXPORTER" ]; then
  "$L" http --path /metrics --requests "$REQUESTS" --server "$NODE_EXPORTER --web.listen-address=127.0.0.1:$PORT" \
    --url "http://127.0.0.1:$PORT" --name node_exporter --scenario floor >>"$OUT"
fi
python3 - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][-3:]
by = {r["server"]: r["figures"] for r in rows}
floor = by["floor"]["cpu_ms_per_round"]
sonde = by["sonde"]["cpu_ms_per_request"]
print(f"floor {floor:.3f} ms  sonde {sonde:.3f} ms  sonde/floor {sonde / floor:.2f}")
if "node_exporter" in by:
    ne = by["node_exporter"]["cpu_ms_per_request"]
    print(f"node_exporter {ne:.3f} ms  sonde/node_exporter {sonde / ne:.2f}  floor/node_exporter {floor / ne:.2f}")
EOF
