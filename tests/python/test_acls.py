"""ACL authorization (`--authorizer acl`) against real clients over SASL: a principal without
WRITE gets TOPIC_AUTHORIZATION_FAILED and nothing is appended; without READ on a group,
GROUP_AUTHORIZATION_FAILED; Metadata hides topics a principal may not describe; deny beats
allow; prefixed ACLs match; an ACL change applies to connections already open; managing ACLs
needs ALTER on the cluster.

The broker has a SASL_PLAINTEXT listener with three SCRAM users: admin (a super user), alice
and bob. Stored offsets are read back as admin.
"""

import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from harness import BROKER_BIN, DEFAULT_ARGS, BrokerProcess, free_port, unique

USERS = {"admin": "admin-pw-1", "alice": "alice-pw-1", "bob": "bob-pw-1"}
DEADLINE_S = 30.0


class AclBroker(BrokerProcess):
    def __init__(self):
        super().__init__(args=(*DEFAULT_ARGS, "--group-initial-rebalance-delay-ms", "0", "--authorizer", "acl",
                               "--super-users", "User:admin;User:ANONYMOUS"))
        self.sasl_port = free_port()
        self.listen_args = ["--listeners", f"PLAINTEXT://{self.bootstrap},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}"]

    def conf(self, user):
        return {"bootstrap.servers": f"127.0.0.1:{self.sasl_port}", "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user, "sasl.password": USERS[user]}


@pytest.fixture(scope="module")
def broker():
    b = AclBroker()
    for user, password in USERS.items():
        out = subprocess.run([str(BROKER_BIN), "users", "add", user, "--mechanism", "SCRAM-SHA-512",
                              "--password-stdin", "--data-dir", b.data_dir], input=password + "\n",
                             text=True, capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr
    b.start()
    try:
        yield b
    finally:
        b.cleanup()


def admin(broker, user="admin"):
    return AdminClient(broker.conf(user))


def allow(broker, *bindings):
    client = admin(broker)
    for f in client.create_acls(list(bindings)).values():
        f.result(timeout=DEADLINE_S)


def acl(principal, operation, name, resource=ResourceType.TOPIC, pattern=ResourcePatternType.LITERAL,
        permission=AclPermissionType.ALLOW):
    return AclBinding(resource, name, pattern, principal, "*", operation, permission)


def new_topic(broker, partitions=1):
    name = unique("acl")
    client = admin(broker)
    client.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(DEADLINE_S)
    return name


def stored(broker, topic):
    """Records stored in partition 0, as admin sees them."""
    c = Consumer({**broker.conf("admin"), "group.id": unique("peek")})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


def produce_one(broker, user, topic, timeout_ms=5000):
    """The delivery error of one record (None when it was stored)."""
    outcome = []
    p = Producer({**broker.conf(user), "message.timeout.ms": timeout_ms, "enable.idempotence": False,
                  "retries": 0})
    p.produce(topic, value=b"v", partition=0, on_delivery=lambda err, _m: outcome.append(err))
    p.flush(DEADLINE_S)
    assert outcome, "no delivery report"
    return outcome[0]


def test_producing_needs_write_on_the_topic(broker):
    topic = new_topic(broker)
    err = produce_one(broker, "bob", topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    assert stored(broker, topic) == 0
    allow(broker, acl("User:bob", AclOperation.WRITE, topic))
    assert produce_one(broker, "bob", topic) is None
    assert stored(broker, topic) == 1


def test_consuming_in_a_group_needs_read_on_the_group_and_the_topic(broker):
    topic = new_topic(broker)
    allow(broker, acl("User:alice", AclOperation.WRITE, topic), acl("User:alice", AclOperation.READ, topic))
    assert produce_one(broker, "alice", topic) is None
    group = unique("g")
    errors = []
    c = Consumer({**broker.conf("alice"), "group.id": group, "auto.offset.reset": "earliest",
                  "error_cb": errors.append})
    c.subscribe([topic])
    got_error = None
    deadline = time.monotonic() + DEADLINE_S
    while got_error is None and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is not None:
            got_error = m.error()
    c.close()
    assert got_error is not None and got_error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, got_error
    allow(broker, acl("User:alice", AclOperation.READ, group, resource=ResourceType.GROUP))
    c = Consumer({**broker.conf("alice"), "group.id": group, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    value = None
    deadline = time.monotonic() + DEADLINE_S
    while value is None and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            value = m.value()
    c.close()
    assert value == b"v"


def test_metadata_hides_topics_a_principal_may_not_describe(broker):
    visible = new_topic(broker)
    hidden = new_topic(broker)
    allow(broker, acl("User:bob", AclOperation.DESCRIBE, visible))
    bob = admin(broker, "bob")
    topics = bob.list_topics(timeout=10).topics
    assert visible in topics and hidden not in topics
    # Named explicitly, a hidden topic is refused rather than auto-created.
    md = bob.list_topics(topic=hidden, timeout=10)
    assert md.topics[hidden].error is not None
    assert md.topics[hidden].error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_deny_beats_allow_and_prefixed_acls_match(broker):
    prefix = unique("logs") + "-"
    app, other = prefix + "app", new_topic(broker)
    client = admin(broker)
    client.create_topics([NewTopic(app, num_partitions=1, replication_factor=1)])[app].result(DEADLINE_S)
    allow(broker,
          acl("User:*", AclOperation.WRITE, prefix, pattern=ResourcePatternType.PREFIXED),
          acl("User:bob", AclOperation.WRITE, app, permission=AclPermissionType.DENY))
    assert produce_one(broker, "alice", app) is None
    err = produce_one(broker, "bob", app)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    err = produce_one(broker, "alice", other)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    assert stored(broker, app) == 1 and stored(broker, other) == 0


def test_an_acl_change_applies_to_open_connections(broker):
    topic = new_topic(broker)
    failures = []
    # librdkafka remembers a topic it may not see until its next metadata refresh: refresh often.
    p = Producer({**broker.conf("alice"), "enable.idempotence": False, "retries": 0, "message.timeout.ms": 5000,
                  "topic.metadata.refresh.interval.ms": 200})
    p.produce(topic, value=b"before", partition=0, on_delivery=lambda err, _m: failures.append(err))
    p.flush(DEADLINE_S)
    assert failures and failures[0] is not None
    allow(broker, acl("User:alice", AclOperation.WRITE, topic))
    delivered = []
    deadline = time.monotonic() + DEADLINE_S
    while not delivered:
        try:
            p.produce(topic, value=b"after", partition=0, on_delivery=lambda err, _m: delivered.append(err))
        except KafkaException as refused:
            assert refused.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
            assert time.monotonic() < deadline, "the new ACL never applied"
            p.poll(0.1)
            continue
        p.flush(DEADLINE_S)
    assert delivered == [None], delivered
    assert stored(broker, topic) == 1
    client = admin(broker)
    found = client.describe_acls(AclBindingFilter(
        ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, None, None, AclOperation.ANY,
        AclPermissionType.ANY)).result(timeout=DEADLINE_S)
    assert [b.principal for b in found] == ["User:alice"]
    deleted = client.delete_acls([AclBindingFilter(
        ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", None, AclOperation.ANY,
        AclPermissionType.ANY)])
    for f in deleted.values():
        assert len(f.result(timeout=DEADLINE_S)) == 1
    # The producer's open connection is refused at once: its next produce is not stored.
    try:
        p.produce(topic, value=b"revoked", partition=0, on_delivery=lambda err, _m: delivered.append(err))
        p.flush(DEADLINE_S)
        assert delivered[-1] is not None and delivered[-1].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    except KafkaException as refused:
        assert refused.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert stored(broker, topic) == 1


def test_managing_acls_needs_alter_on_the_cluster(broker):
    topic = new_topic(broker)
    bob = admin(broker, "bob")
    futures = bob.create_acls([acl("User:bob", AclOperation.ALL, topic)])
    for f in futures.values():
        with pytest.raises(KafkaException) as refused:
            f.result(timeout=DEADLINE_S)
        assert refused.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    assert produce_one(broker, "bob", topic).code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_producer_without_create_does_not_create_topics(broker):
    prefix = unique("made") + "-"
    allow(broker, acl("User:bob", AclOperation.WRITE, prefix, pattern=ResourcePatternType.PREFIXED))
    missing = prefix + "new"
    err = produce_one(broker, "bob", missing)
    assert err is not None and err.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC,
                                              KafkaError._MSG_TIMED_OUT), err
    assert missing not in admin(broker).list_topics(timeout=10).topics


def test_a_refused_offset_commit_leaves_no_group_behind(broker):
    topic = new_topic(broker)
    group = unique("refused")
    # DESCRIBE finds the group's coordinator; committing needs READ, which bob lacks.
    allow(broker, acl("User:bob", AclOperation.READ, topic),
          acl("User:bob", AclOperation.DESCRIBE, group, resource=ResourceType.GROUP))
    c = Consumer({**broker.conf("bob"), "group.id": group})
    with pytest.raises(KafkaException) as refused:
        c.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
    c.close()
    assert refused.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    client = admin(broker)
    groups = client.list_consumer_groups().result(timeout=DEADLINE_S).valid
    assert group not in [g.group_id for g in groups]
