#!/usr/bin/env bash
# Runs every check and test of the workspace, installing what the tests need first.
# Usage: bash tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's start, in seconds since this script began: the run must stay under 45 minutes.
step() { echo "== $1 (at $SECONDS s)"; }

step "test clients"
if ! command -v kcat >/dev/null 2>&1; then
  # kcat (librdkafka) is the real Kafka client the broker tests talk to.
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq kcat; else sudo apt-get update -qq && sudo apt-get install -y -qq kcat; fi
fi
kcat -V | head -1
if ! command -v openssl >/dev/null 2>&1; then
  # The TLS tests make their CA and certificates with the openssl command.
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq openssl; else sudo apt-get update -qq && sudo apt-get install -y -qq openssl; fi
fi

step "old binaries for the rolling-upgrade test"
# Before any build of this checkout: building the old revision re-links target/debug's
# chronik-broker and chronik-meta, which the builds below then put back.
bash scripts/build-upgrade-from.sh

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "python venv"
# The Python client tests, and the S3 server (moto) the tiered-storage tests start.
if [ ! -x target/python-venv/bin/python ]; then
  if ! python3 -m venv target/python-venv; then
    # Debian's python3 ships venv without ensurepip; python3-venv adds it.
    rm -rf target/python-venv
    if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv; else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv; fi
    python3 -m venv target/python-venv
  fi
fi
target/python-venv/bin/python -m pip install -q -r tests/python/requirements.txt

step "tests"
cargo test --workspace --all-targets --locked --no-fail-fast

step "python clients"
# The client tests start brokers; the replication tests also start meta nodes and read data
# dirs with walctl (all normally built by the cargo tests above, which also replaced the links
# scripts/build-upgrade-from.sh removed).
for bin in chronik-broker chronik-meta chronik-walctl; do
  if [ ! -x "target/debug/$bin" ]; then cargo build -p chronik-broker-bin -p chronik-meta -p chronik-walctl; break; fi
done
# The upgrade test fails rather than skips when the old binaries are missing.
rm -rf target/test-logs
# Two workers, each taking whole files (module fixtures share one broker): most of the time is
# spent waiting on brokers, so two cores serve two files at once.
if ! CHRONIK_REQUIRE_UPGRADE_FROM=1 target/python-venv/bin/python -m pytest -q -p no:cacheprovider \
  -n "${PYTEST_WORKERS:-2}" --dist loadfile tests/python; then
  # The nemesis runs write their seed and timeline here as they go and delete them when they
  # pass: what is left names the failing schedule even if the process died without a report.
  for f in target/test-logs/*.log; do [ -f "$f" ] && { echo "== $f"; cat "$f"; }; done
  exit 1
fi

step "monitoring"
bash tests/monitoring/check.sh

step "java client"
bash tests/java/run.sh

step "librdkafka suite"
# librdkafka's own regression tests marked ci in tests/librdkafka/tests.txt, against a standalone
# broker and against a 3-broker cluster (the whole list: scripts/librdkafka-suite.sh --all).
# The first run builds librdkafka; the standalone runs then go side by side (each has its own
# broker, logs and results; the tests mostly wait on timers), the second's output after the first's.
bash scripts/librdkafka-suite.sh --cluster --ci
# The tests among them that use consumer groups, again with group.protocol=consumer (KIP-848).
bash scripts/librdkafka-suite.sh --consumer-protocol --ci >target/librdkafka-consumer-protocol.out 2>&1 &
consumer_protocol=$!
standalone=0
bash scripts/librdkafka-suite.sh --ci || standalone=$?
consumer_status=0
wait "$consumer_protocol" || consumer_status=$?
cat target/librdkafka-consumer-protocol.out
if [ "$standalone" != 0 ] || [ "$consumer_status" != 0 ]; then exit 1; fi

step "debian package"
# Packages the debug binaries built above, installs the package here, runs it and purges it.
bash tests/package/test-package.sh

step "fuzzing"
# A smoke run: 10 s per target (the targets' own runs: docs/testing.md).
FUZZ_SECONDS=10 bash tests/fuzz-smoke.sh
echo "== every check passed in $SECONDS s"
