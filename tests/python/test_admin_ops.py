"""Operators' admin calls against 3 meta nodes and 3 brokers, with confluent-kafka's AdminClient
(librdkafka) and kafka-python's protocol classes: CreateTopics and CreatePartitions with a manual
replica assignment,
preferred and unclean leader elections (ElectLeaders), and replica reassignments
(AlterPartitionReassignments, ListPartitionReassignments) started, cancelled and finished.

The meta nodes run with the automatic preferred-leader election and the replica balancer off, so
only the elections the tests ask for move leadership. Every test starts its own cluster.
"""

import signal

import pytest
from confluent_kafka import ElectionType, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from kafka.protocol.admin import ListPartitionReassignmentsRequest_v0

from cluster import eventually, running_cluster
from harness import reassign, read_partition, send_request, unique

QUIET_CONTROLLER = ("--preferred-leader-interval-s", "3600", "--auto-balance", "false")


@pytest.fixture
def cluster():
    yield from running_cluster(meta_args=QUIET_CONTROLLER)


def manual(name, assignment):
    """A NewTopic with its replicas given per partition (librdkafka wants the partition count
    with it, and no replication factor)."""
    return NewTopic(name, num_partitions=len(assignment), replica_assignment=assignment)


def create(admin, topic):
    admin.create_topics([topic])[topic.topic].result(timeout=30)


def refusal(admin, topic):
    with pytest.raises(KafkaException) as info:
        create(admin, topic)
    return info.value.args[0].code()


def replicated_topic(cluster, prefix, replicas, records):
    """A new one-partition topic on `replicas`, fully in sync, holding `records` acknowledged
    records r0, r1, …; its name."""
    name = unique(prefix)
    create(AdminClient({"bootstrap.servers": cluster.bootstrap}), manual(name, [replicas]))
    cluster.wait_isr(name, len(replicas))
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(records):
        p.produce(name, f"r{i}".encode(), partition=0)
    assert p.flush(30) == 0
    return name


def elect(admin, kind, partitions):
    """{partition: error code (0 when elected)} of one ElectLeaders call."""
    results = admin.elect_leaders(kind, partitions).result(timeout=60)
    return {tp.partition: (err.code() if err is not None else 0) for tp, err in results.items()}


@pytest.mark.compat("confluent-kafka", "topics")
def test_manual_replica_assignment_places_replicas_as_given(cluster):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    name = unique("manual")
    create(admin, manual(name, [[2, 3, 1], [3, 1, 2]]))
    parts = eventually("the manual topic", lambda: cluster.partitions(name) or None)
    assert [parts[p]["replicas"] for p in (0, 1)] == [[2, 3, 1], [3, 1, 2]]
    assert [parts[p]["leader"] for p in (0, 1)] == [2, 3]
    grown = admin.create_partitions([NewPartitions(name, 3, replica_assignment=[[1, 2, 3]])])
    grown[name].result(timeout=30)
    parts = eventually("the new partition", lambda: len(cluster.partitions(name)) == 3 and cluster.partitions(name))
    assert parts[2]["replicas"] == [1, 2, 3]

    bad = unique("manual-bad")
    for assignment in ([[1, 9]], [[1, 1]]):
        code = refusal(admin, manual(bad, assignment))
        assert code == KafkaError.INVALID_REPLICA_ASSIGNMENT, assignment
    assert bad not in admin.list_topics(timeout=10).topics, "a refused topic was created"


@pytest.mark.compat("confluent-kafka", "admin-ops")
def test_preferred_election_moves_leadership_back_to_the_first_replica(cluster):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    name = unique("elect")
    create(admin, manual(name, [[2, 1, 3], [3, 1, 2]]))
    cluster.wait_isr(name, 3)
    # A controlled shutdown moves broker 2's leadership away; restarted, it rejoins the ISR
    # but, with automatic preferred elections off, does not lead again by itself.
    cluster.brokers[2].terminate()
    eventually("leadership to leave broker 2", lambda: cluster.leader_of(name, 0) not in (2, -1))
    cluster.start_broker(2)
    cluster.wait_isr(name, 3)
    assert cluster.leader_of(name, 0) != 2

    tps = [TopicPartition(name, 0), TopicPartition(name, 1)]
    assert elect(admin, ElectionType.PREFERRED, tps) == {0: 0, 1: KafkaError.ELECTION_NOT_NEEDED}
    assert cluster.leader_of(name, 0) == 2, "the answer came after the new leader was committed"
    unknown = elect(admin, ElectionType.PREFERRED, [TopicPartition(unique("nope"), 0)])
    assert list(unknown.values()) == [KafkaError.UNKNOWN_TOPIC_OR_PART]


