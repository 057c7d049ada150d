"""Replication against real processes: 3 chronik-meta voters and 3 chronik-broker processes.

Every test starts its own cluster (ephemeral ports, temp dirs), checks it talks to that
cluster (random cluster id), and only signals the processes it started.
"""

import json
import os
import signal
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from cluster import META_BIN, eventually, running_cluster
from harness import live_values, read_partition, unique


@pytest.fixture
def cluster():
    yield from running_cluster()


def read_all(bootstrap, topic, partition):
    """Every (offset, value) of a partition up to its high watermark, from offset 0."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"), "enable.auto.commit": False})
    try:
        _, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
        c.assign([TopicPartition(topic, partition, 0)])
        out = []
        deadline = time.monotonic() + 120
        while (not out or out[-1][0] < high - 1) and high > 0:
            assert time.monotonic() < deadline, f"read {len(out)} of {high} records"
            msg = c.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            out.append((msg.offset(), msg.value()))
        return out
    finally:
        c.close()


def produce_one(bootstrap, topic, value, **conf):
    """Produces one record and returns its delivery error (None when acknowledged)."""
    p = Producer({"bootstrap.servers": bootstrap, **conf})
    result = []
    p.produce(topic, value=value, partition=0, on_delivery=lambda err, msg: result.append(err))
    p.flush(60)
    assert result, "no delivery report"
    return result[0]


def coordinator_partition(group, partitions):
    """Kafka's choice: Utils.abs(Java's String.hashCode of the group id) mod N, where Utils.abs
    is the absolute value (0 for Integer.MIN_VALUE); not the hash with its sign bit cleared."""
    h = 0
    for ch in group:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    if h >= 1 << 31:
        h -= 1 << 32
    return 0 if h == -(1 << 31) else abs(h) % partitions


def test_acked_writes_survive_leader_kills(cluster):
    topic = unique("survive")
    partitions = 3
    cluster.create_topic(topic, partitions, 3, {"min.insync.replicas": "2"})
    acked = {p: [] for p in range(partitions)}
    failed = []

    def delivered(err, msg):
        if err is not None:
            failed.append(err)
        else:
            acked[msg.partition()].append((msg.offset(), msg.value()))

    producer = Producer({
        "bootstrap.servers": cluster.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 120000,
        "topic.metadata.refresh.interval.ms": 1000,
    })
    total = 100_000
    kill_at = {total * (k + 1) // (partitions + 1): k for k in range(partitions)}
    for i in range(total):
        while True:
            try:
                producer.produce(topic, value=b"%d" % i, partition=i % partitions, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
        if i in kill_at:
            part = kill_at[i]
            leader = cluster.leader_of(topic, part)
            cluster.brokers[leader].kill()
            eventually(f"a new leader for partition {part}",
                       lambda: cluster.leader_of(topic, part) not in (leader, -1))
            cluster.start_broker(leader)
    assert producer.flush(180) == 0, "records still unacknowledged"
    assert failed == []
    assert sum(len(v) for v in acked.values()) == total
    cluster.wait_isr(topic, 3)
    for part in range(partitions):
        stored = read_all(cluster.bootstrap, topic, part)
        values = [v for _, v in stored]
        assert len(values) == len(set(values)), f"partition {part} holds duplicates"
        assert sorted(acked[part]) == stored, f"partition {part}: stored records differ from acknowledged ones"
        numbers = [int(v) for v in values]
        assert numbers == sorted(numbers), f"partition {part} out of order"


def test_acks_all_is_refused_while_two_of_three_replicas_are_down(cluster):
    topic = unique("quorum")
    cluster.create_topic(topic, 1, 3, {"min.insync.replicas": "2"})
    assert produce_one(cluster.bootstrap, topic, b"before", acks="all") is None
    leader = cluster.leader_of(topic, 0)
    followers = [b for b in cluster.brokers if b != leader]
    for f in followers:
        cluster.brokers[f].kill()
    eventually("the ISR to shrink to the leader", lambda: cluster.partitions(topic)[0]["isr"] == [leader])
    err = produce_one(cluster.bootstrap, topic, b"refused", acks="all", retries=0)
    assert err is not None and err.code() == KafkaError.NOT_ENOUGH_REPLICAS, err
    cluster.start_broker(followers[0])
    cluster.wait_isr(topic, 2)
    assert produce_one(cluster.bootstrap, topic, b"after", acks="all") is None
    values = [v for _, v in read_all(cluster.bootstrap, topic, 0)]
    assert values == [b"before", b"after"], "the refused record was never stored"


def test_acks_all_fails_when_the_isr_shrinks_below_min_insync_before_it_replicates(cluster):
    """The ISR was full when the record came, but a follower stopped; the high watermark passes
    the record only once the ISR drops that follower, below min.insync.replicas, so the
    producer is told (NOT_ENOUGH_REPLICAS_AFTER_APPEND) rather than acknowledged."""
    topic = unique("shrink")
    cluster.create_topic(topic, 1, 3, {"min.insync.replicas": "3"})
    leader = cluster.leader_of(topic, 0)
    follower = next(b for b in cluster.brokers if b != leader)
    cluster.brokers[follower].signal(signal.SIGSTOP)
    try:
        err = produce_one(cluster.bootstrap, topic, b"under-replicated", acks="all", retries=0)
        assert err is not None and err.code() == KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND, err
        assert follower not in cluster.partitions(topic)[0]["isr"]
    finally:
        cluster.brokers[follower].signal(signal.SIGCONT)
    cluster.wait_isr(topic, 3)
    assert produce_one(cluster.bootstrap, topic, b"replicated", acks="all") is None


def test_a_retried_batch_is_acknowledged_once_the_isr_is_whole_again(cluster):
    """An idempotent producer's batch that the high watermark passed while the ISR was below
    min.insync.replicas is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND and retried; once the
    follower is back in the ISR the retry (a duplicate, answered with the batch's offset) is
    acknowledged, and the record is stored once."""
    topic = unique("retried")
    cluster.create_topic(topic, 1, 3, {"min.insync.replicas": "3"})
    leader = cluster.leader_of(topic, 0)
    follower = next(b for b in cluster.brokers if b != leader)
    refused = 'chronik_broker_request_errors_total{api="Produce",error="NOT_ENOUGH_REPLICAS_AFTER_APPEND"}'
    refused_before = cluster.metric(leader, refused)
    p = Producer({"bootstrap.servers": cluster.bootstrap, "enable.idempotence": True, "acks": "all",
                  "message.timeout.ms": 120000})
    # The producer gets its id while every broker answers: InitProducerId may go to any broker,
    # and one sent to the stopped follower would wait out librdkafka's request timeout.
    p.produce(topic, value=b"before", partition=0)
    assert p.flush(60) == 0, "the first record was not acknowledged"
    result = []
    cluster.brokers[follower].signal(signal.SIGSTOP)
    try:
        p.produce(topic, value=b"retried", partition=0, on_delivery=lambda err, _m: result.append(err))
        eventually("the batch refused after its append", lambda: p.poll(0.1) is not None
                   and cluster.metric(leader, refused) > refused_before, timeout=60)
    finally:
        cluster.brokers[follower].signal(signal.SIGCONT)
    cluster.wait_isr(topic, 3)
    assert p.flush(60) == 0, "the retried batch was not acknowledged"
    assert result == [None]
    assert [v for _, v in read_all(cluster.bootstrap, topic, 0)] == [b"before", b"retried"]


def test_a_stopped_follower_leaves_the_isr_and_rejoins_when_resumed(cluster):
    topic = unique("lag")
    cluster.create_topic(topic, 1, 3)
    leader = cluster.leader_of(topic, 0)
    follower = next(b for b in cluster.brokers if b != leader)
    cluster.brokers[follower].signal(signal.SIGSTOP)
    try:
        for i in range(20):
            assert produce_one(cluster.bootstrap, topic, b"%d" % i, acks="1") is None
        eventually("the stopped follower to leave the ISR",
                   lambda: follower not in cluster.partitions(topic)[0]["isr"])
    finally:
        cluster.brokers[follower].signal(signal.SIGCONT)
    eventually("the resumed follower to rejoin the ISR",
               lambda: follower in cluster.partitions(topic)[0]["isr"])


def test_a_killed_coordinator_hands_its_groups_over_with_their_offsets(cluster):
    topic = unique("groups")
    group = unique("g")
    cluster.create_topic(topic, 1, 3)
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(100):
        p.produce(topic, value=b"%d" % i, partition=0)
    assert p.flush(60) == 0
    conf = {"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest"}
    c = Consumer(conf)
    c.subscribe([topic])
    seen = []
    deadline = time.monotonic() + 60
    while len(seen) < 60:
        assert time.monotonic() < deadline, f"consumed {len(seen)}"
        msg = c.poll(1.0)
        if msg is not None and msg.error() is None:
            seen.append(int(msg.value()))
    c.commit(offsets=[TopicPartition(topic, 0, 60)], asynchronous=False)
    c.close()
    offsets = cluster.partitions("__consumer_offsets")
    assert all(len(p["isr"]) == 3 for p in offsets.values()), offsets
    partition = coordinator_partition(group, len(offsets))
    coordinator = offsets[partition]["leader"]
    cluster.brokers[coordinator].kill()
    eventually("the group's offsets partition to get a new leader",
               lambda: cluster.partitions("__consumer_offsets")[partition]["leader"] not in (coordinator, -1))
    c = Consumer(conf)
    c.subscribe([topic])
    first = None
    deadline = time.monotonic() + 90
    while first is None:
        assert time.monotonic() < deadline, "no record after the coordinator moved"
        msg = c.poll(1.0)
        if msg is not None and msg.error() is None:
            first = int(msg.value())
    c.close()
    assert first == 60, f"resumed at {first}, not at the committed offset 60"


def test_sigterm_of_a_leader_fails_no_send(cluster):
    topic = unique("graceful")
    cluster.create_topic(topic, 1, 3, {"min.insync.replicas": "2"})
    failed, acked = [], []
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 2, "topic.metadata.refresh.interval.ms": 1000})

    def delivered(err, msg):
        (failed if err else acked).append(err or msg.offset())

    leader = cluster.leader_of(topic, 0)
    stopped = False
    for i in range(20_000):
        while True:
            try:
                producer.produce(topic, value=b"%d" % i, partition=0, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
        if i == 5_000:
            assert cluster.brokers[leader].terminate() == 0, cluster.brokers[leader].log_tail()
            stopped = True
    assert stopped
    assert producer.flush(120) == 0
    assert failed == [], failed[:5]
    assert len(acked) == 20_000
    assert cluster.leader_of(topic, 0) != leader


def test_brokers_serve_data_while_the_meta_leader_is_down(cluster):
    topic = unique("metaless")
    cluster.create_topic(topic, 1, 3)
    leader_voter = cluster.status()["leader_id"]
    cluster.metas[leader_voter - 1].kill()
    assert produce_one(cluster.bootstrap, topic, b"during", acks="all") is None
    assert [v for _, v in read_all(cluster.bootstrap, topic, 0)] == [b"during"]
    eventually("a new meta leader", lambda: cluster.status().get("leader_id") not in (None, 0, leader_voter))
    cluster.create_topic(unique("after"), 1, 3)


def test_concurrent_config_changes_through_every_broker_all_land(cluster):
    """On an external quorum a broker sends a topic-config change as a conditional write
    computed from its copy of the metadata; changes racing through other brokers make it
    compute again, never overwrite them, and never fail the client."""
    topic = unique("configs")
    cluster.create_topic(topic, 1, 3)
    keys = {1: "retention.ms", 2: "segment.ms", 3: "max.message.bytes"}
    last = {bid: str(1_000_000 + 20 * bid) for bid in keys}
    errors = []

    def alter(bid):
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{cluster.ports[bid]}"})
        try:
            for value in range(1_000_000 + 20 * bid - 19, int(last[bid]) + 1):
                entry = ConfigEntry(keys[bid], str(value), incremental_operation=AlterConfigOpType.SET)
                resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
                for future in admin.incremental_alter_configs([resource]).values():
                    future.result(timeout=60)
        except Exception as e:  # noqa: BLE001 - reported below with the broker it came through
            errors.append((bid, e))

    threads = [threading.Thread(target=alter, args=(bid,)) for bid in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for bid in cluster.brokers:
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{cluster.ports[bid]}"})

        def shown():
            resource = ConfigResource(ResourceType.TOPIC, topic)
            configs = admin.describe_configs([resource])[resource].result(timeout=30)
            return all(configs[keys[b]].value == last[b] for b in keys)

        eventually(f"broker {bid} to show every last value", shown)


def test_delete_records_moves_every_replicas_log_start(cluster):
    topic = unique("trim")
    cluster.create_topic(topic, 1, 3)
    for i in range(30):
        assert produce_one(cluster.bootstrap, topic, b"%d" % i, acks="all") is None
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    (deleted,) = admin.delete_records([TopicPartition(topic, 0, 17)]).values()
    # Answered once the whole ISR moved its log start (the low watermark).
    assert deleted.result(timeout=60).low_watermark == 17
    for bid in cluster.brokers:
        code, out, err = cluster.walctl("list", cluster.data_dir(bid), "--output", "json")
        assert code == 0, err
        (row,) = [r for r in json.loads(out) if r["topic"] == topic]
        assert (row["start_offset"], row["end_offset"]) == (17, 30), (bid, row)


def dumped_values(cluster, broker, topic):
    """{offset: value} of a partition as stored in `broker`'s data dir (chronik-walctl dump)."""
    code, out, err = cluster.walctl("dump", cluster.data_dir(broker), "--topic", topic, "--partition", "0",
                                    "--records", "--output", "json")
    assert code == 0, err
    doc = json.loads(out)
    return {r["offset"]: r["value"] for b in doc["batches"] for r in b["records"]}


@pytest.fixture
def slow_session_cluster():
    yield from running_cluster(session_timeout_ms=5000)


def test_a_returning_leader_truncates_its_divergent_tail(slow_session_cluster):
    cluster = slow_session_cluster
    topic = unique("diverge")
    cluster.create_topic(topic, 1, 3)
    for i in range(10):
        assert produce_one(cluster.bootstrap, topic, b"committed-%d" % i, acks="all") is None
    old = cluster.leader_of(topic, 0)
    followers = [b for b in cluster.brokers if b != old]
    seen = []
    watcher = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": unique("watch"),
                        "enable.auto.commit": False, "topic.metadata.refresh.interval.ms": 500})
    watcher.assign([TopicPartition(topic, 0, 0)])
    # The followers pause (well within their sessions) while the leader takes writes only it
    # will ever hold; then it dies before anyone copied them.
    for f in followers:
        cluster.brokers[f].signal(signal.SIGSTOP)
    try:
        # A fetch the followers left parked at the leader would carry the next records into
        # their socket buffers, to be appended on resume: those would not diverge. Parked
        # fetches end after the fetchers' 500 ms wait; the stopped followers send no more.
        eventually("the leader to hold no parked follower fetch",
                   lambda: cluster.metric(old, 'chronik_broker_fetches_parked{kind="follower"}') == 0)
        leader_only = Producer({"bootstrap.servers": f"127.0.0.1:{cluster.ports[old]}", "acks": "1"})
        for i in range(5):
            leader_only.produce(topic, value=b"divergent-%d" % i, partition=0)
        assert leader_only.flush(10) == 0
        for _ in range(3):
            msg = watcher.poll(0.2)
            if msg is not None and msg.error() is None:
                seen.append(msg.value())
        cluster.brokers[old].kill()
    finally:
        for f in followers:
            cluster.brokers[f].signal(signal.SIGCONT)
    assert len(dumped_values(cluster, old, topic)) == 15, "the old leader held 5 records nobody copied"
    eventually("a new leader", lambda: cluster.leader_of(topic, 0) not in (old, -1))
    for i in range(3):
        assert produce_one(cluster.bootstrap, topic, b"new-%d" % i, acks="all") is None
    cluster.start_broker(old)
    eventually("the old leader back in the ISR", lambda: old in cluster.partitions(topic)[0]["isr"])
    deadline = time.monotonic() + 30
    while len(seen) < 13 and time.monotonic() < deadline:
        msg = watcher.poll(0.5)
        if msg is not None and msg.error() is None:
            seen.append(msg.value())
    watcher.close()
    assert not [v for v in seen if v.startswith(b"divergent")], seen
    assert cluster.brokers[old].terminate() == 0
    stored = dumped_values(cluster, old, topic)
    assert [stored[o] for o in sorted(stored)] == [f"committed-{i}" for i in range(10)] + [
        f"new-{i}" for i in range(3)
    ], "the divergent tail was replaced by the new leader's records"


