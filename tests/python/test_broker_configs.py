"""Broker configs changed at runtime, through confluent-kafka's admin client against the broker
binary: the topic defaults a broker holds (log.retention.ms, message.max.bytes, ...) set with
IncrementalAlterConfigs, shown by DescribeConfigs with their source, followed at once by
Produce and retention, kept across a restart, and refused when read-only or invalid; on a
cluster (3 chronik-meta + 3 chronik-broker processes), the cluster-wide values reach every
broker and one broker's own values stay its own.

librdkafka cannot address the cluster-wide broker resource (named ""): the cluster test sets it
with kafka-python's protocol layer, and the Java client's tests (tests/java, BrokerConfigTests)
use it through the AdminClient."""

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    ResourceType,
)

from kafka.protocol.admin import AlterConfigsRequest_v0

from cluster import eventually, running_cluster
from harness import DEFAULT_ARGS, create_topic, running_broker, send_request, unique

DYNAMIC_BROKER = ConfigSource.DYNAMIC_BROKER_CONFIG.value
DEFAULT = ConfigSource.DEFAULT_CONFIG.value
SET, DELETE = AlterConfigOpType.SET, AlterConfigOpType.DELETE
BROKER = 4


@pytest.fixture
def broker():
    yield from running_broker((*DEFAULT_ARGS, "--retention-check-interval-ms", "200"))


def alter(admin, *ops):
    """IncrementalAlterConfigs of broker 1: ops are (name, value, operation)."""
    entries = [ConfigEntry(name, value, incremental_operation=op) for name, value, op in ops]
    resource = ConfigResource(ResourceType.BROKER, "1", incremental_configs=entries)
    admin.incremental_alter_configs([resource])[resource].result(timeout=30)


def describe(admin, resource_type, name):
    resource = ConfigResource(resource_type, name)
    return admin.describe_configs([resource])[resource].result(timeout=30)


def refusal(fn):
    with pytest.raises(KafkaException) as info:
        fn()
    return info.value.args[0]


@pytest.mark.compat("confluent-kafka", "broker-configs")
def test_a_broker_config_set_at_runtime_is_the_default_of_every_topic_without_its_own(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic, pinned = unique("dyn"), unique("pinned")
    create_topic(broker.bootstrap, topic, 1)
    create_topic(broker.bootstrap, pinned, 1, {"retention.ms": "1000"})
    configs = describe(admin, ResourceType.BROKER, "1")
    assert configs["log.retention.ms"].source == DEFAULT and not configs["log.retention.ms"].is_read_only
    assert configs["node.id"].is_read_only

    alter(admin, ("log.retention.ms", "3600000", SET))
    retention = describe(admin, ResourceType.BROKER, "1")["log.retention.ms"]
    assert (retention.value, retention.source) == ("3600000", DYNAMIC_BROKER)
    assert retention.is_read_only is False
    of_topic = describe(admin, ResourceType.TOPIC, topic)["retention.ms"]
    assert (of_topic.value, of_topic.source) == ("3600000", DYNAMIC_BROKER)
    assert describe(admin, ResourceType.TOPIC, pinned)["retention.ms"].value == "1000"

    alter(admin, ("log.retention.ms", None, DELETE))
    of_topic = describe(admin, ResourceType.TOPIC, topic)["retention.ms"]
    assert (of_topic.value, of_topic.source) == ("604800000", DEFAULT)


@pytest.mark.compat("confluent-kafka", "broker-configs")
def test_produce_and_retention_follow_a_changed_broker_config_at_once(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = unique("live")
    create_topic(broker.bootstrap, topic, 1)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})

    def produce(size):
        results = []
        producer.produce(topic, b"x" * size, on_delivery=lambda err, msg: results.append(err))
        producer.flush(30)
        return results[0]

    assert produce(5000) is None
    alter(admin, ("message.max.bytes", "2000", SET))
    err = produce(5000)
    assert err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    alter(admin, ("message.max.bytes", None, DELETE))
    assert produce(5000) is None

    # Segments now roll once 50 ms old and are deleted a second after: the log start moves
    # past what was written before.
    alter(admin, ("log.roll.ms", "50", SET), ("log.retention.ms", "1000", SET))
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("watermarks")})

    def log_start_moved():
        assert produce(100) is None
        low, _ = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return low > 0

    try:
        eventually("retention to delete the old segments", log_start_moved, timeout=60)
    finally:
        consumer.close()


@pytest.mark.compat("confluent-kafka", "broker-configs")
def test_broker_configs_survive_a_restart(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    alter(admin, ("compression.type", "zstd", SET))
    broker.restart()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    compression = describe(admin, ResourceType.BROKER, "1")["compression.type"]
    assert (compression.value, compression.source) == ("zstd", DYNAMIC_BROKER)


@pytest.mark.compat("confluent-kafka", "broker-configs")
def test_read_only_unknown_and_invalid_broker_configs_are_refused_and_change_nothing(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    before = {name: e.value for name, e in describe(admin, ResourceType.BROKER, "1").items()}
    for name, value, text in [
        ("node.id", "7", "cannot change at runtime"),
        ("num.partitions", "7", "cannot change at runtime"),
        ("no.such.config", "1", "cannot change at runtime"),
        ("log.retention.ms", "soon", "not a number"),
        ("log.segment.bytes", "1", "must be between"),
    ]:
        err = refusal(lambda: alter(admin, ("log.roll.ms", "1000", SET), (name, value, SET)))
        assert err.code() == KafkaError.INVALID_CONFIG and text in err.str(), (name, err)
    after = {name: e.value for name, e in describe(admin, ResourceType.BROKER, "1").items()}
    assert after == before


@pytest.fixture
def cluster():
    yield from running_cluster()


@pytest.mark.compat("confluent-kafka", "broker-configs")
def test_on_a_cluster_the_cluster_wide_configs_reach_every_broker_and_a_brokers_own_stay_its_own(cluster):
    topic = unique("cluster-dyn")
    cluster.create_topic(topic, 3, 1)
    led_by = {p["leader"]: index for index, p in cluster.partitions(topic).items()}
    assert sorted(led_by) == [1, 2, 3], f"one partition led by each broker: {led_by}"
    # The broker resource named "" (librdkafka cannot address it): through the protocol layer.
    request = AlterConfigsRequest_v0(resources=[(BROKER, "", [("log.retention.ms", "3600000")])],
                                     validate_only=False)
    [(code, message, _, _)] = send_request(cluster.bootstrap, request).resources
    assert code == 0, message
    for bid, port in cluster.ports.items():
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"})
        eventually(f"broker {bid} to show the cluster-wide value",
                   lambda admin=admin, bid=bid: describe(admin, ResourceType.BROKER, str(bid))["log.retention.ms"].source
                   == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)

    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    resource = ConfigResource(ResourceType.BROKER, "2", incremental_configs=[
        ConfigEntry("message.max.bytes", "2000", incremental_operation=SET)])
    admin.incremental_alter_configs([resource])[resource].result(timeout=30)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 0})
    outcome = {}
    for leader, partition in led_by.items():
        producer.produce(topic, b"x" * 5000, partition=partition,
                         on_delivery=lambda err, msg, leader=leader: outcome.__setitem__(leader, err))
    producer.flush(30)
    assert outcome[1] is None and outcome[3] is None, outcome
    assert outcome[2] is not None and outcome[2].code() == KafkaError.MSG_SIZE_TOO_LARGE, outcome
