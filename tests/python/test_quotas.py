"""Client quotas on a cluster (3 chronik-meta + 3 chronik-broker processes): a quota set
through one broker is stored in the metadata and enforced by every broker; a client without a
quota is never throttled; invalid quotas are refused and change nothing.

The admin calls and the produce and fetch rates held to 1 MiB/s are shown with the Java client
(tests/java, QuotaTests); confluent-kafka has no client-quota admin calls, so these tests send
AlterClientQuotas with kafka-python's protocol layer.
"""

import json

import pytest
from confluent_kafka import Producer
from kafka.protocol.admin import DescribeClientQuotasRequest_v0
from kafka.protocol.api import Request, Response
from kafka.protocol.types import Array, Boolean, Float64, Int16, Int32, Schema, String

from cluster import eventually, running_cluster
from harness import send_request, unique

INVALID_REQUEST = 42
QUOTA = 100 * 1024


class AlterClientQuotasResponse_v0(Response):
    API_KEY = 49
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("entries", Array(
            ("error_code", Int16),
            ("error_message", String("utf-8")),
            ("entity", Array(("entity_type", String("utf-8")), ("entity_name", String("utf-8")))))),
    )


class AlterClientQuotasRequest_v0(Request):
    API_KEY = 49
    API_VERSION = 0
    RESPONSE_TYPE = AlterClientQuotasResponse_v0
    SCHEMA = Schema(
        ("entries", Array(
            ("entity", Array(("entity_type", String("utf-8")), ("entity_name", String("utf-8")))),
            ("ops", Array(("key", String("utf-8")), ("value", Float64), ("remove", Boolean))))),
        ("validate_only", Boolean),
    )


@pytest.fixture
def cluster():
    yield from running_cluster()


def alter(bootstrap, entity, ops):
    """One AlterClientQuotas entry: entity [(type, name or None)], ops [(key, value, remove)];
    returns its (error code, message)."""
    r = send_request(bootstrap, AlterClientQuotasRequest_v0(entries=[(entity, ops)], validate_only=False))
    [(code, message, _)] = r.entries
    return code, message


def quotas(bootstrap):
    """Every stored quota: {((type, name), ...): {key: value}}."""
    r = send_request(bootstrap, DescribeClientQuotasRequest_v0(components=[], strict=False))
    assert r.error_code == 0, r
    return {tuple(tuple(e) for e in entity): dict(values) for entity, values in r.entries}


def broker_throttles(bootstrap, topic, client_id, partitions, seconds_of_data):
    """Produces `seconds_of_data` times the quota to each partition as `client_id`; returns
    the longest throttle time librdkafka saw from each broker (its statistics)."""
    stats = []
    p = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "acks": "all",
                  "linger.ms": 5, "statistics.interval.ms": 200, "stats_cb": stats.append})
    value = b"x" * 10_000
    for partition in range(partitions):
        for _ in range(QUOTA * seconds_of_data // len(value)):
            p.produce(topic, value=value, partition=partition)
            p.poll(0)
    assert p.flush(120) == 0, "records left unacknowledged"
    p.poll(0.5)
    worst = {}
    for s in stats:
        for b in json.loads(s)["brokers"].values():
            if b.get("nodeid", -1) >= 0:
                worst[b["nodeid"]] = max(worst.get(b["nodeid"], 0), b["throttle"]["max"])
    return worst


def test_a_quota_set_through_one_broker_is_enforced_by_every_broker(cluster):
    topic = unique("quota")
    cluster.create_topic(topic, 3, 1)
    leaders = sorted(p["leader"] for p in cluster.partitions(topic).values())
    assert leaders == [1, 2, 3], f"one partition led by each broker: {leaders}"
    one_broker = f"127.0.0.1:{cluster.ports[1]}"
    assert alter(one_broker, [("client-id", "slow")], [("producer_byte_rate", float(QUOTA), False)]) == (0, None)
    for bid, port in cluster.ports.items():
        eventually(f"broker {bid} to show the quota",
                   lambda port=port: quotas(f"127.0.0.1:{port}") == {(("client-id", "slow"),): {"producer_byte_rate": QUOTA}})

    slow = broker_throttles(cluster.bootstrap, topic, "slow", 3, 3)
    assert all(slow.get(b, 0) > 0 for b in (1, 2, 3)), f"every broker throttled the slow client: {slow}"
    other = broker_throttles(cluster.bootstrap, topic, "other", 3, 3)
    assert all(t == 0 for t in other.values()), f"a client without a quota was throttled: {other}"

    code, _ = alter(one_broker, [("client-id", "slow")], [("producer_byte_rate", 0.0, True)])
    assert code == 0
    eventually("the quota to be gone everywhere",
               lambda: all(quotas(f"127.0.0.1:{port}") == {} for port in cluster.ports.values()))


def test_a_request_time_quota_throttles_a_busy_client(cluster):
    topic = unique("busy")
    cluster.create_topic(topic, 3, 1)
    bootstrap = f"127.0.0.1:{cluster.ports[3]}"
    # 0.01 % of a thread: 100 µs of handling per second, less than a few produce requests take.
    assert alter(bootstrap, [("client-id", "busy")], [("request_percentage", 0.01, False)]) == (0, None)
    for port in cluster.ports.values():
        eventually("every broker to show the quota",
                   lambda port=port: quotas(f"127.0.0.1:{port}") != {})
    busy = broker_throttles(cluster.bootstrap, topic, "busy", 3, 1)
    assert all(busy.get(b, 0) > 0 for b in (1, 2, 3)), f"every broker throttled the busy client: {busy}"


def test_invalid_quotas_are_refused_and_change_nothing(cluster):
    bootstrap = f"127.0.0.1:{cluster.ports[2]}"
    refused = [
        ([("group", "g")], [("producer_byte_rate", 1000.0, False)]),
        ([("ip", "127.0.0.1")], [("connection_creation_rate", 5.0, False)]),
        ([("client-id", "c"), ("client-id", "d")], [("producer_byte_rate", 1000.0, False)]),
        ([("client-id", "c")], [("no_such_quota", 1.0, False)]),
        ([("client-id", "c")], [("consumer_byte_rate", 0.5, False)]),
        ([("user", "u")], [("request_percentage", -3.0, False)]),
        ([], [("producer_byte_rate", 1000.0, False)]),
    ]
    for entity, ops in refused:
        code, message = alter(bootstrap, entity, ops)
        assert code == INVALID_REQUEST and message, (entity, ops, code, message)
    assert quotas(bootstrap) == {}