@pytest.fixture
def long_session_cluster():
    yield from running_cluster(session_timeout_ms=60000)


def test_a_killed_leader_is_replaced_long_before_its_session_runs_out(long_session_cluster):
    """A dead process's connections close, its session stream to the controller among them:
    the controller fences it at once instead of waiting out the 60 s session. A stopped (but
    living) broker keeps its connections, and its session."""
    cluster = long_session_cluster
    topic = unique("stream")
    cluster.create_topic(topic, 1, 3)
    old = cluster.leader_of(topic, 0)
    paused = next(b for b in cluster.brokers if b != old)
    cluster.brokers[paused].signal(signal.SIGSTOP)
    try:
        time.sleep(1)  # the pause being tested, not a wait for a condition
    finally:
        cluster.brokers[paused].signal(signal.SIGCONT)
    assert cluster.live(paused), "a paused broker was fenced although its session had not run out"
    killed = time.monotonic()
    cluster.brokers[old].kill()
    eventually("a new leader", lambda: cluster.leader_of(topic, 0) not in (old, -1), timeout=15)
    assert time.monotonic() - killed < 15
    assert not cluster.live(old)
    assert produce_one(cluster.bootstrap, topic, b"after", acks="all") is None


@pytest.fixture
def four_broker_cluster():
    # The balancer would otherwise be free to move the test's partition while it reassigns it.
    yield from running_cluster(brokers=4, meta_args=("--auto-balance", "false"))