@pytest.mark.compat("confluent-kafka", "admin-ops")
def test_unclean_election_revives_a_partition_whose_in_sync_replicas_are_gone(cluster):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    name = replicated_topic(cluster, "unclean", [1, 2], records=1)
    # Broker 2 dies and leaves the ISR; then broker 1, the last in-sync replica, dies too.
    cluster.brokers[2].signal(signal.SIGKILL)
    eventually("broker 2 out of the ISR", lambda: cluster.partitions(name)[0]["isr"] == [1])
    cluster.brokers[1].signal(signal.SIGKILL)
    eventually("the partition offline", lambda: cluster.leader_of(name, 0) == -1)
    cluster.start_broker(2)
    tp = [TopicPartition(name, 0)]
    assert elect(admin, ElectionType.PREFERRED, tp) == {0: KafkaError.PREFERRED_LEADER_NOT_AVAILABLE}
    assert cluster.leader_of(name, 0) == -1, "a clean election cannot pick broker 2"
    assert elect(admin, ElectionType.UNCLEAN, tp) == {0: 0}
    assert cluster.leader_of(name, 0) == 2
    assert elect(admin, ElectionType.UNCLEAN, tp) == {0: KafkaError.ELECTION_NOT_NEEDED}


def reassignments(bootstrap):
    """{(topic, partition): (replicas, adding, removing)} of every running reassignment."""
    resp = send_request(bootstrap, ListPartitionReassignmentsRequest_v0(timeout_ms=30_000, topics=None, tags={}))
    assert resp.error_code == 0, resp
    return {
        (name, index): (replicas, adding, removing)
        for name, partitions, _ in resp.topics
        for index, replicas, adding, removing, _ in partitions
    }


def test_reassignment_waits_for_its_new_replica_and_can_be_cancelled(cluster):
    name = replicated_topic(cluster, "moving", [1, 2], records=100)
    assert reassignments(cluster.bootstrap) == {}

    # Broker 3 is down: a reassignment onto it starts and waits for it.
    cluster.brokers[3].signal(signal.SIGKILL)
    eventually("broker 3 fenced", lambda: not cluster.live(3))
    assert reassign(cluster.bootstrap, name, 0, [3, 2]) == 0
    assert reassignments(cluster.bootstrap) == {(name, 0): ([3, 2, 1], [3], [1])}
    assert reassign(cluster.bootstrap, name, 0, None) == 0, "cancel"
    assert reassignments(cluster.bootstrap) == {}
    assert cluster.partitions(name)[0]["replicas"] == [1, 2]
    assert reassign(cluster.bootstrap, name, 0, None) == KafkaError.NO_REASSIGNMENT_IN_PROGRESS

    # Started again, it finishes once broker 3 is back and has caught up.
    assert reassign(cluster.bootstrap, name, 0, [3, 2]) == 0
    cluster.start_broker(3)
    eventually("the reassignment to finish", lambda: cluster.partitions(name)[0]["replicas"] == [3, 2])
    assert reassignments(cluster.bootstrap) == {}
    assert sorted(cluster.partitions(name)[0]["isr"]) == [2, 3]
    _, _, records = read_partition(cluster.bootstrap, name, 0)
    assert [v for _, _, v in records] == [f"r{i}".encode() for i in range(100)]

    # Bad targets and unknown partitions are refused and change nothing.
    assert reassign(cluster.bootstrap, name, 0, [3, 9]) == KafkaError.INVALID_REPLICA_ASSIGNMENT
    assert reassign(cluster.bootstrap, name, 0, [3, 3]) == KafkaError.INVALID_REPLICA_ASSIGNMENT
    assert reassign(cluster.bootstrap, unique("nope"), 0, [1]) == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert cluster.partitions(name)[0]["replicas"] == [3, 2]
