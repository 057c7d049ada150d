"""Several listeners on a 3-broker cluster (external quorum): every broker registers all its
listeners, and a client is told every broker's address on the listener it connected through.

Each broker has an INTERNAL listener (first: replication and the harness's readiness checks)
and an EXTERNAL one, both PLAINTEXT so no certificates are needed. A client bootstrapped on
broker 1's EXTERNAL port only must find brokers 2 and 3 at their EXTERNAL ports too.
"""

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import eventually, running_cluster
from harness import free_port, unique

PROTOCOLS = "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"


@pytest.fixture
def cluster():
    external = {}

    def listen(bid, port):
        external[bid] = free_port()
        listeners = f"INTERNAL://127.0.0.1:{port},EXTERNAL://127.0.0.1:{external[bid]}"
        return ["--listeners", listeners, "--listener-security-protocol-map", PROTOCOLS]

    for c in running_cluster(broker_listen_args=listen):
        c.external = external
        yield c


def brokers_seen(bootstrap):
    """{broker id: (host, port)} as a Metadata answer through `bootstrap` names them."""
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30)
    return {b.id: (b.host, b.port) for b in md.brokers.values()}


def test_a_client_is_told_every_broker_on_its_own_listener(cluster):
    external = f"127.0.0.1:{cluster.external[1]}"
    assert brokers_seen(external) == {b: ("127.0.0.1", p) for b, p in cluster.external.items()}
    assert brokers_seen(f"127.0.0.1:{cluster.ports[1]}") == {
        b: ("127.0.0.1", p) for b, p in cluster.ports.items()
    }
    listeners = {b["id"]: b["listeners"] for b in cluster.status()["brokers"]}
    assert listeners == {
        b: [f"INTERNAL://127.0.0.1:{cluster.ports[b]}", f"EXTERNAL://127.0.0.1:{cluster.external[b]}"]
        for b in cluster.ports
    }


def test_produce_and_consume_through_the_external_listener_of_one_broker(cluster):
    external = f"127.0.0.1:{cluster.external[1]}"
    topic = unique("outside")
    # Partition i led by broker i + 1 (its preferred leader): the client must reach all three.
    admin = AdminClient({"bootstrap.servers": external})
    assignment = [[1, 2, 3], [2, 3, 1], [3, 1, 2]]
    created = admin.create_topics([NewTopic(topic, len(assignment), replica_assignment=assignment)])
    created[topic].result(timeout=30)
    eventually(
        f"{topic} led by brokers 1, 2 and 3 with full ISRs",
        lambda: {p: (v["leader"], len(v["isr"])) for p, v in cluster.partitions(topic).items()}
        == {0: (1, 3), 1: (2, 3), 2: (3, 3)},
    )

    producer = Producer({"bootstrap.servers": external, "acks": "all"})
    errors, sent = [], {}
    for partition in range(3):
        for i in range(20):
            value = f"p{partition}-{i}".encode()
            sent.setdefault(partition, []).append(value)
            producer.produce(topic, value=value, partition=partition,
                             on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(60) == 0
    assert len(errors) == 60 and not any(errors), errors

    group = unique("outside-group")
    consumer = Consumer({"bootstrap.servers": external, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        got = {}

        def read_everything():
            msg = consumer.poll(1.0)
            if msg is not None:
                assert msg.error() is None, msg.error()
                got.setdefault(msg.partition(), []).append(msg.value())
            return got == sent

        eventually("every record read back through the EXTERNAL listener", read_everything)
        consumer.commit(asynchronous=False)
        committed = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=30)
        assert [tp.offset for tp in committed] == [20, 20, 20]
    finally:
        consumer.close()

    # The group's coordinator is named at its EXTERNAL address too.
    described = admin.describe_consumer_groups([group])[group].result(timeout=30)
    coordinator = described.coordinator
    assert (coordinator.host, coordinator.port) == ("127.0.0.1", cluster.external[coordinator.id])
