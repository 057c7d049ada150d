"""Topic timestamp configs with confluent-kafka against the broker binary: LogAppendTime
stamps each batch with the broker's time (the delivery report and the consumer see it), the
before/after bounds refuse a producer's timestamps too far from the broker's clock with
INVALID_TIMESTAMP and store nothing, and the configs Kafka 3 keeps only for compatibility are
accepted and reported.
"""

import time

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, ResourceType

from harness import create_topic, running_broker, unique

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def broker():
    yield from running_broker()


def produce(bootstrap, topic, timestamp=0):
    """Produces one record (at `timestamp`, or now when 0); returns its delivery report's
    (error, timestamp)."""
    p = Producer({"bootstrap.servers": bootstrap, "retries": 0})
    out = []
    p.produce(topic, value=b"v", timestamp=timestamp, on_delivery=lambda err, msg: out.append((err, msg.timestamp())))
    p.flush(30)
    assert out, "no delivery report"
    return out[0]


def read(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"), "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is not None and msg.error() is None:
                return msg
        raise AssertionError(f"nothing read from {topic}")
    finally:
        c.close()


@pytest.mark.compat("confluent-kafka", "topic-configs")
def test_log_append_time_stamps_batches_with_the_brokers_time(broker):
    topic = unique("append-time")
    create_topic(broker.bootstrap, topic, 1, {"message.timestamp.type": "LogAppendTime"})
    old = int(time.time() * 1000) - 5 * HOUR_MS
    before = int(time.time() * 1000)
    err, (kind, stamped) = produce(broker.bootstrap, topic, timestamp=old)
    after = int(time.time() * 1000)
    assert err is None, err
    assert kind == TIMESTAMP_LOG_APPEND_TIME and before - 1000 <= stamped <= after + 1000, (kind, stamped)
    kind, ts = read(broker.bootstrap, topic).timestamp()
    assert (kind, ts) == (TIMESTAMP_LOG_APPEND_TIME, stamped), "the consumer sees the append time"


@pytest.mark.compat("confluent-kafka", "topic-configs")
def test_timestamps_outside_the_bounds_are_refused_and_not_stored(broker):
    topic = unique("bounded")
    create_topic(broker.bootstrap, topic, 1, {
        "message.timestamp.before.max.ms": str(HOUR_MS),
        "message.timestamp.after.max.ms": "60000",
    })
    now = int(time.time() * 1000)
    for ts in (now - 2 * HOUR_MS, now + 10 * 60_000):
        err, _ = produce(broker.bootstrap, topic, timestamp=ts)
        assert err is not None and err.code() == KafkaError.INVALID_TIMESTAMP, (ts, err)
    err, _ = produce(broker.bootstrap, topic, timestamp=now - 30 * 60_000)
    assert err is None, err
    msg = read(broker.bootstrap, topic)
    assert msg.offset() == 0 and msg.timestamp() == (TIMESTAMP_CREATE_TIME, now - 30 * 60_000), \
        "only the record within the bounds was stored"


@pytest.mark.compat("confluent-kafka", "topic-configs")
def test_compatibility_configs_are_accepted_and_reported(broker):
    topic = unique("compat-configs")
    given = {"message.format.version": "2.8", "preallocate": "true", "message.downconversion.enable": "false",
             "segment.index.bytes": "4096", "file.delete.delay.ms": "1000",
             "message.timestamp.difference.max.ms": "86400000"}
    create_topic(broker.bootstrap, topic, 1, given)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    (future,) = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)]).values()
    configs = future.result(timeout=30)
    for key, value in given.items():
        assert configs[key].value == value and configs[key].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, key
    assert configs["message.timestamp.type"].value == "CreateTime"
    assert configs["message.timestamp.type"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["message.timestamp.before.max.ms"].value == "9223372036854775807"
