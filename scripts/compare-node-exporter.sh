#!/usr/bin/env bash
# sonde's /metrics against node_exporter's on this machine, interleaved
# (sonde, node_exporter, sonde…) REPS times; prints the medians and the
# ratio sonde/node_exporter of every figure (CPU per scrape, RSS and
# RssAnon after the scrapes, bytes per scrape plain and gzip'd, latency).
#
#   scripts/compare-node-exporter.sh            # about 5 min
#   REPS=1 scripts/compare-node-exporter.sh     # a quick look
#
# Scenarios:
#   defaults     every default collector of each (sonde at TTL 0: at
#                Prometheus' scrape intervals every scrape collects anew);
#                the same set since tcpstat and processes are opt-in in
#                both
#   opt-ins      both with tcpstat and processes turned on
#   tcpstat 10k  the TCP state count alone (collect[]=tcpstat) with 10,000
#                established loopback sockets held open, node_exporter with
#                --collector.tcpstat
#   hardware     the hardware and storage collectors alone (hwmon,
#                thermal_zone, powersupplyclass, cpufreq, rapl, edac, dmi,
#                mdadm, zfs, btrfs, xfs, nvme, nfs, nfsd, bonding), both
#                reading node_exporter's fixture host (its sysfs and procfs
#                trees from real machines, tests/fixtures/node_exporter)
#   hardware server, hardware laptop
#                the same on two of sonde's fixture hosts
#                (tests/fixtures/hosts)
#
#   ONLY=hardware scripts/compare-node-exporter.sh   # one scenario
# node_exporter is Debian's prometheus-node-exporter (NODE_EXPORTER to use
# another). Loopback only. Raw results: JSON lines in target/compare/.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
PORT=${PORT:-3997}
HTTP="http://127.0.0.1:$PORT"
NODE_EXPORTER=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
L=target/release/examples/loadgen
OUT=${OUT:-target/compare/node-exporter-$(date -u +%Y%m%dT%H%M%SZ).jsonl}

[ -x "$NODE_EXPORTER" ] || { echo "no node_exporter at $NODE_EXPORTER" >&2; exit 1; }
# Two builds: built with the example, the library would take the features
# the dev-dependencies ask of shared crates, and sonde would not be the
# binary users build (nor have its code order, build/text-order.txt).
cargo build --release --bin sonde
cargo build --release --example loadgen
mkdir -p "$(dirname "$OUT")"
SONDE="target/release/sonde --bind 127.0.0.1 --port $PORT"
NE="$NODE_EXPORTER --web.listen-address=127.0.0.1:$PORT"
TTL0=(--server-env SONDE_METRICS_TTL_MS=0 --server-env SONDE_PROCESSES_TTL_MS=0 --server-env SONDE_DISKS_TTL_MS=0)

HW=hwmon,thermal_zone,powersupplyclass,cpufreq,rapl,edac,dmi,mdadm,zfs,btrfs,xfs,nvme,nfs,nfsd,bonding
FIX=$(mktemp -d)
trap 'rm -rf "$FIX"' EXIT
tests/fixtures/node_exporter/ttar -C "$FIX" -x -f tests/fixtures/node_exporter/sys.ttar
cp -a tests/fixtures/node_exporter/proc "$FIX/"
sonde_on() { echo "$SONDE --proc-root $1/proc --sys-root $1/sys --collectors-default off --collector $HW"; }
ne_on() { echo "$NE --path.procfs=$1/proc --path.sysfs=$1/sys --collector.disable-defaults $(printf -- ' --collector.%s' ${HW//,/ })"; }

for rep in $(seq "$REPS"); do
  echo "repetition $rep of $REPS" >&2
  for host in "hardware:$FIX" "hardware server:tests/fixtures/hosts/server" "hardware laptop:tests/fixtures/hosts/laptop"; do
    "$L" http --path /metrics --requests 300 --server "$(sonde_on "${host#*:}")" --url "$HTTP" \
      --name sonde --scenario "${host%%:*}" "${TTL0[@]}" >>"$OUT"
    "$L" http --path /metrics --requests 300 --server "$(ne_on "${host#*:}")" --url "$HTTP" \
      --name node_exporter --scenario "${host%%:*}" >>"$OUT"
  done
  [ "${ONLY:-}" = hardware ] && continue
  "$L" http --path /metrics --requests 300 --server "$SONDE" --url "$HTTP" \
    --name sonde --scenario "defaults" "${TTL0[@]}" >>"$OUT"
  "$L" http --path /metrics --requests 300 --server "$NE" --url "$HTTP" \
    --name node_exporter --scenario "defaults" >>"$OUT"
  "$L" http --path /metrics --requests 300 --server "$SONDE --collector tcpstat,processes" --url "$HTTP" \
    --name sonde --scenario "opt-ins" "${TTL0[@]}" >>"$OUT"
  "$L" http --path /metrics --requests 300 --server "$NE --collector.tcpstat --collector.processes" --url "$HTTP" \
    --name node_exporter --scenario "opt-ins" >>"$OUT"
  "$L" http --path '/metrics?collect[]=tcpstat' --requests 200 --tcp-sockets 10000 \
    --server "$SONDE --collector tcpstat" --url "$HTTP" --name sonde --scenario "tcpstat 10k" "${TTL0[@]}" >>"$OUT"
  "$L" http --path '/metrics?collect[]=tcpstat' --requests 200 --tcp-sockets 10000 \
    --server "$NE --collector.tcpstat" --url "$HTTP" --name node_exporter --scenario "tcpstat 10k" >>"$OUT"
done
"$L" report --peer node_exporter --ours sonde "$OUT"
