"""Topic compression with confluent-kafka against the broker binary: a topic's compression.type
makes the broker store every batch with that codec whatever the producer sent (checked on disk
with `chronik-walctl dump`), consumers read the records back unchanged, `producer` keeps each
producer's codec (librdkafka compresses with every codec, which it does only when ApiVersions
lists Produce from v0), and bad values are refused with INVALID_CONFIG and change nothing.
"""

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic, ResourceType

from harness import create_topic, read_partition, running_broker, stored_codecs, unique

RECORDS = 300


@pytest.fixture(scope="module")
def broker():
    yield from running_broker()


def produce(bootstrap, topic, codec):
    """Sends RECORDS values in several batches of `codec`; returns them in order."""
    p = Producer({"bootstrap.servers": bootstrap, "compression.codec": codec, "linger.ms": 5,
                  "batch.num.messages": 50})
    # Long and repetitive, so that even a batch of one record is smaller compressed: librdkafka
    # sends a batch uncompressed when compressing does not shrink it.
    values = [(f"value-{i}-" + "x" * (200 + i % 40)).encode() for i in range(RECORDS)]
    errors = []
    for v in values:
        p.produce(topic, value=v, partition=0, on_delivery=lambda err, _msg: err and errors.append(err))
    assert p.flush(30) == 0, "records left unsent"
    assert not errors, errors
    return values


@pytest.mark.compat("confluent-kafka", "topic-configs")
@pytest.mark.parametrize("sent,stored,target", [
    ("none", "gzip", "gzip"),
    ("gzip", "snappy", "snappy"),
    ("snappy", "lz4", "lz4"),
    ("lz4", "zstd", "zstd"),
    ("zstd", "none", "uncompressed"),
    ("gzip", "gzip", "producer"),
    ("snappy", "snappy", "producer"),
    ("lz4", "lz4", "producer"),
    ("zstd", "zstd", "producer"),
])
def test_batches_are_stored_with_the_topics_codec_and_read_back_unchanged(broker, sent, stored, target):
    topic = unique(f"compression-{target}")
    create_topic(broker.bootstrap, topic, 1, {"compression.type": target})
    values = produce(broker.bootstrap, topic, sent)
    _, high, records = read_partition(broker.bootstrap, topic)
    assert high == RECORDS
    assert [v for _, _, v in records] == values
    codecs = stored_codecs(broker, topic)
    assert len(codecs) > 1 and set(codecs) == {stored}, codecs


@pytest.mark.compat("confluent-kafka", "topic-configs")
def test_a_changed_compression_type_applies_to_the_next_batches(broker):
    topic = unique("compression-altered")
    admin = create_topic(broker.bootstrap, topic, 1)
    produce(broker.bootstrap, topic, "gzip")
    resource = ConfigResource(ResourceType.TOPIC, topic, set_config={"compression.type": "zstd",
                                                                     "compression.zstd.level": "10"})
    admin.alter_configs([resource])[resource].result(timeout=30)
    produce(broker.bootstrap, topic, "gzip")
    codecs = stored_codecs(broker, topic)
    first = codecs.index("zstd")
    assert set(codecs[:first]) == {"gzip"} and set(codecs[first:]) == {"zstd"}, codecs
    _, high, records = read_partition(broker.bootstrap, topic)
    assert high == 2 * RECORDS and len(records) == 2 * RECORDS
    described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])
    configs = list(described.values())[0].result(timeout=30)
    assert configs["compression.type"].value == "zstd"
    assert configs["compression.type"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["compression.zstd.level"].value == "10"
    assert configs["compression.gzip.level"].value == "-1"
    assert configs["leader.replication.throttled.replicas"].value == ""
    assert configs["remote.storage.enable"].value == "false"


@pytest.mark.compat("confluent-kafka", "topic-configs")
@pytest.mark.parametrize("name,value", [
    ("compression.type", "GZIP"),
    ("compression.type", "brotli"),
    ("compression.zstd.level", "23"),
    ("compression.gzip.level", "0"),
    ("compression.lz4.level", "18"),
    ("remote.storage.enable", "true"),
    ("leader.replication.throttled.replicas", "0-101"),
    ("segment.jitter.ms", "-1"),
    ("index.interval.bytes", "-1"),
])
def test_bad_values_are_refused_and_create_nothing(broker, name, value):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = unique("bad-config")
    fs = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config={name: value})])
    with pytest.raises(KafkaException) as refused:
        fs[topic].result(timeout=30)
    assert refused.value.args[0].name() == "INVALID_CONFIG", refused.value
    assert topic not in admin.list_topics(timeout=30).topics
