"""ACLs on a 3-broker cluster (3 chronik-meta + 3 chronik-broker): an ACL created through one
broker applies on every broker, to connections already open, shortly after; users come from
`chronik-meta users add`. Each broker has a private PLAINTEXT listener first (replication; its
ANONYMOUS principal is a super user, as docs/security.md says) and a SASL_PLAINTEXT one.
"""

import subprocess
import time

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from cluster import META_BIN, eventually, running_cluster
from harness import free_port, unique

USERS = {"admin": "admin-pw-1", "bob": "bob-pw-1"}
DEADLINE_S = 30.0


@pytest.fixture
def cluster():
    sasl = {}

    def listen(bid, port):
        sasl[bid] = free_port()
        return ["--listeners", f"PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl[bid]}"]

    args = ("--authorizer", "acl", "--super-users", "User:admin;User:ANONYMOUS")
    for c in running_cluster(broker_listen_args=listen, broker_args=args):
        c.sasl = sasl
        for user, password in USERS.items():
            out = subprocess.run([str(META_BIN), "users", "add", user, "--mechanism", "SCRAM-SHA-512",
                                  "--password-stdin", "--meta", ",".join(c.meta_addrs)],
                                 input=password + "\n", text=True, capture_output=True, timeout=60)
            assert out.returncode == 0, out.stderr
        yield c


def conf(cluster, user, broker=1):
    return {"bootstrap.servers": f"127.0.0.1:{cluster.sasl[broker]}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user, "sasl.password": USERS[user]}


def test_an_acl_made_through_one_broker_applies_on_every_broker(cluster):
    admin = AdminClient(conf(cluster, "admin"))
    topic = unique("everywhere")
    # Partition i led by broker i + 1: producing to each reaches every broker.
    assignment = [[1, 2, 3], [2, 3, 1], [3, 1, 2]]
    admin.create_topics([NewTopic(topic, len(assignment), replica_assignment=assignment)])[topic].result(DEADLINE_S)
    eventually("every partition led by its preferred broker", lambda: all(
        p.leader == i + 1 for i, p in sorted(admin.list_topics(topic, timeout=10).topics[topic].partitions.items())))
    # bob's producer connects to all three brokers before the ACL exists (and keeps its
    # connections); librdkafka re-reads metadata often so it notices the topic once allowed.
    bob = Producer({**conf(cluster, "bob"), "enable.idempotence": False, "retries": 0,
                    "message.timeout.ms": 5000, "topic.metadata.refresh.interval.ms": 200})
    refused = []
    for partition in range(3):
        try:
            bob.produce(topic, value=b"early", partition=partition,
                        on_delivery=lambda err, _m: refused.append(err))
        except KafkaException as e:
            refused.append(e.args[0])
    bob.flush(DEADLINE_S)
    assert len(refused) == 3 and all(e is not None and e.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
                                     for e in refused), refused

    # The ACL is created through broker 2; every broker must apply it.
    admin2 = AdminClient(conf(cluster, "admin", broker=2))
    binding = AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:bob", "*",
                         AclOperation.WRITE, AclPermissionType.ALLOW)
    for f in admin2.create_acls([binding]).values():
        f.result(timeout=DEADLINE_S)
    created = time.monotonic()
    delivered = {}
    deadline = created + DEADLINE_S
    while len(delivered) < 3:
        assert time.monotonic() < deadline, f"the ACL did not apply everywhere: {delivered}"
        for partition in set(range(3)) - set(delivered):
            outcome = []
            try:
                bob.produce(topic, value=b"allowed", partition=partition,
                            on_delivery=lambda err, _m: outcome.append(err))
            except KafkaException:
                continue
            bob.flush(DEADLINE_S)
            if outcome == [None]:
                delivered[partition] = time.monotonic() - created
        time.sleep(0.05)
    print(f"seconds from CreateAcls answered to the first write accepted, per partition leader: {delivered}")
