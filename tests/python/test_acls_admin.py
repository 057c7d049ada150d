"""ACLs through confluent-kafka's AdminClient (librdkafka): CreateAcls, DescribeAcls with
literal, prefixed and MATCH filters, and DeleteAcls, on a broker started with
`--authorizer acl`; and SECURITY_DISABLED from a broker started without it.

The PLAINTEXT listener's principal is User:ANONYMOUS, made a super user here, so the test client
may call the ACL APIs whatever ACLs exist.
"""

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from harness import DEFAULT_ARGS, running_broker

ACL_ARGS = (*DEFAULT_ARGS, "--authorizer", "acl", "--super-users", "User:ANONYMOUS")
TIMEOUT = 30


@pytest.fixture
def broker():
    yield from running_broker(ACL_ARGS)


@pytest.fixture
def plain_broker():
    yield from running_broker()


def allow(resource_type, name, pattern, principal, operation):
    return AclBinding(resource_type, name, pattern, principal, "*", operation, AclPermissionType.ALLOW)


def topic_filter(name, pattern):
    return AclBindingFilter(ResourceType.TOPIC, name, pattern, None, None, AclOperation.ANY,
                            AclPermissionType.ANY)


def described(admin, acl_filter):
    """The (name, pattern, principal, operation) of every ACL the filter matches, sorted."""
    found = admin.describe_acls(acl_filter, request_timeout=TIMEOUT).result(timeout=TIMEOUT)
    return sorted((b.name, b.resource_pattern_type, b.principal, b.operation) for b in found)


@pytest.mark.compat("confluent-kafka", "acls")
def test_acls_are_created_described_and_deleted(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    literal = allow(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice", AclOperation.READ)
    prefixed = allow(ResourceType.TOPIC, "ord", ResourcePatternType.PREFIXED, "User:bob", AclOperation.WRITE)
    other = allow(ResourceType.TOPIC, "payments", ResourcePatternType.LITERAL, "User:alice", AclOperation.READ)
    group = allow(ResourceType.GROUP, "billing", ResourcePatternType.LITERAL, "User:alice", AclOperation.READ)
    futures = admin.create_acls([literal, prefixed, other, group], request_timeout=TIMEOUT)
    for f in futures.values():
        assert f.result(timeout=TIMEOUT) is None

    lit = ResourcePatternType.LITERAL
    pre = ResourcePatternType.PREFIXED
    assert described(admin, topic_filter("orders", lit)) == [("orders", lit, "User:alice", AclOperation.READ)]
    assert described(admin, topic_filter("ord", pre)) == [("ord", pre, "User:bob", AclOperation.WRITE)]
    # MATCH: every ACL that applies to the topic "orders": the literal and the prefix.
    assert described(admin, topic_filter("orders", ResourcePatternType.MATCH)) == [
        ("ord", pre, "User:bob", AclOperation.WRITE),
        ("orders", lit, "User:alice", AclOperation.READ),
    ]
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                                  AclPermissionType.ANY)
    assert len(described(admin, everything)) == 4

    # Deleting alice's topic ACLs answers with exactly those, and leaves the rest.
    alices = AclBindingFilter(ResourceType.TOPIC, None, ResourcePatternType.ANY, "User:alice", None,
                              AclOperation.ANY, AclPermissionType.ANY)
    deleted = admin.delete_acls([alices], request_timeout=TIMEOUT)[alices].result(timeout=TIMEOUT)
    assert sorted(b.name for b in deleted) == ["orders", "payments"]
    assert sorted(b.name for b in admin.describe_acls(everything).result(timeout=TIMEOUT)) == ["billing", "ord"]
    # A filter matching nothing deletes nothing and is no error.
    none = topic_filter("nothing", lit)
    assert admin.delete_acls([none])[none].result(timeout=TIMEOUT) == []


@pytest.mark.compat("confluent-kafka", "acls")
def test_invalid_acls_are_refused_each_with_its_reason(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    valid = allow(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice", AclOperation.READ)
    # A CLUSTER resource is named kafka-cluster.
    bad_cluster = allow(ResourceType.BROKER, "other", ResourcePatternType.LITERAL, "User:alice",
                        AclOperation.ALTER)
    futures = admin.create_acls([valid, bad_cluster], request_timeout=TIMEOUT)
    assert futures[valid].result(timeout=TIMEOUT) is None
    with pytest.raises(KafkaException) as info:
        futures[bad_cluster].result(timeout=TIMEOUT)
    error = info.value.args[0]
    assert error.code() == KafkaError.INVALID_REQUEST, error
    assert "kafka-cluster" in error.str(), error


@pytest.mark.compat("confluent-kafka", "acls")
def test_a_broker_without_an_authorizer_answers_security_disabled(plain_broker):
    admin = AdminClient({"bootstrap.servers": plain_broker.bootstrap})
    acl = allow(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice", AclOperation.READ)
    future = admin.create_acls([acl], request_timeout=TIMEOUT)[acl]
    with pytest.raises(KafkaException) as info:
        future.result(timeout=TIMEOUT)
    error = info.value.args[0]
    assert error.code() == KafkaError.SECURITY_DISABLED, error
    assert "--authorizer acl" in error.str(), error
