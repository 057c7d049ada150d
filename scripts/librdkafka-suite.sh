#!/usr/bin/env bash
# Runs tests of librdkafka's own regression suite against a standalone chronik-broker.
#
#   scripts/librdkafka-suite.sh --all                every test of tests/librdkafka/tests.txt
#   scripts/librdkafka-suite.sh --ci                 the tests marked ci there (tests/run-all.sh)
#   scripts/librdkafka-suite.sh TEST_NUMBER...       e.g. scripts/librdkafka-suite.sh 0030 0082 0113
#   scripts/librdkafka-suite.sh --cluster ...        the same against 3 meta nodes and 3 brokers
#   scripts/librdkafka-suite.sh --consumer-protocol ...  consumers use group.protocol=consumer
#                                                    (KIP-848); tests from tests/librdkafka/consumer-protocol.txt
#   scripts/librdkafka-suite.sh --sources            prints the dir of the unpacked librdkafka
#                                                    sources (scripts/bench-vs-peer.sh builds them)
#
# tests/librdkafka/tests.txt lists the suite's tests that need only a broker; those it marks skip
# (a feature not built yet, with its issue) are reported as SKIP with that reason and not run.
# librdkafka's sources (with tests/) ship inside the rdkafka-sys crate; the version is pinned
# below. The first run fetches that crate with cargo and builds librdkafka (without SSL, SASL,
# zstd or curl) and its test-runner under target/librdkafka-suite (about 6 minutes on 2
# busy cores); later runs reuse the build. Each test runs in its own test-runner process,
# one after another, against one broker this script starts on an ephemeral loopback port
# with a temporary data directory (auto-created topics get 4 partitions) and stops at the
# end; with --cluster, against a 3-node quorum and 3 brokers (auto-created topics get 4
# partitions of 3 replicas) that tests/librdkafka/serve_cluster.py starts with the Python
# harness of the client tests (target/python-venv, made by tests/run-all.sh). The exit status is the number of failed tests (capped at 100); logs stay under
# target/librdkafka-suite/logs (logs-cluster, logs-consumer, logs-cluster-consumer), and
# target/librdkafka-suite/results.tsv (with the same suffixes) has one line per test: number,
# name, PASS/FAIL/SKIP, seconds, reason.
#
# Environment: CHRONIK_BROKER_BIN (default target/debug/chronik-broker, built if missing),
# TEST_KAFKA_VERSION (default 3.9.0: the Kafka version the suite assumes for feature checks),
# RDKAFKA_TEST_TIMEOUT_S (per test, default 1200: 0113 alone runs about 11 minutes), RDKAFKA_TEST_QUICK=1 (the suite's quick mode:
# less data, fewer iterations, some sub-tests skipped), CHRONIK_BROKER_ARGS (more flags for the
# standalone broker, e.g. '--authorizer acl --super-users User:ANONYMOUS' for 0081's ACL tests).
set -euo pipefail

RDKAFKA_SYS_VERSION="4.10.0+2.12.1"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/target/librdkafka-suite"
SRC="$WORK/librdkafka"
LOGS="$WORK/logs"
BROKER_BIN="${CHRONIK_BROKER_BIN:-$ROOT/target/debug/chronik-broker}"
export TEST_KAFKA_VERSION="${TEST_KAFKA_VERSION:-3.9.0}"
PER_TEST_TIMEOUT="${RDKAFKA_TEST_TIMEOUT_S:-1200}"
# -L: only the tests that talk to a broker; the suite's mock-cluster tests (names ending in
# _mock or _local, run by the same test numbers) test librdkafka alone.
RUNNER_ARGS=(-L)
[ "${RDKAFKA_TEST_QUICK:-0}" = 1 ] && RUNNER_ARGS+=(-Q)
LIST="$ROOT/tests/librdkafka/tests.txt"
usage() { echo "usage: $0 [--cluster] [--consumer-protocol] --all | --ci | --sources | TEST_NUMBER... (4 digits, e.g. 0082)" >&2; exit 2; }
CLUSTER=0
SUFFIX=""
while [ $# -gt 0 ]; do
    case "$1" in
        --cluster) CLUSTER=1; SUFFIX="$SUFFIX-cluster"; shift ;;
        --consumer-protocol)
            # The suite's consumers join with group.protocol=consumer (KIP-848); the tests it
            # runs that way are listed on their own.
            export TEST_CONSUMER_GROUP_PROTOCOL=consumer
            LIST="$ROOT/tests/librdkafka/consumer-protocol.txt"
            SUFFIX="$SUFFIX-consumer"
            shift
            ;;
        *) break ;;
    esac
done
LOGS="$WORK/logs$SUFFIX"
RESULTS="$WORK/results$SUFFIX.tsv"

