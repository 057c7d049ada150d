"""Admin APIs with real clients: confluent-kafka's AdminClient (librdkafka) and kafka-python's
KafkaAdminClient against the broker binary: topic configs (describe, alter, incremental alter),
CreatePartitions, DescribeCluster, configs refused with INVALID_CONFIG, and the configs
`__consumer_offsets` is created with (compacted, `--offsets-topic-segment-bytes`).
"""

import time

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from harness import DEFAULT_ARGS, IO_DEADLINE_S, KAFKA_PYTHON_PROBE, create_topic, running_broker, unique, wait_topic

DYNAMIC_TOPIC = ConfigSource.DYNAMIC_TOPIC_CONFIG.value
DEFAULT = ConfigSource.DEFAULT_CONFIG.value


@pytest.fixture(scope="module")
def broker():
    yield from running_broker()


@pytest.fixture(scope="module")
def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def wait_until(what, check, deadline_s=IO_DEADLINE_S):
    deadline = time.monotonic() + deadline_s
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def one(futures):
    """The result of the single future in an AdminClient answer."""
    (future,) = futures.values()
    return future.result(timeout=30)


def topic_configs(admin, name):
    return one(admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)]))


def kafka_error(fn):
    with pytest.raises(KafkaException) as info:
        fn()
    return info.value.args[0]


@pytest.mark.compat("confluent-kafka", "topic-configs")
def test_confluent_topic_configs_round_trip(broker, admin):
    name = unique("cfg")
    create_topic(broker.bootstrap, name, 1, {"retention.ms": "3600000", "segment.bytes": "1048576"})
    configs = topic_configs(admin, name)
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == DYNAMIC_TOPIC
    assert configs["cleanup.policy"].value == "delete"
    assert configs["cleanup.policy"].source == DEFAULT
    assert configs["max.message.bytes"].is_default

    ops = [
        ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("segment.bytes", None, incremental_operation=AlterConfigOpType.DELETE),
    ]
    one(admin.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, name, incremental_configs=ops)]))
    configs = topic_configs(admin, name)
    assert configs["retention.ms"].value == "7200000"
    assert configs["segment.bytes"].value == "1073741824"
    assert configs["segment.bytes"].source == DEFAULT

    append = [ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.APPEND)]
    err = kafka_error(
        lambda: one(admin.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, name, incremental_configs=append)]))
    )
    assert err.code() == KafkaError.INVALID_REQUEST, err

    one(admin.alter_configs([ConfigResource(ResourceType.TOPIC, name, set_config={"max.message.bytes": "5000"})]))
    configs = topic_configs(admin, name)
    dynamic = {k: e.value for k, e in configs.items() if e.source == DYNAMIC_TOPIC}
    assert dynamic == {"max.message.bytes": "5000"}, "AlterConfigs replaces all topic configs"

    bad = ConfigResource(ResourceType.TOPIC, name, set_config={"segment.bytes": "12"})
    err = kafka_error(lambda: one(admin.alter_configs([bad])))
    assert err.code() == KafkaError.INVALID_CONFIG and "segment.bytes" in err.str(), err

    brokers = one(admin.describe_configs([ConfigResource(ResourceType.BROKER, "1")]))
    assert brokers["node.id"].is_read_only and not brokers["log.retention.ms"].is_read_only
    one(admin.delete_topics([name], operation_timeout=30))


@pytest.mark.compat("confluent-kafka", "topic-configs")
def test_confluent_create_topic_refuses_bad_configs(admin):
    name = unique("bad")
    for config, text in [({"cleanup.policy": "shred"}, "unknown cleanup policy"), ({"retention.hours": "1"}, "unknown")]:
        fs = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, config=config)])
        err = kafka_error(lambda: one(fs))
        assert err.code() == KafkaError.INVALID_CONFIG and text in err.str(), err
        fs = admin.create_topics(
            [NewTopic(name, num_partitions=1, replication_factor=1, config=config)], validate_only=True
        )
        assert kafka_error(lambda: one(fs)).code() == KafkaError.INVALID_CONFIG
    assert name not in admin.list_topics(timeout=10).topics


@pytest.mark.compat("confluent-kafka", "partitions", "metadata")
def test_confluent_create_partitions_and_describe_cluster(broker, admin):
    name = unique("grow")
    create_topic(broker.bootstrap, name, 1)
    one(admin.create_partitions([NewPartitions(name, 3)], validate_only=True))
    assert len(admin.list_topics(timeout=10).topics[name].partitions) == 1
    one(admin.create_partitions([NewPartitions(name, 3)]))
    wait_topic(admin, name, 3)
    err = kafka_error(lambda: one(admin.create_partitions([NewPartitions(name, 2)])))
    assert err.code() == KafkaError.INVALID_PARTITIONS, err

    cluster = admin.describe_cluster(request_timeout=30).result(timeout=30)
    assert cluster.cluster_id
    assert cluster.controller.id == 1
    assert [(n.id, n.port) for n in cluster.nodes] == [(1, broker.port)]
    assert cluster.cluster_id == admin.list_topics(timeout=10).cluster_id
    one(admin.delete_topics([name], operation_timeout=30))
    wait_until("topic deleted", lambda: name not in admin.list_topics(timeout=10).topics)


