#!/bin/sh
# Soak: 200 WebSocket clients at the socktop TUI's rates asking every
# request kind (half get_*, half JSON) against a release build on loopback,
# then SIGTERM while they poll. Prints errors, lost replies, RSS first / at
# 60 s / last / peak, how many clients got 1001 and how fast the server
# exited; writes target/soak/rss.csv and target/soak/rss.png.
#
#   scripts/soak.sh              10 minutes, 200 clients
#   scripts/soak.sh 120 50       2 minutes, 50 clients
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-600}
clients=${2:-200}
port=${SOAK_PORT:-3997}
# Two builds: built with the example, sonde would take the features the
# dev-dependencies ask of shared crates (see scripts/compare.sh).
cargo build --release --quiet --bin sonde
cargo build --release --quiet --example loadgen
exec target/release/examples/loadgen soak \
    --clients "$clients" --seconds "$seconds" --sigterm --out target/soak \
    --server "target/release/sonde --bind 127.0.0.1 --port $port" \
    --url "ws://127.0.0.1:$port/ws" --name sonde --scenario soak