# The tests of the list whose mode is one of the given ones, and the skip reasons of the others.
TESTS=()
declare -A SKIP_REASON=()
select_from_list() {
    local number mode reason
    while read -r number mode reason; do
        [[ -z "$number" || "$number" == \#* ]] && continue
        [[ "$number" =~ ^[0-9]{4}$ && "$mode" =~ ^(ci|cluster|full|skip)$ ]] ||
            { echo "$LIST: bad line: $number $mode $reason" >&2; exit 2; }
        if [ "$mode" = cluster ]; then
            # CI on the 3-broker cluster; a standalone broker cannot serve it.
            [ "$CLUSTER" = 1 ] && mode=ci || mode=skip
        fi
        if [ "$mode" = skip ]; then
            SKIP_REASON[$number]="$reason"
            TESTS+=("$number")
        elif [[ " $* " == *" $mode "* ]]; then
            TESTS+=("$number")
        fi
    done <"$LIST"
}
SOURCES_ONLY=0
case "${1:-}" in
    --sources) [ $# -eq 1 ] || usage; SOURCES_ONLY=1 ;;
    --all) [ $# -eq 1 ] || usage; select_from_list ci full ;;
    --ci) [ $# -eq 1 ] || usage; select_from_list ci ;;
    ""|-*) usage ;;
    *)
        TESTS=("$@")
        for t in "${TESTS[@]}"; do [[ "$t" =~ ^[0-9]{4}$ ]] || usage; done
        ;;
esac

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

if [ "$SOURCES_ONLY" = 1 ]; then
    [ -d "$SRC" ] || fetch_sources >&2
    echo "$SRC"
    exit 0
fi

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
    # shellcheck disable=SC2086 # CHRONIK_BROKER_ARGS is a list of flags
    "$BROKER_BIN" run --listen 127.0.0.1:0 --data-dir "$DATA_DIR/data" --num-partitions 4 \
        --fsync never --log-level info ${CHRONIK_BROKER_ARGS:-} >"$LOGS/broker.log" 2>&1 &
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

# Starts 3 meta nodes and 3 brokers through the Python harness, which prints the bootstrap
# list once every broker answers for the cluster id it chose.
start_cluster() {
    local py="$ROOT/target/python-venv/bin/python"
    [ -x "$py" ] || { echo "$py is missing: run tests/run-all.sh once to create it" >&2; exit 2; }
    for bin in chronik-meta chronik-broker; do
        [ -x "$ROOT/target/debug/$bin" ] || (cd "$ROOT" && cargo build -q -p chronik-meta -p chronik-broker-bin)
    done
    "$py" "$ROOT/tests/librdkafka/serve_cluster.py" >"$LOGS/cluster.log" 2>&1 &
    BROKER_PID=$!
    local deadline=$((SECONDS + 120)) line=""
    while [ -z "$line" ]; do
        kill -0 "$BROKER_PID" 2>/dev/null || { echo "cluster exited; see $LOGS/cluster.log" >&2; exit 2; }
        [ $SECONDS -lt $deadline ] || { echo "cluster did not start in 120 s" >&2; exit 2; }
        line=$(grep -m1 "^bootstrap " "$LOGS/cluster.log" || true)
        [ -n "$line" ] || sleep 0.2
    done
    BROKER_ADDR=$(cut -d' ' -f2 <<<"$line")
    echo "cluster (harness pid $BROKER_PID) on $BROKER_ADDR"
}

mkdir -p "$LOGS"
# Runs may go side by side (tests/run-all.sh): one builds, the others wait for it.
exec 9>"$WORK/build.lock"
flock 9
build_runner
flock -u 9
if [ $CLUSTER = 1 ]; then start_cluster; else start_broker; fi
# Each run's own: the tests read the broker address from it.
echo "bootstrap.servers=$BROKER_ADDR" >"$LOGS/test.conf"
export RDKAFKA_TEST_CONF="$LOGS/test.conf"
export LD_LIBRARY_PATH="$SRC/src:$SRC/src-cpp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

passed=0
failed=0
skipped=0
suite_started=$SECONDS
: >"$RESULTS"
for t in "${TESTS[@]}"; do
    name=$(grep -o "_TEST(${t}_[a-z0-9_]*" "$SRC/tests/test.c" | cut -c7- | grep -v -E '_(local|mock)$' | head -1 || true)
    if [ -n "${SKIP_REASON[$t]:-}" ]; then
        skipped=$((skipped + 1))
        echo "$t SKIP: ${SKIP_REASON[$t]}"
        printf '%s\t%s\tSKIP\t0\t%s\n' "$t" "$name" "${SKIP_REASON[$t]}" >>"$RESULTS"
        continue
    fi
    log="$LOGS/$t.log"
    started=$SECONDS
    status=0
    (cd "$SRC/tests" && TESTS="$t" timeout "$PER_TEST_TIMEOUT" ./test-runner "${RUNNER_ARGS[@]}" >"$log" 2>&1) || status=$?
    took=$((SECONDS - started))
    if [ $status -eq 0 ] && grep -q "ALL TESTS PASSED" "$log"; then
        passed=$((passed + 1))
        echo "$t PASS (${took} s)"
        printf '%s\t%s\tPASS\t%s\t\n' "$t" "$name" "$took" >>"$RESULTS"
    else
        failed=$((failed + 1))
        reason=$(grep -A1 -m1 "### Test \"" "$log" | tail -1 | tr -d '\033' | sed -E 's/\[[0-9;]*m//g' | cut -c1-200 || true)
        [ $status -ne 124 ] || reason="killed after ${PER_TEST_TIMEOUT} s (RDKAFKA_TEST_TIMEOUT_S)"
        [ -n "$reason" ] || reason="exit status $status"
        echo "$t FAIL (${took} s): $reason"
        printf '%s\t%s\tFAIL\t%s\t%s\n' "$t" "$name" "$took" "$reason" >>"$RESULTS"
    fi
done
echo "librdkafka suite: $passed passed, $failed failed, $skipped skipped in $((SECONDS - suite_started)) s"
exit $((failed > 100 ? 100 : failed))
