#!/usr/bin/env bash
# Builds the Debian package: the release binary, the man page and the shell
# completions (generated from the binary's own clap definitions), then
# `cargo deb --no-build`. The .deb lands in target/debian/.
#
#   scripts/build-deb.sh        # needs cargo-deb: cargo install cargo-deb
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo deb --version >/dev/null 2>&1; then
  echo "cargo-deb is not installed: cargo install cargo-deb" >&2
  exit 1
fi
cargo build --release --bin sonde
mkdir -p target/assets
target/release/sonde man | gzip -9n >target/assets/sonde.1.gz
target/release/sonde completions bash >target/assets/sonde.bash
target/release/sonde completions zsh >target/assets/_sonde
target/release/sonde completions fish >target/assets/sonde.fish
cargo deb --no-build
