"""Consumer groups with real clients: confluent-kafka consumers sharing and rebalancing a topic,
committed offsets surviving a broker restart, kafka-python's group commits, and the AdminClient
group APIs.
"""

import time
import warnings

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, Producer, TopicPartition
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer
from kafka import TopicPartition as KTopicPartition

from harness import IO_DEADLINE_S, KAFKA_PYTHON_PROBE, running_broker, create_topic, unique

GROUP_DEADLINE_S = 60.0


@pytest.fixture
def broker():
    yield from running_broker()


def consumer(bootstrap, group, **extra):
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "partition.assignment.strategy": "range",
        **extra,
    }
    return Consumer(conf)


def produce(bootstrap, topic, partitions, per_partition, start):
    """Produces `per_partition` records to each partition, valued '<partition>:<index>'."""
    p = Producer({"bootstrap.servers": bootstrap})
    for part in range(partitions):
        for i in range(start, start + per_partition):
            p.produce(topic, value=f"{part}:{i}".encode(), partition=part)
    assert p.flush(IO_DEADLINE_S) == 0, "records not delivered"


def wait_for(what, condition, deadline_s=GROUP_DEADLINE_S):
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)  # polling interval between checks, not a synchronization point


def poll_into(c, got, timeout=0.2):
    """One poll; a record is appended to `got` as (partition, offset, value)."""
    msg = c.poll(timeout)
    if msg is not None:
        assert msg.error() is None, msg.error()
        got.append((msg.partition(), msg.offset(), msg.value().decode()))


@pytest.mark.compat("confluent-kafka", "groups", "restart")
def test_group_splits_rebalances_and_resumes_after_restart(broker):
    topic, group = unique("grp-topic"), unique("grp")
    create_topic(broker.bootstrap, topic, 4)
    c1, c2 = consumer(broker.bootstrap, group), consumer(broker.bootstrap, group)
    c1.subscribe([topic])
    c2.subscribe([topic])
    got1, got2 = [], []

    def split():
        poll_into(c1, got1)
        poll_into(c2, got2)
        a1 = {tp.partition for tp in c1.assignment()}
        a2 = {tp.partition for tp in c2.assignment()}
        return a1 and a2 and not (a1 & a2) and a1 | a2 == {0, 1, 2, 3}

    wait_for("the two consumers to split the partitions", split)
    assign1 = {tp.partition for tp in c1.assignment()}
    produce(broker.bootstrap, topic, 4, 10, 0)
    wait_for("40 records", lambda: (poll_into(c1, got1), poll_into(c2, got2)) and len(got1) + len(got2) >= 40)
    assert {p for p, _, _ in got1} <= assign1, "c1 read only its own partitions"
    assert not {p for p, _, _ in got2} & assign1, "c2 read only its own partitions"
    assert sorted(v for _, _, v in got1 + got2) == sorted(f"{p}:{i}" for p in range(4) for i in range(10))
    c1.commit(asynchronous=False)
    c2.commit(asynchronous=False)

    c2.close()  # leaves the group: c1 gets every partition
    wait_for("c1 to own all partitions", lambda: poll_into(c1, got1) or len(c1.assignment()) == 4)
    produce(broker.bootstrap, topic, 4, 5, 10)
    more = []
    wait_for("20 more records", lambda: poll_into(c1, more) or len(more) >= 20)
    assert sorted((p, o) for p, o, _ in more) == [(p, o) for p in range(4) for o in range(10, 15)]
    # Commit a point inside what was read: the restarted group must resume exactly there.
    c1.commit(offsets=[TopicPartition(topic, p, 12) for p in range(4)], asynchronous=False)
    committed = c1.committed([TopicPartition(topic, p) for p in range(4)], timeout=10)
    assert [tp.offset for tp in committed] == [12, 12, 12, 12]
    c1.close()

    broker.restart()
    c3 = consumer(broker.bootstrap, group)
    c3.subscribe([topic])
    resumed = []
    wait_for("the records after the committed point", lambda: poll_into(c3, resumed) or len(resumed) >= 12)
    assert sorted((p, o) for p, o, _ in resumed) == [(p, o) for p in range(4) for o in range(12, 15)], (
        "nothing lost, nothing before the committed offset re-delivered"
    )
    positions = c3.position([TopicPartition(topic, p) for p in range(4)])
    assert [tp.offset for tp in positions] == [15, 15, 15, 15]
    c3.close()


