#!/usr/bin/env bash
# Runs tests of librdkafka's own regression suite against a standalone chronik-broker.
#
#   scripts/librdkafka-suite.sh [TEST_NUMBER...]     e.g. scripts/librdkafka-suite.sh 0030 0082 0113
#
# librdkafka's sources (with tests/) ship inside the rdkafka-sys crate; the version is pinned
# below. The first run fetches that crate with cargo and builds librdkafka (without SSL, SASL,
# zstd or curl) and its test-runner under target/librdkafka-suite (about 6 minutes on 2
# busy cores); later runs reuse the build. Each test runs in its own test-runner process,
# one after another, against one broker this script starts on an ephemeral loopback port
# with a temporary data directory (auto-created topics get 4 partitions) and stops at the
# end. The exit status is the number of failed tests (capped at 100); logs stay under
# target/librdkafka-suite/logs.
#
# Environment: CHRONIK_BROKER_BIN (default target/debug/chronik-broker, built if missing),
# TEST_KAFKA_VERSION (default 3.9.0: the Kafka version the suite assumes for feature checks),
# RDKAFKA_TEST_TIMEOUT_S (per test, default 1200: 0113 alone runs about 11 minutes), RDKAFKA_TEST_QUICK=1 (the suite's quick mode:
# less data, fewer iterations, some sub-tests skipped).
set -euo pipefail

RDKAFKA_SYS_VERSION="4.10.0+2.12.1"
DEFAULT_TESTS="0030 0082 0113"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/target/librdkafka-suite"
SRC="$WORK/librdkafka"
LOGS="$WORK/logs"
BROKER_BIN="${CHRONIK_BROKER_BIN:-$ROOT/target/debug/chronik-broker}"
export TEST_KAFKA_VERSION="${TEST_KAFKA_VERSION:-3.9.0}"
PER_TEST_TIMEOUT="${RDKAFKA_TEST_TIMEOUT_S:-1200}"
RUNNER_ARGS=()
[ "${RDKAFKA_TEST_QUICK:-0}" = 1 ] && RUNNER_ARGS+=(-Q)
TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || read -r -a TESTS <<<"$DEFAULT_TESTS"

for t in "${TESTS[@]}"; do
    [[ "$t" =~ ^[0-9]{4}$ ]] || { echo "not a test number (4 digits, e.g. 0082): $t" >&2; exit 2; }
done

install_build_tools() {
    local missing=()
    command -v gcc >/dev/null || missing+=(gcc)
    command -v g++ >/dev/null || missing+=(g++)
    command -v make >/dev/null || missing+=(make)
    [ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]}"
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# Copies librdkafka's sources out of the pinned rdkafka-sys crate (fetched by cargo).
fetch_sources() {
    local proj="$WORK/crate"
    mkdir -p "$proj/src"
    cat >"$proj/Cargo.toml" <<EOF
[package]
name = "librdkafka-suite-sources"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
rdkafka-sys = { version = "=$RDKAFKA_SYS_VERSION", default-features = false }

[workspace]
EOF
    echo 'fn main() {}' >"$proj/src/main.rs"
    (cd "$proj" && cargo fetch -q)
    local manifest
    manifest=$(cd "$proj" && cargo metadata -q --format-version 1 |
        python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "rdkafka-sys"))')
    local crate_dir
    crate_dir=$(dirname "$manifest")
    [ -d "$crate_dir/librdkafka/tests" ] || { echo "no librdkafka/tests in $crate_dir" >&2; exit 2; }
    rm -rf "$SRC.partial"
    cp -r "$crate_dir/librdkafka" "$SRC.partial"
    mv "$SRC.partial" "$SRC"
}

build_runner() {
    [ -x "$SRC/tests/test-runner" ] && return
    install_build_tools
    [ -d "$SRC" ] || fetch_sources
    local started=$SECONDS
    echo "building librdkafka $RDKAFKA_SYS_VERSION and its test-runner (logs: $LOGS/build-*.log)"
    (cd "$SRC" &&
        ./configure --no-download --disable-zstd --disable-ssl --disable-gssapi --disable-curl \
            --disable-lz4-ext --disable-optimization >"$LOGS/build-configure.log" 2>&1 &&
        make -j"$(nproc)" libs >"$LOGS/build-libs.log" 2>&1 &&
        make -C tests -j"$(nproc)" build >"$LOGS/build-tests.log" 2>&1) ||
        { echo "librdkafka build failed; see $LOGS/build-*.log" >&2; exit 2; }
    echo "built in $((SECONDS - started)) s"
}

BROKER_PID=""
DATA_DIR=""
stop_broker() {
    if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    [ -z "$DATA_DIR" ] || rm -rf "$DATA_DIR"
}
trap stop_broker EXIT

# Starts the broker on an ephemeral port and reads the port it bound from its own log line.
start_broker() {
    if [ ! -x "$BROKER_BIN" ]; then
        (cd "$ROOT" && cargo build -q -p chronik-broker-bin)
    fi
    DATA_DIR=$(mktemp -d)
    "$BROKER_BIN" run --listen 127.0.0.1:0 --data-dir "$DATA_DIR/data" --num-partitions 4 \
        --fsync never --log-level info >"$LOGS/broker.log" 2>&1 &
    BROKER_PID=$!
    local deadline=$((SECONDS + 30)) line=""
    while [ -z "$line" ]; do
        kill -0 "$BROKER_PID" 2>/dev/null || { echo "broker exited; see $LOGS/broker.log" >&2; exit 2; }
        [ $SECONDS -lt $deadline ] || { echo "broker did not start in 30 s" >&2; exit 2; }
        line=$(grep -m1 "broker started" "$LOGS/broker.log" || true)
        [ -n "$line" ] || sleep 0.1
    done
    BROKER_ADDR=$(sed -E 's/.* listen=([0-9.]+:[0-9]+).*/\1/' <<<"$line")
    echo "broker pid $BROKER_PID on $BROKER_ADDR"
}

mkdir -p "$LOGS"
build_runner
start_broker
echo "bootstrap.servers=$BROKER_ADDR" >"$WORK/test.conf"
export RDKAFKA_TEST_CONF="$WORK/test.conf"
export LD_LIBRARY_PATH="$SRC/src:$SRC/src-cpp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

passed=0
failed=0
suite_started=$SECONDS
for t in "${TESTS[@]}"; do
    log="$LOGS/$t.log"
    started=$SECONDS
    status=0
    (cd "$SRC/tests" && TESTS="$t" timeout "$PER_TEST_TIMEOUT" ./test-runner "${RUNNER_ARGS[@]}" >"$log" 2>&1) || status=$?
    took=$((SECONDS - started))
    if [ $status -eq 0 ] && grep -q "ALL TESTS PASSED" "$log"; then
        passed=$((passed + 1))
        echo "$t PASS (${took} s)"
    else
        failed=$((failed + 1))
        reason=$(grep -A1 -m1 "### Test \"" "$log" | tail -1 | tr -d '\033' | sed -E 's/\[[0-9;]*m//g' | cut -c1-200 || true)
        [ $status -ne 124 ] || reason="killed after ${PER_TEST_TIMEOUT} s (RDKAFKA_TEST_TIMEOUT_S)"
        [ -n "$reason" ] || reason="exit status $status"
        echo "$t FAIL (${took} s): $reason"
    fi
done
echo "librdkafka suite: $passed passed, $failed failed in $((SECONDS - suite_started)) s"
exit $((failed > 100 ? 100 : failed))