@pytest.mark.compat("kafka-python", "topic-configs", "partitions")
def test_kafka_python_admin(broker):
    from kafka.admin import ConfigResource as KpResource
    from kafka.admin import ConfigResourceType, KafkaAdminClient
    from kafka.admin import NewPartitions as KpNewPartitions
    from kafka.errors import InvalidPartitionsError

    name = unique("kp")
    create_topic(broker.bootstrap, name, 1, {"retention.ms": "3600000"})
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000,
                              **KAFKA_PYTHON_PROBE)
    try:

        def describe():
            (resp,) = client.describe_configs([KpResource(ConfigResourceType.TOPIC, name)])
            error_code, _message, _type, resource_name, entries = resp.resources[0]
            assert (error_code, resource_name) == (0, name)
            return {e[0]: e[1] for e in entries}

        assert describe()["retention.ms"] == "3600000"
        resp = client.alter_configs([KpResource(ConfigResourceType.TOPIC, name, configs={"retention.ms": "1800000"})])
        assert resp.resources[0][0] == 0, resp
        configs = describe()
        assert configs["retention.ms"] == "1800000"
        assert configs["segment.bytes"] == "1073741824"

        (resp,) = client.describe_configs([KpResource(ConfigResourceType.BROKER, "1")])
        assert resp.resources[0][0] == 0
        assert "log.retention.ms" in {e[0] for e in resp.resources[0][4]}

        resp = client.create_partitions({name: KpNewPartitions(total_count=4)})
        assert [e[1] for e in resp.topic_errors] == [0], resp
        with pytest.raises(InvalidPartitionsError):
            client.create_partitions({name: KpNewPartitions(total_count=2)})
    finally:
        client.close()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    wait_topic(admin, name, 4)


@pytest.mark.compat("confluent-kafka", "delete-records")
def test_confluent_delete_records_moves_the_log_start(broker, admin):
    from confluent_kafka import Consumer, Producer, TopicPartition

    name = unique("trim")
    create_topic(broker.bootstrap, name, 1)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(20):
        producer.produce(name, value=b"%d" % i, partition=0)
    assert producer.flush(30) == 0

    (deleted,) = admin.delete_records([TopicPartition(name, 0, 12)]).values()
    assert deleted.result(timeout=30).low_watermark == 12
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(name, 0), timeout=30)
        assert (low, high) == (12, 20)
        # A consumer positioned below the start is reset to it.
        consumer.assign([TopicPartition(name, 0, 3)])
        msg = None
        deadline = time.monotonic() + IO_DEADLINE_S
        while msg is None or msg.error() is not None:
            assert time.monotonic() < deadline, "no record after the reset"
            msg = consumer.poll(1.0)
        assert (msg.offset(), msg.value()) == (12, b"12")
    finally:
        consumer.close()

    (beyond,) = admin.delete_records([TopicPartition(name, 0, 21)]).values()
    with pytest.raises(KafkaException) as info:
        beyond.result(timeout=30)
    assert info.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE
    (again,) = admin.delete_records([TopicPartition(name, 0, 5)]).values()
    assert again.result(timeout=30).low_watermark == 12, "a lower offset changes nothing"


def offsets_topic_configs(broker):
    """DescribeConfigs of `__consumer_offsets` on `broker`, once a group lookup made it create it."""
    from confluent_kafka import Consumer, TopicPartition

    name = unique("grouped")
    create_topic(broker.bootstrap, name, 1)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g"), "enable.auto.commit": False})
    try:
        # Finding the group's coordinator creates the offsets topic.
        wait_until("the group's committed offsets",
                   lambda: consumer.committed([TopicPartition(name, 0)], timeout=10)[0].offset < 0)
    finally:
        consumer.close()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    wait_until("__consumer_offsets in the metadata",
               lambda: "__consumer_offsets" in admin.list_topics(timeout=10).topics)
    return topic_configs(admin, "__consumer_offsets")


@pytest.fixture
def small_offsets_segments_broker():
    yield from running_broker((*DEFAULT_ARGS, "--offsets-topic-segment-bytes", "65536"))


def test_the_offsets_topic_is_compacted_with_the_configured_segment_bytes(broker, small_offsets_segments_broker):
    for b, segment_bytes in ((broker, "104857600"), (small_offsets_segments_broker, "65536")):
        configs = offsets_topic_configs(b)
        assert configs["cleanup.policy"].value == "compact"
        assert configs["cleanup.policy"].source == DYNAMIC_TOPIC
        assert configs["segment.bytes"].value == segment_bytes, f"{b.bootstrap}: {configs['segment.bytes']}"
        assert configs["segment.bytes"].source == DYNAMIC_TOPIC