def test_reassignment_moves_a_partition_to_a_new_broker_without_losing_records(four_broker_cluster):
    cluster = four_broker_cluster
    topic = unique("moving")
    cluster.create_topic(topic, 1, 3)
    before = cluster.partitions(topic)[0]
    newcomer = next(b for b in cluster.brokers if b not in before["replicas"])
    dropped = before["leader"]
    target = [newcomer] + [r for r in before["replicas"] if r != dropped]
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(5000):
        p.produce(topic, value=b"%d" % i, partition=0)
    assert p.flush(60) == 0
    out = subprocess.run([str(META_BIN), "partitions", "reassign", "--meta", ",".join(cluster.meta_addrs),
                          "--topic", topic, "--partition", "0", "--replicas", ",".join(map(str, target)),
                          "--wait-s", "60", "--output", "json"], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()
    result = json.loads(out.stdout)
    assert result["replicas"] == target and sorted(result["isr"]) == sorted(target), result
    assert result["leader"] == newcomer, "the old leader left; the preferred new replica leads"
    values = [v for _, v in read_all(cluster.bootstrap, topic, 0)]
    assert values == [b"%d" % i for i in range(5000)]
    code, listing, err = cluster.walctl("list", cluster.data_dir(newcomer), "--output", "json")
    assert code == 0, err
    held = [x for x in json.loads(listing) if x["topic"] == topic]
    assert held and held[0]["end_offset"] == 5000, held
    eventually("the dropped replica's data to be deleted",
               lambda: not os.path.exists(os.path.join(cluster.data_dir(dropped), "partitions", f"{topic}-0")))


def test_a_joining_broker_gets_its_share_of_replicas():
    from cluster import Cluster

    c = Cluster(brokers=4)
    try:
        for m in c.metas:
            m.start()
        eventually("a meta leader", lambda: c.status().get("leader_id"))
        for b in (1, 2, 3):
            c.start_broker(b)
        topic = unique("spread")
        c.create_topic(topic, 6, 2)
        assert all(4 not in p["replicas"] for p in c.partitions(topic).values())
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all"})
        for i in range(600):
            p.produce(topic, value=b"%d" % i, partition=i % 6)
        assert p.flush(60) == 0
        c.start_broker(4)

        def balanced():
            parts = [*c.partitions(topic).values(), *c.partitions("__consumer_offsets").values()]
            load = {b: sum(b in p["replicas"] for p in parts) for b in c.brokers}
            settled = all(len(p["isr"]) == len(p["replicas"]) for p in parts)
            rf_kept = all(len(p["replicas"]) == 2 for p in c.partitions(topic).values())
            return settled and rf_kept and max(load.values()) - min(load.values()) <= 1 and load

        load = eventually("replicas spread evenly over the 4 brokers, every partition in sync", balanced,
                          timeout=120)
        assert load[4] >= 8, load
        for part in range(6):
            assert [v for _, v in read_all(c.bootstrap, topic, part)] == [b"%d" % i for i in range(part, 600, 6)]
    finally:
        c.cleanup()


def test_a_decommissioned_broker_hands_its_replicas_over_and_is_fenced():
    """`chronik-meta brokers decommission` with the balancer on: every replica of broker 4
    moves to the other three (each in sync before the old one goes), broker 4 ends fenced
    holding nothing, and no acknowledged record is lost."""
    from cluster import Cluster

    c = Cluster(brokers=4)
    try:
        c.start()
        topic = unique("retire")
        c.create_topic(topic, 8, 2)
        assert any(4 in p["replicas"] for p in c.partitions(topic).values()), "broker 4 holds replicas"
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all"})
        for i in range(800):
            p.produce(topic, value=b"%d" % i, partition=i % 8)
        assert p.flush(60) == 0
        out = subprocess.run([str(META_BIN), "brokers", "decommission", "--meta", c.meta_addrs[0], "4",
                              "--wait-s", "120"], capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr
        assert "decommissioned" in out.stdout, out.stdout
        broker = next(b for b in c.status()["brokers"] if b["id"] == 4)
        assert broker["fenced"] and broker["decommissioning"] and broker["replicas"] == 0, broker

        def settled():
            parts = [*c.partitions(topic).values(), *c.partitions("__consumer_offsets").values()]
            return all(4 not in q["replicas"] and len(q["isr"]) == len(q["replicas"]) for q in parts)

        eventually("every partition off broker 4 and in sync", settled, timeout=60)
        assert all(len(q["replicas"]) == 2 for q in c.partitions(topic).values())
        c.brokers[4].terminate()
        for part in range(8):
            assert [v for _, v in read_all(c.bootstrap, topic, part)] == [b"%d" % i for i in range(part, 800, 8)]
    finally:
        c.cleanup()


# Compacted topics: every replica runs its own log cleaner over its own copy.
CLEANER_BROKER_ARGS = ("--log-cleaner-backoff-ms", "200")
COMPACTED = {
    "cleanup.policy": "compact",
    "segment.bytes": "2048",
    "min.cleanable.dirty.ratio": "0.01",
    "delete.retention.ms": "0",
    "min.insync.replicas": "2",
}
KEYS = 20
DELETED = (3, 7, 11)


@pytest.fixture
def cleaning_cluster():
    yield from running_cluster(broker_args=CLEANER_BROKER_ARGS)


class KeyedWriter:
    """Keyed acks=all writes through confluent-kafka, remembering for every key the record
    acknowledged at the highest offset (the value a compacted log must end up with; None for a
    tombstone). Each round is its own idempotent producer, so every round leaves a last batch
    the cleaner must keep, emptied, for that producer's sake."""

    def __init__(self, bootstrap, topic):
        self.bootstrap, self.topic = bootstrap, topic
        self.latest = {}  # key -> (offset, value)
        self.acked = 0

    def round(self, records):
        p = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "enable.idempotence": True,
                      "linger.ms": 0, "batch.num.messages": 5, "message.timeout.ms": 60000,
                      "topic.metadata.refresh.interval.ms": 1000})
        failed = []

        def delivered(err, msg):
            if err is not None:
                failed.append(err)
                return
            self.acked += 1
            key = msg.key().decode()
            value = None if msg.value() is None else msg.value().decode()
            if key not in self.latest or self.latest[key][0] < msg.offset():
                self.latest[key] = (msg.offset(), value)

        for key, value in records:
            p.produce(self.topic, key=key.encode(), value=None if value is None else value.encode(),
                      partition=0, on_delivery=delivered)
            p.poll(0)
        assert p.flush(90) == 0, "records still unacknowledged"
        assert failed == [], failed[:3]

    def rounds(self, first, last):
        for r in range(first, last):
            self.round([(f"k{k}", f"v{k}-{r}") for k in range(KEYS)])

    def expected(self):
        """{key: value} a reader from offset 0 must end with (deleted keys absent)."""
        return {k: v for k, (_, v) in self.latest.items() if v is not None}


