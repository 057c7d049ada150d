"""A 3+3 cluster with TLS and client certificates between every node and the ACL authorizer on
(`Cluster(secure=True)`): Raft between meta nodes, brokers and tools calling the quorum, and
replication between brokers all present certificates of the cluster's CA, and brokers need
CLUSTER_ACTION to fetch from each other. The replication tests imported below run on such a
cluster, and so does test_nemesis.py's random-seed run; nodes and tools without a certificate
the cluster trusts are refused.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   NewTopic, ResourcePatternType, ResourceType)

from cluster import BROKER_BIN, META_BIN, Proc, eventually, running_cluster
from harness import free_port, unique
from test_replication import (  # noqa: F401  (collected here, on the secure cluster)
    test_a_killed_coordinator_hands_its_groups_over_with_their_offsets,
    test_a_stopped_follower_leaves_the_isr_and_rejoins_when_resumed,
    test_acked_writes_survive_leader_kills,
    test_acks_all_is_refused_while_two_of_three_replicas_are_down,
)

EXIT_ERROR = 2


@pytest.fixture
def cluster():
    yield from running_cluster(secure=True, broker_args=("--replica-lag-time-max-ms", "3000"))


def meta_status(cluster, *tls):
    return subprocess.run([str(META_BIN), "status", "--meta", cluster.meta_addrs[0], "--output", "json",
                           "--timeout-ms", "2000", *tls], capture_output=True, text=True, timeout=60)


def test_tools_and_brokers_without_a_trusted_certificate_are_refused(cluster):
    # Connections that never start their handshake, and one that sends garbage, do not stop
    # the node from serving others.
    host, port = cluster.meta_addrs[0].rsplit(":", 1)
    idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(50)]
    idle[0].sendall(os.urandom(4096))
    try:
        out = meta_status(cluster, *cluster.meta_tool_args)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["cluster_id"] == cluster.cluster_id, out.stdout
    finally:
        for s in idle:
            s.close()
    for what, tls in [("no TLS", []),
                      ("a certificate of another CA", cluster.meta_tls_args("rogue", ca="ca")),
                      ("trusting another CA", cluster.meta_tls_args("meta", ca="rogue-ca"))]:
        out = meta_status(cluster, *tls)
        assert out.returncode == EXIT_ERROR, f"{what}: exit {out.returncode}\n{out.stdout}{out.stderr}"
        assert cluster.cluster_id not in out.stdout, f"{what}: the quorum answered\n{out.stdout}"

    # A fourth broker whose certificate another CA signed never reaches the quorum.
    port, internal = free_port(), free_port()
    rogue = Proc("broker4", [str(BROKER_BIN), "run", "--id", "4",
                             "--listeners", f"INTERNAL://127.0.0.1:{internal},CLIENT://127.0.0.1:{port}",
                             "--listener-security-protocol-map", "INTERNAL:SSL,CLIENT:PLAINTEXT",
                             "--data-dir", cluster.path("broker4"), "--meta", ",".join(cluster.meta_addrs),
                             *cluster.broker_tls_args("rogue"), "--log-level", "info"],
                 cluster.path("broker4.log"))
    cluster.brokers[4] = rogue
    rogue.start()
    eventually("the rogue broker to give up", lambda: not rogue.alive(), timeout=60)
    assert rogue.proc.returncode == EXIT_ERROR, rogue.log_tail()
    assert "meta" in rogue.log_tail().lower(), rogue.log_tail()
    assert all(b["id"] != 4 for b in cluster.status()["brokers"]), "the rogue broker registered"


def cluster_action_acl():
    return AclBinding(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, "User:broker", "*",
                      AclOperation.CLUSTER_ACTION, AclPermissionType.ALLOW)


def produce_acks_all(cluster, topic, value):
    """The delivery error of one acks=all record to partition 0 (None when acknowledged)."""
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "message.timeout.ms": 8000,
                  "retries": 0})
    result = []
    p.produce(topic, value=value, partition=0, on_delivery=lambda err, msg: result.append(err))
    p.flush(30)
    assert result, "no delivery report"
    return result[0]


def test_followers_need_cluster_action_to_replicate(cluster):
    topic = unique("tls-acl")
    cluster.create_topic(topic, 1, 3, {"min.insync.replicas": "3"})
    assert produce_acks_all(cluster, topic, b"with the ACL") is None

    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    acl_filter = AclBindingFilter(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, "User:broker",
                                  "*", AclOperation.CLUSTER_ACTION, AclPermissionType.ALLOW)
    for f in admin.delete_acls([acl_filter]).values():
        assert len(f.result(timeout=30)) == 1
    # Once every broker has seen the deletion, followers are refused: a record is no longer
    # replicated, they fall out of the ISR, and with min.insync.replicas=3 nothing more is
    # acknowledged.
    eventually("a record that is not acknowledged", lambda: produce_acks_all(cluster, topic, b"no ACL") is not None)
    eventually("the followers to leave the ISR", lambda: len(cluster.partitions(topic)[0]["isr"]) == 1, timeout=30)
    err = produce_acks_all(cluster, topic, b"still without the ACL")
    assert err is not None and err.code() == KafkaError.NOT_ENOUGH_REPLICAS, err

    for f in admin.create_acls([cluster_action_acl()]).values():
        f.result(timeout=30)
    cluster.wait_isr(topic, 3)
    assert produce_acks_all(cluster, topic, b"with the ACL again") is None


def hangup_all(cluster, reloads):
    """SIGHUP to every node; waits until each has logged `reloads` reloads of its cluster
    certificate since it started (a broker also logs one per TLS listener)."""
    marker = {"meta": "TLS certificate reloaded", "broker": "cluster TLS certificate reloaded"}
    nodes = [*cluster.metas, *cluster.brokers.values()]
    for n in nodes:
        n.signal(signal.SIGHUP)

    def reloaded(n):
        assert n.alive(), f"{n.name} exited on SIGHUP"
        text = Path(n.log_path).read_text(errors="replace")
        return text.count(marker[n.name.rstrip("0123456789")]) >= reloads

    eventually("every node to reload its certificate", lambda: all(reloaded(n) for n in nodes))


def meta_applied(cluster, node):
    return next(v["applied_index"] for v in cluster.status()["voters"] if v["id"] == node) or 0


def test_the_cluster_ca_is_replaced_while_every_node_runs(cluster):
    """The whole rotation an operator does, one SIGHUP per step and no restart: trust the new CA
    beside the old, give every node a certificate of the new CA, then drop the old CA. Nodes
    restarted afterwards, which know only the new CA, are accepted by the others and accept
    them: proof that the running nodes present and check the new files on new connections."""
    from certs import NODE_EXT, make_ca, make_cert

    d = cluster.certs
    topic = unique("rotate")
    cluster.create_topic(topic, 1, 3, {"min.insync.replicas": "3"})
    assert produce_acks_all(cluster, topic, b"before") is None

    # A broken file changes nothing: the reload fails and says so, the node goes on.
    good_ca = (d / "ca.pem").read_bytes()
    (d / "ca.pem").write_text("not a certificate")
    for n in (cluster.metas[0], cluster.brokers[1]):
        n.signal(signal.SIGHUP)
    eventually("the failed reloads to be logged",
               lambda: all("reload failed" in n.log_tail(20000) for n in (cluster.metas[0], cluster.brokers[1])))
    (d / "ca.pem").write_bytes(good_ca)
    for name in ("meta", "broker"):
        shutil.copy(d / f"{name}.pem", d / f"{name}-old.pem")
        shutil.copy(d / f"{name}.key", d / f"{name}-old.key")
    assert produce_acks_all(cluster, topic, b"after a failed reload") is None

    make_ca(d, "ca2")
    (d / "ca.pem").write_bytes(good_ca + (d / "ca2.pem").read_bytes())
    hangup_all(cluster, 1)
    for name in ("meta", "broker"):
        make_cert(d, f"{name}-new", name, "ca2", NODE_EXT)
        shutil.copy(d / f"{name}-new.pem", d / f"{name}.pem")
        shutil.copy(d / f"{name}-new.key", d / f"{name}.key")
    hangup_all(cluster, 2)
    shutil.copy(d / "ca2.pem", d / "ca.pem")
    hangup_all(cluster, 3)

    # Tools: the old certificate is refused; the new one is accepted, and the node it reaches
    # presents a certificate of the new CA (the tool trusts no other).
    old = meta_status(cluster, "--tls-cert", str(d / "meta-old.pem"), "--tls-key", str(d / "meta-old.key"),
                      "--tls-ca", str(d / "ca.pem"))
    assert old.returncode == EXIT_ERROR, old.stdout + old.stderr
    new = meta_status(cluster, *cluster.meta_tool_args)
    assert new.returncode == 0, new.stderr
    assert json.loads(new.stdout)["cluster_id"] == cluster.cluster_id

    # A restarted meta node knows only the new CA: it hears from its peers again only if they
    # dial it with their new certificates.
    assert cluster.metas[0].terminate() == 0
    cluster.metas[0].start()
    cluster.create_topic(unique("rotate-meta"), 1, 3)
    target = max(meta_applied(cluster, v) for v in (2, 3))
    eventually("the restarted meta node to apply new entries", lambda: meta_applied(cluster, 1) >= target)

    # A restarted broker knows only the new CA: the others replicate from it only if their
    # fetches present their new certificates, and it from them only if they accept its own.
    assert cluster.brokers[1].terminate() == 0
    cluster.start_broker(1)
    led = unique("rotate-led")
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(led, 1, replica_assignment=[[1, 2, 3]],
                                  config={"min.insync.replicas": "3"})])[led].result(timeout=30)
    cluster.wait_isr(led, 3)
    assert cluster.leader_of(led, 0) == 1
    assert produce_acks_all(cluster, led, b"through the restarted leader") is None
    cluster.wait_isr(topic, 3)
    assert produce_acks_all(cluster, topic, b"after the rotation") is None


@pytest.mark.parametrize("args,message", [
    (["--tls-cert", "a.pem"], "--tls-key"),
    (["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key", "--tls-ca", "/nonexistent-ca.pem"],
     "/nonexistent.pem"),
])
def test_bad_meta_tls_settings_are_refused_at_start(tmp_path, args, message):
    out = subprocess.run([str(META_BIN), "run", "--id", "1", "--listen", f"127.0.0.1:{free_port()}",
                          "--data-dir", str(tmp_path / "meta"), *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == EXIT_ERROR, (out.returncode, out.stderr)
    assert message in out.stderr, out.stderr
    assert not (tmp_path / "meta").exists(), "a refused start must not create the data dir"
