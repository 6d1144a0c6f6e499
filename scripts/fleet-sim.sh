#!/usr/bin/env bash
# A fleet on one machine: N sonde instances, each a different host (the
# fixture hosts' sysfs in turn, this machine's /proc), on their own loopback
# ports, scraped by one Prometheus every INTERVAL for DURATION seconds.
# Prints per host: series per scrape, bytes per scrape (plain and gzip'd),
# sonde CPU per scrape; and at the Prometheus: samples ingested per second,
# head series and resident memory. docs/fleet.md turns these into the
# arithmetic for 100, 1,000 and 10,000 hosts.
#
#   scripts/fleet-sim.sh                       # 50 hosts, 15 s, 5 minutes
#   N=20 DURATION=120 scripts/fleet-sim.sh     # a quicker look
#
# Needs Debian's prometheus. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-50}
INTERVAL=${INTERVAL:-15s}
DURATION=${DURATION:-300}
BASE_PORT=${BASE_PORT:-4100}
PROM_PORT=${PROM_PORT:-4099}
command -v prometheus >/dev/null || { echo "prometheus is not installed" >&2; exit 1; }
cargo build --release --bin sonde

WORK=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

HOSTS=(laptop server raspberry_pi amd_desktop)
TARGETS=""
for i in $(seq 1 "$N"); do
  host=${HOSTS[$(( i % ${#HOSTS[@]} ))]}
  port=$(( BASE_PORT + i ))
  target/release/sonde --bind 127.0.0.1 --port "$port" \
    --sys-root "tests/fixtures/hosts/$host/sys" --prometheus-processes 5 \
    >"$WORK/sonde-$i.log" 2>&1 &
  PIDS+=($!)
  TARGETS+="'127.0.0.1:$port',"
done
SONDE_PIDS=("${PIDS[@]}")

cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: $INTERVAL
scrape_configs:
  - job_name: sonde
    static_configs:
      - targets: [${TARGETS%,}]
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PROM_PORT']
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)

ticks() { local t=0; for p in "${SONDE_PIDS[@]}"; do t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat") )); done; echo "$t"; }
sleep 5
before=$(ticks)
start=$(date +%s)
echo "scraping $N hosts every $INTERVAL for ${DURATION}s…" >&2
sleep "$DURATION"
after=$(ticks)
elapsed=$(( $(date +%s) - start ))

q() { curl -s "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
  sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'; }
interval_s=${INTERVAL%s}
hz=$(getconf CLK_TCK)
scrapes=$(awk -v e="$elapsed" -v i="$interval_s" -v n="$N" 'BEGIN { print n * e / i }')
cpu_ms=$(awk -v t=$(( after - before )) -v hz="$hz" -v s="$scrapes" 'BEGIN { printf "%.2f", t * 1000 / hz / s }')
series=$(q 'round(avg(scrape_samples_scraped{job="sonde"}))')
plain=0; gz=0
for i in 1 2 3 4; do
  port=$(( BASE_PORT + i ))
  plain=$(( plain + $(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/metrics") ))
  gz=$(( gz + $(curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{size_download}' "http://127.0.0.1:$port/metrics") ))
done
samples=$(q 'sum(rate(prometheus_tsdb_head_samples_appended_total[2m]))')
head_series=$(q 'prometheus_tsdb_head_series')
rss=$(q 'max(process_resident_memory_bytes{job="prometheus"})')

cat <<TABLE
| figure | value |
|---|---|
| hosts, scrape interval, measured | $N, $INTERVAL, ${elapsed} s |
| series per host per scrape (mean) | $series |
| bytes per scrape, plain / gzip'd (mean of 4 hosts) | $(( plain / 4 )) / $(( gz / 4 )) |
| sonde CPU per scrape | $cpu_ms ms |
| Prometheus samples ingested per second | $samples |
| Prometheus head series | $head_series |
| Prometheus resident memory | $rss bytes |
TABLE