def stored_partition(cluster, broker, topic):
    """Partition 0 of `topic` as `broker`'s data dir holds it: (batches, records) from
    `chronik-walctl dump`, records as (offset, key, value). Read while the broker runs, so it
    is taken twice and kept only when both reads agree: a read racing a segment swap fails or
    differs, and is taken again."""

    def dump():
        code, out, err = cluster.walctl("dump", cluster.data_dir(broker), "--topic", topic, "--partition", "0",
                                        "--records", "--output", "json")
        assert code == 0, err
        return json.loads(out)["batches"]

    def twice():
        first = dump()
        return first if first == dump() else None

    batches = eventually(f"two identical reads of broker {broker}'s copy of {topic}", twice)
    for b in batches:
        assert b["crc_ok"] and b["decode_error"] is None, (broker, b)
    records = [(r["offset"], r["key"], r["value"]) for b in batches for r in b["records"]]
    return batches, records


def listed(cluster, broker, topic):
    """Broker `broker`'s `chronik-walctl list` row for partition 0 of `topic`."""
    code, out, err = cluster.walctl("list", cluster.data_dir(broker), "--output", "json")
    assert code == 0, err
    (row,) = [r for r in json.loads(out) if r["topic"] == topic and r["partition"] == 0]
    return row


def cleaned_on(cluster, broker, topic, written):
    """Broker `broker` holds all `written` offsets and has cleaned its copy: a cleaner
    checkpoint, and fewer records than written."""
    row = listed(cluster, broker, topic)
    return row["end_offset"] == written and row["cleaner_offset"] is not None and row["records"] < written and row


