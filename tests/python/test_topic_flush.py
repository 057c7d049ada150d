"""Per-topic fsync policy with confluent-kafka against the broker binary (`--fsync always`): a
topic with `flush.messages` at Kafka's unbounded value acknowledges produces without waiting
for an fsync, a default topic's produces each wait for one, and a `flush.messages=1` set later
by IncrementalAlterConfigs applies to the topic's open log at once. The broker's counter of
appends released by an fsync (`chronik_wal_flushed_appends_total`) tells them apart.
"""

import time
import urllib.request

from confluent_kafka import Producer
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from harness import IO_DEADLINE_S, BrokerProcess, create_topic, free_port, unique

UNBOUNDED = "9223372036854775807"
FLUSHED = "chronik_wal_flushed_appends_total"


def metric(addr, name):
    text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
    found = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(found[0]) if found else None


def metric_at_least(addr, name, value):
    """The metric once it reaches `value` (it is sampled every 2 s)."""
    deadline = time.monotonic() + IO_DEADLINE_S
    while True:
        now = metric(addr, name)
        if now is not None and now >= value:
            return now
        assert time.monotonic() < deadline, f"{name} stayed at {now}, below {value}"
        time.sleep(0.2)


def produce_one_by_one(bootstrap, topic, count):
    """`count` produce requests of one record each, each acknowledged before the next."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(count):
        p.produce(topic, value=b"%d" % i, partition=0)
        assert p.flush(IO_DEADLINE_S) == 0


def test_flush_messages_decides_whether_produces_wait_for_an_fsync():
    metrics = f"127.0.0.1:{free_port()}"
    b = BrokerProcess(("--fsync", "always", "--auto-create-topics", "false", "--metrics-addr", metrics)).start()
    try:
        loose, strict = unique("flush-loose"), unique("flush-strict")
        admin = create_topic(b.bootstrap, loose, 1, {"flush.messages": UNBOUNDED})
        create_topic(b.bootstrap, strict, 1)
        before = metric_at_least(metrics, FLUSHED, 0)

        produce_one_by_one(b.bootstrap, loose, 30)
        produce_one_by_one(b.bootstrap, strict, 1)
        after = metric_at_least(metrics, FLUSHED, before + 1)
        assert after == before + 1, "only the default topic's produce waited for an fsync"

        change = ConfigResource(ResourceType.TOPIC, loose, incremental_configs=[
            ConfigEntry("flush.messages", "1", incremental_operation=AlterConfigOpType.SET)])
        admin.incremental_alter_configs([change])[change].result(timeout=30)
        produce_one_by_one(b.bootstrap, loose, 1)
        assert metric_at_least(metrics, FLUSHED, after + 1) == after + 1

        described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, strict)])
        configs = list(described.values())[0].result(timeout=30)
        assert configs["flush.messages"].value == "1", "--fsync always is flush.messages=1"
        assert configs["flush.ms"].value == UNBOUNDED
    finally:
        b.cleanup()
