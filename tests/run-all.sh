#!/usr/bin/env bash
# Runs every check and test of the workspace, installing what the tests need first.
# Usage: bash tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== test clients"
if ! command -v kcat >/dev/null 2>&1; then
  # kcat (librdkafka) is the real Kafka client the broker tests talk to.
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq kcat; else sudo apt-get update -qq && sudo apt-get install -y -qq kcat; fi
fi
kcat -V | head -1

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --all-targets --locked --no-fail-fast