def assert_well_formed(batches, records, who):
    """Offsets strictly increase, batch by batch and record by record, each record in its batch."""
    bases = [b["base_offset"] for b in batches]
    assert bases == sorted(set(bases)), f"{who}: batch offsets do not strictly increase"
    assert all(a["last_offset"] < b["base_offset"] for a, b in zip(batches, batches[1:])), f"{who}: batches overlap"
    for b in batches:
        assert all(b["base_offset"] <= r["offset"] <= b["last_offset"] for r in b["records"]), (who, b)
    offsets = [o for o, _, _ in records]
    assert offsets == sorted(set(offsets)), f"{who}: record offsets do not strictly increase"


def gaps_and_empties(batches):
    """(offsets missing between consecutive batches, batches holding no record) of a dump."""
    gaps = sum(b["base_offset"] - a["last_offset"] - 1 for a, b in zip(batches, batches[1:]))
    return gaps, sum(1 for b in batches if b["records_count"] == 0)


def read_keyed(bootstrap, topic):
    """[(offset, key, value)] of partition 0 from offset 0 up to the high watermark, as text."""
    _, _, records = read_partition(bootstrap, topic, deadline_s=120)
    return [(o, k.decode(), None if v is None else v.decode()) for o, k, v in records]


def test_replicas_compact_independently_and_keep_the_latest_acknowledged_values(cleaning_cluster):
    cluster = cleaning_cluster
    topic = unique("compact-rf3")
    cluster.create_topic(topic, 1, 3, COMPACTED)
    w = KeyedWriter(cluster.bootstrap, topic)
    w.rounds(0, 12)
    w.round([(f"k{k}", None) for k in DELETED])
    w.rounds(12, 14)  # rolls the tombstones' segment, and brings k3, k7, k11 back
    w.round([(f"k{k}", None) for k in DELETED[:2]])
    w.round([(f"k{k}", f"last-{k}") for k in range(0, KEYS, 2)])
    written = w.acked
    assert written == 14 * KEYS + len(DELETED) + 2 + KEYS // 2
    expected = w.expected()
    assert "k3" not in expected and "k11" in expected

    rows = {b: eventually(f"broker {b} to clean its copy of {topic}",
                          lambda b=b: cleaned_on(cluster, b, topic, written))
            for b in cluster.brokers}
    stored = {}
    for b in cluster.brokers:
        batches, records = stored_partition(cluster, b, topic)
        assert_well_formed(batches, records, f"broker {b}")
        assert batches[-1]["last_offset"] == written - 1, "cleaning keeps the log's last offset"
        stored[b] = live_values(records)
        assert stored[b] == expected, f"broker {b}'s copy: {stored[b]} (listed {rows[b]})"

    leader = cluster.leader_of(topic, 0)
    cluster.brokers[leader].kill()
    eventually("a new leader", lambda: cluster.leader_of(topic, 0) not in (leader, -1))
    new_leader = cluster.leader_of(topic, 0)
    w.round([(f"k{k}", f"after-{k}") for k in range(1, KEYS, 3)] + [("k7", "back"), ("k0", None)])
    expected = w.expected()
    assert expected["k7"] == "back" and "k0" not in expected
    read = read_keyed(f"127.0.0.1:{cluster.ports[new_leader]}", topic)
    offsets = [o for o, _, _ in read]
    assert offsets == sorted(set(offsets)), "a consumer sees offsets strictly increase"
    assert len(read) < w.acked, "the consumer read a compacted log"
    assert live_values(read) == expected, "a consumer from offset 0 on the new leader"

    # The old leader returns, catches up from the new one (whose copy is cleaned) and agrees.
    cluster.start_broker(leader)
    cluster.wait_isr(topic, 3)
    eventually(f"the returning broker {leader} to hold the latest values",
               lambda: live_values(stored_partition(cluster, leader, topic)[1]) == expected)


