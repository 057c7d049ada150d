"""Compacted topics with real clients: confluent-kafka writes keyed records and tombstones, the
broker's log cleaner keeps the latest record of each key, and confluent-kafka, kcat and
kafka-python read the same compacted log back. Unkeyed records are refused.
"""

import subprocess
import time

import pytest
from confluent_kafka import KafkaError, Producer

from harness import DEFAULT_ARGS, IO_DEADLINE_S, KAFKA_PYTHON_PROBE, create_topic, live_values, read_partition, running_broker, unique

# A cleaner that looks for work every 100 ms, so the tests wait seconds, not 15 s.
CLEANER_ARGS = (*DEFAULT_ARGS, "--log-cleaner-backoff-ms", "100")
COMPACTED = {
    "cleanup.policy": "compact",
    "segment.bytes": "2048",
    "min.cleanable.dirty.ratio": "0.01",
    "delete.retention.ms": "0",
}
KEYS = 20
ROUNDS = 30
DELETED = {3, 7, 11}


@pytest.fixture(scope="module")
def broker():
    yield from running_broker(CLEANER_ARGS)


def expected_latest():
    return {b"k%d" % k: b"v%d-%d" % (k, ROUNDS - 1) for k in range(KEYS) if k not in DELETED}


@pytest.fixture(scope="module")
def compacted(broker):
    """A compacted topic written with updates and tombstones, then cleaned."""
    topic = unique("compacted")
    create_topic(broker.bootstrap, topic, 1, COMPACTED)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "batch.num.messages": 5})
    for r in range(ROUNDS):
        for k in range(KEYS):
            p.produce(topic, key=b"k%d" % k, value=b"v%d-%d" % (k, r), partition=0)
    for k in DELETED:
        p.produce(topic, key=b"k%d" % k, value=None, partition=0)
    # More records roll the segment holding the tombstones out of the active one.
    for i in range(200):
        p.produce(topic, key=b"filler-%d" % (i % 5), value=b"x" * 40, partition=0)
    assert p.flush(30) == 0
    written = ROUNDS * KEYS + len(DELETED) + 200
    deadline = time.monotonic() + IO_DEADLINE_S
    while True:
        low, high, records = read_partition(broker.bootstrap, topic)
        if len(records) < written // 4 and not any(v is None for _, _, v in records):
            break
        assert time.monotonic() < deadline, f"still {len(records)} of {written} records after cleaning"
        time.sleep(0.5)
    return topic, low, high, written, records


@pytest.mark.compat("confluent-kafka", "compaction", "headers-nulls")
def test_the_cleaner_keeps_the_latest_record_of_each_key(compacted):
    topic, low, high, written, records = compacted
    assert (low, high) == (0, written), "cleaning moves neither the log start nor the end"
    offsets = [o for o, _, _ in records]
    assert offsets == sorted(set(offsets)), "offsets strictly increase"
    latest = live_values(records)
    assert {k: v for k, v in latest.items() if not k.startswith(b"filler")} == expected_latest()
    assert all(v is not None for _, _, v in records), "tombstones went after delete.retention.ms"


@pytest.mark.compat("kcat", "compaction")
def test_kcat_reads_the_compacted_log(broker, compacted):
    topic = compacted[0]
    out = subprocess.run(["kcat", "-C", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-o", "beginning",
                          "-e", "-q", "-f", "%o %k %s\\n"], capture_output=True, timeout=60, check=True)
    rows = [line.split(b" ", 2) for line in out.stdout.splitlines()]
    seen = {key: value for _, key, value in rows if not key.startswith(b"filler")}
    assert seen == expected_latest()
    assert [int(o) for o, _, _ in rows] == [o for o, _, _ in compacted[4]]


@pytest.mark.compat("kafka-python", "compaction")
def test_kafka_python_reads_the_compacted_log(broker, compacted):
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KpPartition

    topic, _, high, _, records = compacted
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=10000, **KAFKA_PYTHON_PROBE)
    try:
        tp = KpPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = []
        deadline = time.monotonic() + IO_DEADLINE_S
        while len(got) < len(records):
            assert time.monotonic() < deadline, f"kafka-python read {len(got)} of {len(records)}"
            for batch in consumer.poll(timeout_ms=1000).values():
                got.extend((m.offset, m.key, m.value) for m in batch)
        assert got == records
    finally:
        consumer.close()


@pytest.mark.compat("confluent-kafka", "compaction")
def test_an_unkeyed_record_is_refused_on_a_compacted_topic(broker):
    topic = unique("compacted-nokey")
    create_topic(broker.bootstrap, topic, 1, COMPACTED)
    p = Producer({"bootstrap.servers": broker.bootstrap, "retries": 0})
    errors = []
    p.produce(topic, value=b"no key", partition=0, on_delivery=lambda err, msg: errors.append(err))
    p.flush(30)
    p.produce(topic, key=b"k", value=b"keyed", partition=0)
    assert p.flush(30) == 0
    assert errors and errors[0] is not None and errors[0].code() == KafkaError.INVALID_RECORD, errors
    _, high, records = read_partition(broker.bootstrap, topic)
    assert [(k, v) for _, k, v in records] == [(b"k", b"keyed")], "nothing of the refused batch stored"


def test_an_idempotent_producer_goes_on_after_cleaning_and_a_crash():
    """The cleaner keeps each active producer's last batch, so the broker still knows the
    producer's sequence after cleaning and a crash: its next sends are accepted, not
    refused as out of order, and none is stored twice."""
    gen = running_broker(CLEANER_ARGS)
    broker = next(gen)
    try:
        topic = unique("compacted-idem")
        create_topic(broker.bootstrap, topic, 1, COMPACTED)
        p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "linger.ms": 0,
                      "batch.num.messages": 5})
        for r in range(40):
            for k in range(5):
                p.produce(topic, key=b"k%d" % k, value=b"%d" % r, partition=0)
            p.poll(0)
        assert p.flush(30) == 0
        deadline = time.monotonic() + IO_DEADLINE_S
        while len(read_partition(broker.bootstrap, topic)[2]) > 100:
            assert time.monotonic() < deadline, "not compacted"
            time.sleep(0.3)
        # SIGKILL: no producer snapshot is written, so the restart rebuilds producer state from
        # the compacted log itself.
        broker.kill()
        broker.start()
        errors = []
        for k in range(5):
            p.produce(topic, key=b"k%d" % k, value=b"after", partition=0,
                      on_delivery=lambda err, msg: errors.append(err))
        assert p.flush(60) == 0
        assert errors == [None] * 5, errors
        _, high, records = read_partition(broker.bootstrap, topic)
        assert high == 205, "every send stored once"
        assert live_values(records) == {b"k%d" % k: b"after" for k in range(5)}
    finally:
        gen.close()