def partitions_of(c):
    return sorted(tp.partition for tp in c.assignment())


@pytest.mark.compat("confluent-kafka", "groups", "cooperative-sticky")
def test_confluent_cooperative_sticky_moves_only_the_partitions_it_must(broker):
    topic, group = unique("coop-topic"), unique("coop")
    create_topic(broker.bootstrap, topic, 4)
    coop = {"partition.assignment.strategy": "cooperative-sticky"}
    first, second = consumer(broker.bootstrap, group, **coop), consumer(broker.bootstrap, group, **coop)
    revoked = []
    try:
        first.subscribe([topic], on_revoke=lambda _c, ps: revoked.extend(p.partition for p in ps))
        wait_for("the first member to own all 4 partitions", lambda: first.poll(0.1) or partitions_of(first) == [0, 1, 2, 3])
        second.subscribe([topic])

        def split():
            first.poll(0.05)
            second.poll(0.05)
            return len(partitions_of(first)) == 2 and len(partitions_of(second)) == 2

        wait_for("the two members to own 2 partitions each", split)
        assert sorted(revoked) == partitions_of(second), "the first member gave up only what moved"
        assert sorted(partitions_of(first) + partitions_of(second)) == [0, 1, 2, 3]
        second.close()
        wait_for("the first member to own all 4 again", lambda: first.poll(0.1) or partitions_of(first) == [0, 1, 2, 3])
        assert len(revoked) == 2, "taking the partitions back revoked nothing more"
    finally:
        first.close()
        second.close()


@pytest.mark.compat("confluent-kafka", "static-membership")
def test_confluent_static_member_restart_keeps_its_partitions_without_a_rebalance(broker):
    topic, group = unique("static-topic"), unique("static")
    create_topic(broker.bootstrap, topic, 4)
    members = {name: consumer(broker.bootstrap, group, **{"group.instance.id": name}) for name in ("a", "b")}
    revoked_b = []
    try:
        members["a"].subscribe([topic])
        members["b"].subscribe([topic], on_revoke=lambda _c, ps: revoked_b.extend(ps))

        def split():
            for c in members.values():
                c.poll(0.05)
            return all(len(partitions_of(c)) == 2 for c in members.values())

        wait_for("the two static members to own 2 partitions each", split)
        before = {name: partitions_of(c) for name, c in members.items()}
        # A static member leaves without LeaveGroup; back within its session, it is replaced in place.
        members["a"].close()
        members["a"] = consumer(broker.bootstrap, group, **{"group.instance.id": "a"})
        members["a"].subscribe([topic])
        wait_for("the restarted member to get its partitions back", split)
        assert {name: partitions_of(c) for name, c in members.items()} == before
        assert revoked_b == [], "the other member was not rebalanced"
    finally:
        for c in members.values():
            c.close()


@pytest.mark.compat("kafka-python", "groups")
def test_kafka_python_group_commit_and_committed(broker):
    topic, group = unique("kp-topic"), unique("kp-grp")
    create_topic(broker.bootstrap, topic, 1)
    produce(broker.bootstrap, topic, 1, 5, 0)
    kc = KafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=int(IO_DEADLINE_S * 1000),
        **KAFKA_PYTHON_PROBE,
    )
    try:
        values = []
        for msg in kc:
            values.append(msg.value.decode())
            if len(values) == 5:
                break
        assert values == [f"0:{i}" for i in range(5)]
        kc.commit()
        committed = kc.committed(KTopicPartition(topic, 0))
        assert getattr(committed, "offset", committed) == 5
    finally:
        kc.close()