def test_a_follower_catches_up_from_a_compacted_leader(cleaning_cluster):
    cluster = cleaning_cluster
    topic = unique("compact-catchup")
    cluster.create_topic(topic, 1, 3, COMPACTED)
    w = KeyedWriter(cluster.bootstrap, topic)
    w.rounds(0, 3)
    leader = cluster.leader_of(topic, 0)
    follower = next(b for b in cluster.brokers if b != leader)
    cluster.brokers[follower].kill()
    eventually(f"broker {follower} out of the ISR", lambda: follower not in cluster.partitions(topic)[0]["isr"])
    behind = listed(cluster, follower, topic)["end_offset"]
    assert behind == w.acked
    w.rounds(3, 12)
    w.round([(f"k{k}", None) for k in DELETED])
    w.rounds(12, 14)
    w.round([(f"k{k}", None) for k in DELETED[1:]])
    w.round([(f"k{k}", f"last-{k}") for k in range(KEYS // 2)])
    written = w.acked
    expected = w.expected()
    leader = cluster.leader_of(topic, 0)
    assert leader != follower

    def compacted_with_gaps_and_empties():
        if not cleaned_on(cluster, leader, topic, written):
            return False
        batches, _ = stored_partition(cluster, leader, topic)
        gaps, empties = gaps_and_empties(batches)
        # The follower's next fetch offset must lie in what the cleaner took away.
        past = [b for b in batches if b["last_offset"] >= behind]
        return gaps > 0 and empties > 0 and past and past[0]["base_offset"] > behind and (gaps, empties)

    gaps, empties = eventually("the leader's copy cleaned into gaps and emptied batches, over the follower's end",
                               compacted_with_gaps_and_empties)
    cluster.start_broker(follower)
    eventually(f"broker {follower} back in the ISR", lambda: follower in cluster.partitions(topic)[0]["isr"])
    eventually(f"broker {follower} to catch up to offset {written}",
               lambda: listed(cluster, follower, topic)["end_offset"] == written)
    batches, records = stored_partition(cluster, follower, topic)
    assert_well_formed(batches, records, f"follower {follower}")
    assert live_values(records) == expected, f"the follower's copy after {gaps} gaps and {empties} empty batches"
    leader_batches, leader_records = stored_partition(cluster, leader, topic)
    assert live_values(leader_records) == expected
    assert read_keyed(cluster.bootstrap, topic)[-1][0] == written - 1
    assert live_values(read_keyed(cluster.bootstrap, topic)) == expected
