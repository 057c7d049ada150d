"""A librdkafka consumer tailing the head of an acks=all stream, round after round, on a broker
with --fsync always that runs a retention pass every 100 ms: every acknowledged record arrives,
in order, and the consumer is never told OFFSET_OUT_OF_RANGE (auto.offset.reset=error turns any
such answer into an error here instead of a silent skip).
"""

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from harness import IO_DEADLINE_S, create_topic, running_broker, unique

PARTITIONS = 3
ROUNDS = 30
PER_ROUND = 300

BROKER_ARGS = (
    "--fsync", "always",
    "--num-partitions", str(PARTITIONS),
    "--auto-create-topics", "false",
    "--retention-check-interval-ms", "100",
)


@pytest.fixture(scope="module")
def broker():
    yield from running_broker(BROKER_ARGS)


def tailing_consumer(broker, topic):
    c = Consumer({
        "bootstrap.servers": broker.bootstrap,
        "group.id": unique("tail"),
        "enable.auto.commit": False,
        "auto.offset.reset": "error",
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 100,
        # Small responses: most end at the size limit, with the last batch cut short.
        "max.partition.fetch.bytes": 2048,
    })
    # A fresh topic's head is offset 0.
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    return c


def test_librdkafka_consumer_tailing_an_acks_all_stream_gets_every_record(broker):
    topic = unique("tail")
    create_topic(broker.bootstrap, topic, PARTITIONS)
    producer = Producer({
        "bootstrap.servers": broker.bootstrap,
        "acks": "all",
        "linger.ms": 0,
    })
    consumer = tailing_consumer(broker, topic)
    started_ms = int(time.time() * 1000)
    delivered = {}
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered[(msg.partition(), msg.offset())] = msg.value()

    got = {}
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    try:
        for r in range(ROUNDS):
            # Odd rounds: the consumer's fetchers poll the head while the round is appended.
            # Even rounds: the consumer is paused until the round is acknowledged, then reads
            # it from a round behind the head, as a consumer that fell behind a little does.
            lagging = r % 2 == 0
            if lagging:
                consumer.pause(parts)
            for i in range(PER_ROUND):
                n = r * PER_ROUND + i
                producer.produce(topic, partition=n % PARTITIONS, value=b"%d" % n, on_delivery=on_delivery)
                producer.poll(0)
            if lagging:
                assert producer.flush(IO_DEADLINE_S) == 0, f"round {r}: records not delivered"
                consumer.resume(parts)
            want = (r + 1) * PER_ROUND
            deadline = time.monotonic() + IO_DEADLINE_S
            while len(got) < want:
                assert time.monotonic() < deadline, f"round {r}: consumed {len(got)} of {want}"
                producer.poll(0)
                for m in consumer.consume(num_messages=1000, timeout=0.2):
                    assert m.error() is None, f"round {r}, after {len(got)} records: {m.error()}"
                    key = (m.partition(), m.offset())
                    assert key not in got, f"{key} read twice"
                    ts_type, ts = m.timestamp()
                    assert ts >= started_ms - 60_000, f"{key} stamped {ts} (type {ts_type})"
                    got[key] = m.value()
            assert producer.flush(IO_DEADLINE_S) == 0, f"round {r}: records not delivered"
            assert errors == [], errors[:5]
    finally:
        consumer.close()

    assert got == delivered, "exactly the acknowledged records, at their offsets"
    for p in range(PARTITIONS):
        offsets = sorted(o for (q, o) in got if q == p)
        assert offsets == list(range(len(offsets))), f"partition {p} has gaps"
        values = [int(got[(p, o)]) for o in offsets]
        assert values == sorted(values), f"partition {p} out of send order"
