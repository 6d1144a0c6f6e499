#!/usr/bin/env bash
# Builds the statically linked release binary and the FROM-scratch image.
#
#   scripts/build-image.sh [TAG]      # default tag: sonde:VERSION
#
# Uses podman, or docker where podman is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-gnu
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
TAG=${1:-sonde:$VERSION}
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target "$TARGET" --bin sonde
if ! ldd "target/$TARGET/release/sonde" 2>&1 | grep -Eq "not a dynamic executable|statically linked"; then
  echo "target/$TARGET/release/sonde is not statically linked" >&2
  exit 1
fi
ENGINE=$(command -v podman || command -v docker || true)
if [ -z "$ENGINE" ]; then
  echo "neither podman nor docker is installed; the binary is in target/$TARGET/release/sonde" >&2
  exit 1
fi
"$ENGINE" build --format docker -t "$TAG" . 2>/dev/null || "$ENGINE" build -t "$TAG" .
echo "built $TAG"
