#!/usr/bin/env bash
# Runs every check and test of the workspace, installing what the tests need first.
# Usage: bash tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --all-targets --locked --no-fail-fast