@pytest.mark.compat("confluent-kafka", "group-admin")
def test_admin_lists_describes_offsets_and_deletes_groups(broker):
    topic, group = unique("adm-topic"), unique("adm-grp")
    create_topic(broker.bootstrap, topic, 2)
    produce(broker.bootstrap, topic, 2, 3, 0)
    c = consumer(broker.bootstrap, group, **{"client.id": "admin-test"})
    c.subscribe([topic])
    got = []
    wait_for("6 records", lambda: poll_into(c, got) or len(got) >= 6)
    c.commit(asynchronous=False)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})

    listed = admin.list_consumer_groups().result(timeout=30)
    assert group in {g.group_id for g in listed.valid}
    desc = admin.describe_consumer_groups([group])[group].result(timeout=30)
    assert desc.state == ConsumerGroupState.STABLE
    assert [m.client_id for m in desc.members] == ["admin-test"]
    assert {tp.partition for tp in desc.members[0].assignment.topic_partitions} == {0, 1}
    req = [ConsumerGroupTopicPartitions(group)]
    offsets = admin.list_consumer_group_offsets(req)[group].result(timeout=30)
    assert sorted((tp.partition, tp.offset) for tp in offsets.topic_partitions) == [(0, 3), (1, 3)]

    c.close()
    wait_for(
        "the group to become empty",
        lambda: admin.describe_consumer_groups([group])[group].result(timeout=30).state
        == ConsumerGroupState.EMPTY,
    )
    admin.delete_consumer_groups([group])[group].result(timeout=30)
    listed = admin.list_consumer_groups().result(timeout=30)
    assert group not in {g.group_id for g in listed.valid}


def test_admin_cannot_delete_or_reconfigure_the_offsets_topic(broker):
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import ConfigResource

    topic, group = unique("guard-topic"), unique("guard-grp")
    create_topic(broker.bootstrap, topic, 1)
    produce(broker.bootstrap, topic, 1, 2, 0)
    c = consumer(broker.bootstrap, group)
    c.subscribe([topic])
    got = []
    wait_for("2 records", lambda: poll_into(c, got) or len(got) >= 2)
    c.commit(asynchronous=False)

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    with pytest.raises(KafkaException) as deleted:
        admin.delete_topics(["__consumer_offsets"])["__consumer_offsets"].result(timeout=30)
    assert deleted.value.args[0].code() == KafkaError.INVALID_REQUEST
    res = ConfigResource("topic", "__consumer_offsets", set_config={"retention.ms": "1000"})
    # Deliberately the legacy AlterConfigs API (the Rust tests cover the incremental one).
    with pytest.raises(KafkaException) as altered, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        admin.alter_configs([res])[res].result(timeout=30)
    assert altered.value.args[0].code() == KafkaError.INVALID_REQUEST
    # The group and its offsets are untouched.
    committed = c.committed([TopicPartition(topic, 0)], timeout=30)
    assert committed[0].offset == 2
    c.close()


def test_consumer_lag_is_exported_per_group_and_partition():
    import urllib.request

    from harness import DEFAULT_ARGS, BrokerProcess, free_port

    metrics = f"127.0.0.1:{free_port()}"
    b = BrokerProcess((*DEFAULT_ARGS, "--metrics-addr", metrics)).start()
    try:
        topic, group = unique("lagging"), unique("lag")
        create_topic(b.bootstrap, topic, 1)
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(100):
            p.produce(topic, value=b"%d" % i, partition=0)
        assert p.flush(IO_DEADLINE_S) == 0
        c = consumer(b.bootstrap, group)
        c.assign([TopicPartition(topic, 0, 0)])
        c.commit(offsets=[TopicPartition(topic, 0, 40)], asynchronous=False)
        c.close()
        series = f'chronik_broker_consumer_group_lag{{group="{group}",topic="{topic}",partition="0"}}'
        deadline = time.monotonic() + GROUP_DEADLINE_S
        while True:
            text = urllib.request.urlopen(f"http://{metrics}/metrics", timeout=5).read().decode()
            found = [line.split()[-1] for line in text.splitlines() if line.startswith(series)]
            if found and float(found[0]) == 60.0:
                break
            assert time.monotonic() < deadline, f"lag not 60: {found}"
            time.sleep(0.2)
    finally:
        b.cleanup()
