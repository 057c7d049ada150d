"""Rolling upgrade: 3 meta nodes and 3 brokers start from an older revision's binaries and are
replaced one at a time by this checkout's (SIGTERM, wait for the exit, restart with the same id
and data dir, wait until healthy) while an idempotent acks=all producer keeps writing; every
acknowledged record must then be stored exactly once, in send order.

The old binaries come from `bash scripts/build-upgrade-from.sh` (into target/upgrade-from/bin;
the revision is in tests/upgrade/FROM_REVISION). Without them the test fails in CI (`CI=true`,
or `CHRONIK_REQUIRE_UPGRADE_FROM=1`, which tests/run-all.sh sets) and is skipped elsewhere.
"""

import filecmp
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from cluster import BROKER_BIN, META_BIN, Cluster, eventually
from harness import ROOT, read_partition, unique

FROM_DIR = Path(os.environ.get("CHRONIK_UPGRADE_FROM_DIR", ROOT / "target" / "upgrade-from"))
PARTITIONS = 4
RATE = 1500  # records/s, paced so the schedule rather than the machine decides the load
PROGRESS = RATE // 2  # records acknowledged after each step before the next one starts


def old_binaries():
    """(chronik-meta, chronik-broker, revision) of the revision upgraded from."""
    meta, broker = FROM_DIR / "bin" / "chronik-meta", FROM_DIR / "bin" / "chronik-broker"
    if meta.is_file() and broker.is_file():
        return meta, broker, (FROM_DIR / "REVISION").read_text().strip()
    why = (f"no chronik-meta and chronik-broker of an older revision in {FROM_DIR / 'bin'}; "
           "build them with: bash scripts/build-upgrade-from.sh")
    if os.environ.get("CI", "").lower() in ("1", "true") or os.environ.get("CHRONIK_REQUIRE_UPGRADE_FROM") == "1":
        pytest.fail(why)
    pytest.skip(why)


class PacedProducer:
    """An idempotent acks=all producer on its own thread, recording what was acknowledged."""

    def __init__(self, bootstrap, topic):
        self.bootstrap, self.topic = bootstrap, topic
        self.acked = {p: [] for p in range(PARTITIONS)}
        self.errors = []
        self.sent = 0
        self.unacknowledged = None
        self.producing = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.producing.set()
        self.thread.start()
        return self

    def acknowledged(self):
        return sum(len(v) for v in self.acked.values())

    def stop(self):
        self.producing.clear()
        self.thread.join(timeout=200)
        assert not self.thread.is_alive(), "the producer did not stop"

    def _run(self):
        p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "acks": "all",
                      "linger.ms": 5, "message.timeout.ms": 120000, "topic.metadata.refresh.interval.ms": 1000})

        def delivered(err, msg):
            if err is not None:
                self.errors.append(str(err))
            else:
                self.acked[msg.partition()].append((msg.offset(), msg.value()))

        started = time.monotonic()
        while self.producing.is_set():
            ahead = self.sent / RATE - (time.monotonic() - started)
            if ahead > 0:
                p.poll(ahead)
                continue
            for _ in range(20):
                try:
                    p.produce(self.topic, value=b"%d" % self.sent, partition=self.sent % PARTITIONS,
                              on_delivery=delivered)
                    self.sent += 1
                except BufferError:
                    break
            p.poll(0.02)
        self.unacknowledged = p.flush(150)


def version(binary):
    return subprocess.run([str(binary), "--version"], capture_output=True, timeout=30, check=True).stdout.decode()


def running_binary(proc):
    return os.path.realpath(f"/proc/{proc.proc.pid}/exe")


def status(c, topic):
    """Both status commands of this checkout: (meta exit code, meta doc, broker exit code, broker doc)."""
    meta = subprocess.run([str(META_BIN), "status", "--meta", ",".join(c.meta_addrs), "--topic", topic,
                           "--output", "json"], capture_output=True, timeout=30)
    broker = subprocess.run([str(BROKER_BIN), "status", "--bootstrap", c.bootstrap, "--output", "json"],
                            capture_output=True, timeout=30)
    meta_doc, broker_doc = json.loads(meta.stdout or b"null"), json.loads(broker.stdout or b"null")
    for doc in (meta_doc, broker_doc):
        assert doc is None or doc["cluster_id"] in (None, c.cluster_id), f"another cluster answered: {doc}"
    return meta.returncode, meta_doc, broker.returncode, broker_doc


def healthy(c, topic):
    """Every voter reachable under its own id, every broker live, every partition with its
    full ISR, and both status commands exiting 0."""
    meta_code, meta, broker_code, broker = status(c, topic)
    if meta_code != 0 or broker_code != 0:
        return False
    voters = {v["id"]: v for v in meta["voters"]}
    assert sorted(voters) == [1, 2, 3], meta
    live = sorted(b["id"] for b in meta["brokers"] if not b["fenced"])
    parts = meta["topic_partitions"]
    return (all(v["reachable"] for v in voters.values()) and live == [1, 2, 3]
            and len(parts) == PARTITIONS and all(sorted(p["isr"]) == [1, 2, 3] for p in parts)
            and sorted(b["id"] for b in broker["brokers"]) == [1, 2, 3])


