"""Idempotent producers and broker restarts, through confluent-kafka (librdkafka).

- An idempotent producer's records are stored exactly once and in order.
- A producer keeps producing across a clean broker restart: nothing lost, nothing doubled.
- SIGKILL under load with --fsync always: every acknowledged record is there after restart.
"""

import threading
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from harness import IO_DEADLINE_S, running_broker, create_topic, unique


@pytest.fixture
def broker():
    yield from running_broker(("--fsync", "always", "--num-partitions", "2", "--auto-create-topics", "false"))


def read_values(bootstrap, topic, partitions, expected):
    """Every value stored in the topic, per partition in offset order, waiting for `expected`."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"), "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        got = {p: [] for p in range(partitions)}
        deadline = time.monotonic() + IO_DEADLINE_S
        while sum(len(v) for v in got.values()) < expected and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error() is None:
                    got[m.partition()].append(m.value())
                elif m.error().code() != KafkaError._PARTITION_EOF:
                    raise AssertionError(f"consumer error: {m.error()}")
        extra = [m for m in c.consume(num_messages=1000, timeout=1.0) if m.error() is None]
        for m in extra:
            got[m.partition()].append(m.value())
        return got
    finally:
        c.close()


def idempotent_producer(bootstrap, **extra):
    conf = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "retries": 1000000,
        "retry.backoff.ms": 50,
        "message.timeout.ms": 120000,
    }
    conf.update(extra)
    return Producer(conf)


@pytest.mark.compat("confluent-kafka", "idempotence")
def test_idempotent_producer_writes_each_record_once(broker):
    topic = unique("idem")
    create_topic(broker.bootstrap, topic, 2)
    p = idempotent_producer(broker.bootstrap)
    errors = []
    for i in range(10_000):
        p.produce(topic, value=b"%d" % i, partition=i % 2, on_delivery=lambda e, m: e and errors.append(e))
        p.poll(0)
    assert p.flush(IO_DEADLINE_S) == 0
    assert errors == []
    got = read_values(broker.bootstrap, topic, 2, 10_000)
    for part in range(2):
        assert got[part] == [b"%d" % i for i in range(part, 10_000, 2)]


def produce_across(broker, topic, count, interrupt):
    """Produces `count` numbered records while `interrupt(broker)` runs once midway; returns
    the values acknowledged."""
    p = idempotent_producer(broker.bootstrap)
    acked, errors = [], []

    def on_delivery(err, msg):
        (errors if err is not None else acked).append(err or msg.value())

    started = threading.Event()
    worker = threading.Thread(target=lambda: (started.wait(), interrupt(broker)))
    worker.start()
    for i in range(count):
        while True:
            try:
                p.produce(topic, value=b"%06d" % i, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        if i == count // 3:
            started.set()
        if i % 100 == 0:
            time.sleep(0.001)
    started.set()
    worker.join(timeout=120)
    assert not worker.is_alive()
    remaining = p.flush(120)
    return acked, errors, remaining


@pytest.mark.compat("confluent-kafka", "restart", "idempotence")
def test_producer_continues_across_a_clean_restart(broker):
    topic = unique("restart")
    create_topic(broker.bootstrap, topic, 1)
    acked, errors, remaining = produce_across(broker, topic, 6000, lambda b: b.restart())
    assert remaining == 0 and errors == [], errors[:3]
    got = read_values(broker.bootstrap, topic, 1, 6000)[0]
    assert got == [b"%06d" % i for i in range(6000)], "each record exactly once, in order"


@pytest.mark.compat("confluent-kafka", "restart")
def test_sigkill_under_load_loses_no_acknowledged_record(broker):
    topic = unique("sigkill")
    create_topic(broker.bootstrap, topic, 1)

    def kill_and_restart(b):
        b.kill()
        b.start()

    acked, _errors, _remaining = produce_across(broker, topic, 6000, kill_and_restart)
    got = read_values(broker.bootstrap, topic, 1, len(acked))[0]
    missing = set(acked) - set(got)
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {sorted(missing)[:3]}"
    assert len(got) == len(set(got)), "no record stored twice"
