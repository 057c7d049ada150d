"""Fetch sessions (KIP-227) between replicas, against real processes: followers keep one
incremental session per leader, idle followers stay in sync while they send only what changed,
and acknowledged records still reach every replica.

The consumer side is shown with the Java client (tests/java, FetchSessionTests), which uses
fetch sessions; librdkafka and kafka-python do not.
"""

import pytest
from confluent_kafka import Producer

from cluster import eventually, running_cluster
from harness import read_partition, unique

PARTITIONS = 12
LAG_TIME_MS = 2000


@pytest.fixture
def cluster():
    yield from running_cluster(broker_args=("--replica-lag-time-max-ms", str(LAG_TIME_MS)))


def produce(bootstrap, topic, values):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    errors = []
    for i, v in enumerate(values):
        p.produce(topic, value=v, partition=i % PARTITIONS,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(60) == 0, "records left unacknowledged"
    assert errors == [], errors


def test_followers_fetch_in_sessions_and_idle_followers_stay_in_sync(cluster):
    topic = unique("sessions")
    cluster.create_topic(topic, PARTITIONS, 3)
    first = [b"a%d" % i for i in range(240)]
    produce(cluster.bootstrap, topic, first)

    leaders = {p["leader"] for p in cluster.partitions(topic).values()}
    assert len(leaders) == 3, f"leaders spread over the brokers: {leaders}"
    # Each leader is fetched from by the two other brokers, one session each.
    for b in leaders:
        eventually(f"broker {b} to hold its two followers' sessions",
                   lambda b=b: cluster.metric(b, "chronik_broker_fetch_sessions") == 2)

    # Idle for several lag times: the followers send empty incremental fetches, which must
    # still count as caught up.
    before = {b: cluster.metric(b, "chronik_broker_incremental_fetches_total") for b in leaders}
    idle_fetches = 4 * 3 * LAG_TIME_MS // 1000
    for b in leaders:
        eventually(f"broker {b} to serve {idle_fetches} more incremental fetches",
                   lambda b=b: cluster.metric(b, "chronik_broker_incremental_fetches_total") >= before[b] + idle_fetches,
                   timeout=60)
    isrs = {p: sorted(s["isr"]) for p, s in cluster.partitions(topic).items()}
    assert all(len(isr) == 3 for isr in isrs.values()), f"an idle follower left an ISR: {isrs}"

    second = [b"b%d" % i for i in range(240)]
    produce(cluster.bootstrap, topic, second)
    old_leader = cluster.leader_of(topic, 0)
    cluster.brokers[old_leader].kill()
    eventually("partition 0 to get a new leader",
               lambda: cluster.leader_of(topic, 0) not in (old_leader, -1, None))
    expected = first[0::PARTITIONS] + second[0::PARTITIONS]
    _, _, records = read_partition(cluster.bootstrap, topic, 0)
    assert [v for _, _, v in records] == expected, "acknowledged records reached the new leader"