def broker_reports_its_id(c, bid):
    md = AdminClient({"bootstrap.servers": f"127.0.0.1:{c.ports[bid]}"}).list_topics(timeout=10)
    assert md.cluster_id == c.cluster_id, f"broker {bid} reports cluster {md.cluster_id}"
    assert md.orig_broker_id == bid, f"the broker on broker {bid}'s port says it is {md.orig_broker_id}"


def replace(c, proc, binary, topic, producer, gone=None):
    """SIGTERM `proc`, wait until `gone` holds (the cluster noticed), restart it with `binary`
    on the same id and data dir, wait until the cluster is healthy and the producer has made
    progress."""
    code = proc.terminate(timeout=60)
    assert code == 0, f"{proc.name} exited {code} after SIGTERM:\n{proc.log_tail()}"
    if gone is not None:
        eventually(f"the quorum to see {proc.name} gone", gone)
    proc.cmd[0] = str(binary)
    proc.start()
    assert running_binary(proc) == os.path.realpath(binary), f"{proc.name} runs {running_binary(proc)}"
    acked = producer.acknowledged()
    eventually(f"a healthy cluster after replacing {proc.name}", lambda: healthy(c, topic), timeout=90)
    eventually(f"{PROGRESS} more acknowledgements after replacing {proc.name}",
               lambda: producer.acknowledged() >= acked + PROGRESS, timeout=90)
    assert producer.errors == [], f"sends failed while replacing {proc.name}: {producer.errors[:5]}"


def test_a_rolling_upgrade_from_the_previous_revision_loses_nothing():
    old_meta, old_broker, revision = old_binaries()
    for old, new in ((old_meta, META_BIN), (old_broker, BROKER_BIN)):
        # The old revision's build links target/debug to its binaries until this checkout's
        # build links them back; identical files mean that never happened.
        assert not filecmp.cmp(old, new, shallow=False), \
            f"{new} is the old revision's binary: build this checkout after scripts/build-upgrade-from.sh"
        assert "+upgrade-from" in version(old) and "+upgrade-from" not in version(new), \
            f"{old} is not the old build or {new} is not this checkout's: {version(old)!r}, {version(new)!r}"
    c = Cluster(meta_bin=old_meta, broker_bin=old_broker)
    producer = None
    try:
        c.start()
        for proc in [*c.metas, *c.brokers.values()]:
            assert running_binary(proc) == os.path.realpath(proc.cmd[0]), f"{proc.name} runs {running_binary(proc)}"
        topic = unique("upgrade")
        c.create_topic(topic, PARTITIONS, 3, {"min.insync.replicas": "2"})
        producer = PacedProducer(c.bootstrap, topic).start()
        eventually(f"{PROGRESS} acknowledgements from the old cluster (revision {revision})",
                   lambda: producer.acknowledged() >= PROGRESS)

        # Meta nodes first, never the quorum leader while a follower is left; then the brokers
        # (see "Rolling upgrade" in docs/operations.md).
        upgraded = set()
        while len(upgraded) < len(c.metas):
            leader = c.status()["leader_id"]
            mid = min((m for m in range(1, 4) if m not in upgraded and m != leader), default=leader)
            replace(c, c.metas[mid - 1], META_BIN, topic, producer)
            upgraded.add(mid)
        for bid in sorted(c.brokers):
            replace(c, c.brokers[bid], BROKER_BIN, topic, producer, gone=lambda: not c.live(bid))
            broker_reports_its_id(c, bid)

        producer.stop()
        assert producer.errors == [], producer.errors[:5]
        assert producer.unacknowledged == 0, f"{producer.unacknowledged} records never acknowledged"
        assert producer.acknowledged() == producer.sent
        for part in range(PARTITIONS):
            _, _, stored = read_partition(c.bootstrap, topic, part, deadline_s=120)
            stored = [(offset, value) for offset, _, value in stored]
            values = [v for _, v in stored]
            assert len(values) == len(set(values)), f"partition {part} holds duplicates"
            assert sorted(producer.acked[part]) == stored, f"partition {part}: stored records differ from acknowledged ones"
            numbers = [int(v) for v in values]
            assert numbers == sorted(numbers), f"partition {part} out of send order"
        print(f"upgraded from {revision}: {producer.sent} records acknowledged and read back")
    except BaseException:
        print(c.logs())
        raise
    finally:
        if producer is not None and producer.thread.is_alive():
            producer.stop()
        c.cleanup()
