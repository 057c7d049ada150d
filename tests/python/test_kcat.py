"""kcat (librdkafka's command-line client) against the broker binary: metadata, producing with
each acks setting and codec, keys, headers and nulls, reading from an offset or a time, and a
balanced consumer group that commits.
"""

import json
import os
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from harness import DEFAULT_ARGS, IO_DEADLINE_S, create_topic, running_broker, stored_codecs, unique

# Groups form at once: nothing is gained by waiting for more members.
ARGS = (*DEFAULT_ARGS, "--group-initial-rebalance-delay-ms", "0")


@pytest.fixture(scope="module")
def broker():
    yield from running_broker(ARGS)


def kcat(broker, *args, stdin=None):
    out = subprocess.run(["kcat", "-b", broker.bootstrap, *args], input=stdin, capture_output=True,
                         timeout=IO_DEADLINE_S)
    assert out.returncode == 0, f"kcat {' '.join(args)} failed ({out.returncode}): {out.stderr!r}"
    return out.stdout


def consume_json(broker, topic, *args):
    """Every record of a topic from the given start (default: the beginning), as kcat's JSON."""
    out = kcat(broker, "-C", "-t", topic, "-e", "-q", "-J", *(args or ("-o", "beginning")))
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.compat("kcat", "metadata")
def test_kcat_lists_our_broker_and_a_topic(broker):
    topic = unique("kcat-md")
    create_topic(broker.bootstrap, topic, 3)
    md = json.loads(kcat(broker, "-L", "-J", "-t", topic))
    assert [b["name"] for b in md["brokers"]] == [broker.bootstrap], "our broker, and only it"
    (t,) = md["topics"]
    assert t["topic"] == topic and sorted(p["partition"] for p in t["partitions"]) == [0, 1, 2]


@pytest.mark.compat("kcat", "produce", "acks", "headers-nulls", "assign-seek")
@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_kcat_produces_keys_headers_and_nulls_with_acks(broker, acks):
    topic = unique(f"kcat-acks{acks}")
    create_topic(broker.bootstrap, topic, 2)
    lines = b"".join(b"k%d:v%d\n" % (i, i) for i in range(300)) + b"nullvalue:\n"
    kcat(broker, "-P", "-t", topic, "-p", "1", "-K", ":", "-Z", "-H", "origin=kcat", "-H", "empty=",
         "-X", f"acks={acks}", stdin=lines)
    got = consume_json(broker, topic, "-p", "1", "-o", "beginning")
    assert [m["offset"] for m in got] == list(range(301))
    assert [(m["key"], m["payload"]) for m in got] == [(f"k{i}", f"v{i}") for i in range(300)] + [("nullvalue", None)]
    assert all(m["headers"] == ["origin", "kcat", "empty", ""] for m in got), got[0]
    assert consume_json(broker, topic, "-p", "0", "-o", "beginning") == [], "only partition 1 written"
    # Reading from an absolute and a relative offset.
    assert [m["offset"] for m in consume_json(broker, topic, "-p", "1", "-o", "297")] == [297, 298, 299, 300]
    assert [m["payload"] for m in consume_json(broker, topic, "-p", "1", "-o", "-2")] == ["v299", None]


@pytest.mark.compat("kcat", "compression")
@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_kcat_compression_codecs(broker, codec):
    topic = unique(f"kcat-{codec}")
    create_topic(broker.bootstrap, topic, 1)
    values = [f"compressible payload {i % 10} " * 20 for i in range(2000)]
    kcat(broker, "-P", "-t", topic, "-p", "0", "-X", f"compression.codec={codec}", "-X", "linger.ms=50",
         stdin="".join(v + "\n" for v in values).encode())
    assert [m["payload"] for m in consume_json(broker, topic)] == values
    assert set(stored_codecs(broker, topic)) == {codec}, "the batches were stored compressed"


@pytest.mark.compat("kcat", "large-records")
def test_kcat_one_mib_record(broker):
    topic = unique("kcat-big")
    create_topic(broker.bootstrap, topic, 1)
    big = os.urandom(1 << 19).hex()  # 1 MiB of text
    kcat(broker, "-P", "-t", topic, "-p", "0", "-X", "message.max.bytes=4194304", stdin=f"{big}\nafter\n".encode())
    got = consume_json(broker, topic, "-o", "beginning", "-X", "fetch.message.max.bytes=4194304")
    assert [m["payload"] for m in got] == [big, "after"]


@pytest.mark.compat("kcat", "offsets-for-times")
def test_kcat_reads_from_a_timestamp(broker):
    topic = unique("kcat-times")
    create_topic(broker.bootstrap, topic, 1)
    # An hour ago: before every other record, and young enough that retention keeps it.
    base = int(time.time() * 1000) - 3_600_000
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(10):
        producer.produce(topic, value=b"t%d" % i, partition=0, timestamp=base + i * 1000)
        assert producer.flush(IO_DEADLINE_S) == 0
    got = consume_json(broker, topic, "-p", "0", "-o", f"s@{base + 3500}")
    assert [(m["offset"], m["payload"], m["ts"]) for m in got] == [(o, f"t{o}", base + o * 1000) for o in range(4, 10)]


@pytest.mark.compat("kcat", "groups")
def test_kcat_balanced_consumer_reads_everything_and_commits(broker):
    topic, group = unique("kcat-grp-topic"), unique("kcat-grp")
    create_topic(broker.bootstrap, topic, 3)
    kcat(broker, "-P", "-t", topic, "-K", ":", stdin=b"".join(b"k%d:%d\n" % (i, i) for i in range(300)))
    out = kcat(broker, "-G", group, "-e", "-q", "-f", "%p %o %s\\n", "-X", "auto.offset.reset=earliest",
               "-X", "enable.auto.commit=true", "-X", "auto.commit.interval.ms=100", topic)
    rows = [line.split() for line in out.decode().splitlines()]
    assert sorted(int(v) for _, _, v in rows) == list(range(300)), "each record once"
    ends = {}
    for p, o, _ in rows:
        ends[int(p)] = max(ends.get(int(p), -1), int(o) + 1)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=30)
    finally:
        consumer.close()
    assert {tp.partition: tp.offset for tp in committed} == ends, "kcat committed where it stopped"
