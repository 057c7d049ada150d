"""The consumer group protocol of KIP-848 (group.protocol=consumer) with librdkafka: members get
their partitions from the broker's assignor through ConsumerGroupHeartbeat, a member killed
without leaving loses its partitions to the others when its session expires, a group outlives
its coordinator (also while an upgrade leaves it with members of both protocols), and offsets are committed and fetched by members of such a group.

librdkafka (confluent-kafka 2.6.1) supports the protocol as early access. With it a consumer must
not set session.timeout.ms, heartbeat.interval.ms or partition.assignment.strategy: the broker's
--group-consumer-* flags set those, kept short here so that a dead member goes within seconds.
"""

import signal
import subprocess
import sys
import threading
import time

import pytest
from confluent_kafka import Consumer, ConsumerGroupType, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from cluster import eventually, running_cluster
from harness import DEFAULT_ARGS, IO_DEADLINE_S, create_topic, running_broker, unique
from test_replication import coordinator_partition

DEADLINE_S = 60.0
GROUP_ARGS = ("--group-consumer-session-timeout-ms", "3000", "--group-consumer-heartbeat-interval-ms", "500")


@pytest.fixture
def broker():
    yield from running_broker(args=(*DEFAULT_ARGS, *GROUP_ARGS))


def member_conf(bootstrap, group, **extra):
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **extra,
    }


def produce(bootstrap, topic, partitions, start, count, **conf):
    """Produces records `start`..`start + count` to every partition, valued '<partition>:<index>'
    (so in a partition filled only from here, a record's index is its offset)."""
    p = Producer({"bootstrap.servers": bootstrap, **conf})
    for part in range(partitions):
        for i in range(start, start + count):
            p.produce(topic, value=f"{part}:{i}".encode(), partition=part)
    assert p.flush(IO_DEADLINE_S) == 0, "records not delivered"


def owned(c):
    return {tp.partition for tp in c.assignment()}


def poll_all(members):
    for m in members:
        m.poll()


def consumed(members, phase=None):
    """The (partition, offset) of every record the members polled (in `phase` only, if given)."""
    return {(p, o) for m in members for p, o, _, ph in m.records if phase is None or ph == phase}


def wait_for(what, condition, state=lambda: "", deadline_s=DEADLINE_S):
    """Calls `condition` (which polls the consumers) until it is true; at the deadline fails with
    what `state` describes."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}; {state()}")


class Member:
    """An in-process member: every record polled is kept as (partition, offset, value, phase) and
    committed synchronously at once. A commit may fail while the partition moves to another
    member (the record is then consumed again there: at-least-once); failures are counted."""

    def __init__(self, conf, topic, on_revoke=None):
        self.consumer = Consumer(conf)
        self.records = []
        self.commit_failures = []
        self.phase = 0
        kwargs = {"on_revoke": on_revoke} if on_revoke else {}
        self.consumer.subscribe([topic], **kwargs)

    def poll(self, timeout=0.05):
        msg = self.consumer.poll(timeout)
        if msg is None:
            return
        assert msg.error() is None, msg.error()
        self.records.append((msg.partition(), msg.offset(), msg.value().decode(), self.phase))
        try:
            self.consumer.commit(message=msg, asynchronous=False)
        except KafkaException as e:
            self.commit_failures.append((msg.partition(), msg.offset(), e.args[0]))

    def owned(self):
        return owned(self.consumer)

    def close(self):
        self.consumer.close()


# A member in its own process, to be SIGKILLed: it reports on stdout every change of its
# assignment, every record it polls and every offset whose synchronous commit succeeded.
MEMBER_PROCESS = r"""
import sys
from confluent_kafka import Consumer, KafkaException

bootstrap, topic, group = sys.argv[1:4]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
              "auto.offset.reset": "earliest", "enable.auto.commit": False})
c.subscribe([topic])
assigned = None
while True:
    msg = c.poll(0.05)
    now = sorted(tp.partition for tp in c.assignment())
    if now != assigned:
        assigned = now
        print("assigned " + ",".join(map(str, now)), flush=True)
    if msg is None:
        continue
    if msg.error() is not None:
        print(f"error {msg.error()}", flush=True)
        continue
    print(f"consumed {msg.partition()} {msg.offset()} {msg.value().decode()}", flush=True)
    try:
        c.commit(message=msg, asynchronous=False)
    except KafkaException as e:
        print(f"commit-failed {msg.partition()} {msg.offset()} {e}", flush=True)
        continue
    print(f"committed {msg.partition()} {msg.offset() + 1}", flush=True)
"""


class MemberProcess:
    """The member of MEMBER_PROCESS in a child process (only this process is ever signalled),
    its stdout read into `lines` by a thread."""

    def __init__(self, bootstrap, topic, group, log_path):
        self._log = open(log_path, "wb")
        self.log_path = log_path
        self.proc = subprocess.Popen([sys.executable, "-c", MEMBER_PROCESS, bootstrap, topic, group],
                                     stdout=subprocess.PIPE, stderr=self._log, text=True)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.split())

    def assert_alive(self):
        code = self.proc.poll()
        assert code is None, f"the member process exited with {code}; its log:\n{self.log_tail()}"

    def assigned(self):
        """Its last reported assignment, None before the first report."""
        last = [words[1:] for words in list(self.lines) if words[0] == "assigned"]
        if not last:
            return None
        return {int(p) for p in last[-1][0].split(",")} if last[-1] else set()

    def consumed(self):
        return [(int(w[1]), int(w[2]), w[3]) for w in list(self.lines) if w[0] == "consumed"]

    def committed(self):
        """{partition: the highest offset it reported committed}."""
        out = {}
        for w in list(self.lines):
            if w[0] == "committed":
                out[int(w[1])] = max(out.get(int(w[1]), 0), int(w[2]))
        return out

    def kill(self):
        """SIGKILL: the member leaves nothing behind, no LeaveGroup."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        self._log.close()

    def log_tail(self):
        with open(self.log_path, "rb") as f:
            return f.read()[-3000:].decode(errors="replace")


def wait_split(a, b, everything, what):
    """Polls both members until they own `everything` between them, none owned by both."""
    def split():
        poll_all((a, b))
        pa, pb, both = disjoint_snapshot(a, b)
        return pa and pb and not both and pa | pb == everything

    wait_for(what, split, lambda: f"assignments {sorted(a.owned())} {sorted(b.owned())}")


def kill_group_coordinator(cluster, group):
    """SIGKILLs the broker leading `group`'s `__consumer_offsets` partition once its ISR is full;
    returns (that partition, the killed broker)."""
    partition = coordinator_partition(group, len(cluster.partitions("__consumer_offsets")))
    eventually("the group's offsets partition to have a full ISR",
               lambda: len(cluster.partitions("__consumer_offsets")[partition]["isr"]) == 3)
    coordinator = cluster.partitions("__consumer_offsets")[partition]["leader"]
    cluster.brokers[coordinator].kill()
    return partition, coordinator


def disjoint_snapshot(a, b):
    """Both members' assignments, and the partitions really owned by both at once: `a` is read
    before and after `b`, so a partition handed from one to the other between two reads (the
    broker only hands it over once its owner released it) is not mistaken for a double owner."""
    a1, b1, a2 = a.owned(), b.owned(), a.owned()
    return a2, b1, a1 & a2 & b1


@pytest.mark.compat("confluent-kafka", "groups", "kip-848")
def test_librdkafka_members_take_over_a_killed_members_partitions(broker, tmp_path):
    topic, group = unique("kip848-topic"), unique("kip848")
    partitions, per_batch = 6, 20
    everything = set(range(partitions))
    create_topic(broker.bootstrap, topic, partitions)
    produce(broker.bootstrap, topic, partitions, 0, per_batch)

    a = Member(member_conf(broker.bootstrap, group), topic)
    b = Member(member_conf(broker.bootstrap, group), topic)
    victim = MemberProcess(broker.bootstrap, topic, group, tmp_path / "member.log")
    survivors = (a, b)
    try:
        def split_three_ways():
            victim.assert_alive()
            poll_all(survivors)
            v, (pa, pb, both) = victim.assigned(), disjoint_snapshot(a, b)
            return v and pa and pb and not both and not (v & (pa | pb)) and v | pa | pb == everything

        wait_for("the three members to split the 6 partitions", split_three_ways,
                 lambda: f"assignments {sorted(a.owned())} {sorted(b.owned())}, the process's {victim.assigned()}")
        victims_partitions = victim.assigned()

        # A second batch, partly the victim's to consume and commit before it dies.
        produce(broker.bootstrap, topic, partitions, per_batch, per_batch)

        def victim_committed_its_share():
            victim.assert_alive()
            poll_all(survivors)
            committed = victim.committed()
            return all(committed.get(p) == 2 * per_batch for p in victims_partitions)

        wait_for("the victim to consume and commit both batches of its partitions", victim_committed_its_share,
                 lambda: f"it owns {victim.assigned()} and committed {victim.committed()}")
        assert victim.assigned() == victims_partitions, "the victim's assignment moved while the group was stable"
        victim.kill()
        killed_at = time.monotonic()
        victim_committed = victim.committed()
        for m in survivors:
            m.phase = 1
        produce(broker.bootstrap, topic, partitions, 2 * per_batch, per_batch)

        expected = {(p, i) for p in range(partitions) for i in range(3 * per_batch)}
        double_owned = []

        def consumed_by_anyone():
            return consumed(survivors) | {(p, o) for p, o, _ in victim.consumed()}

        def survivors_took_over_and_read_everything():
            poll_all(survivors)
            pa, pb, both = disjoint_snapshot(a, b)
            if both:
                double_owned.append((pa, pb))
            return pa | pb == everything and not both and expected <= consumed_by_anyone()

        def takeover_state():
            return (f"survivors own {sorted(a.owned())} {sorted(b.owned())} (the victim owned "
                    f"{sorted(victims_partitions)}); not consumed: {sorted(expected - consumed_by_anyone())[:20]}")

        wait_for("the survivors to own all 6 partitions and every record to be consumed",
                 survivors_took_over_and_read_everything, takeover_state)
        took_over_s = time.monotonic() - killed_at
        assert not double_owned, f"a partition was owned by both survivors at once: {double_owned}"
        pa, pb = a.owned(), b.owned()
        assert pa and pb and not (pa & pb) and pa | pb == everything, (pa, pb)

        # Every record was consumed (a record consumed twice is fine: at-least-once), each with
        # the value produced at its offset.
        values = {(p, o): v for m in survivors for p, o, v, _ in m.records}
        values.update({(p, o): v for p, o, v in victim.consumed()})
        assert all(values[(p, i)] == f"{p}:{i}" for p, i in expected)
        # The survivors resumed the victim's partitions where the victim's commits left them.
        for p in victims_partitions:
            after_kill = [o for m in survivors for q, o, _, phase in m.records if q == p and phase == 1]
            assert after_kill, f"no survivor consumed partition {p} after the kill"
            assert min(after_kill) >= victim_committed[p], (
                f"partition {p}: a survivor re-read offset {min(after_kill)} although the victim had "
                f"committed {victim_committed[p]} (took over after {took_over_s:.1f}s)")

        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        listed = admin.list_consumer_groups(request_timeout=30).result(timeout=60)
        assert group in {g.group_id for g in listed.valid}, [g.group_id for g in listed.valid]
        listing = next(g for g in listed.valid if g.group_id == group)
        assert listing.type == ConsumerGroupType.CONSUMER, listing.type
        by_type = admin.list_consumer_groups(types={ConsumerGroupType.CLASSIC}, request_timeout=30).result(timeout=60)
        assert group not in {g.group_id for g in by_type.valid}, "a consumer-protocol group listed as classic"
    finally:
        victim.kill()
        for m in survivors:
            m.close()


@pytest.fixture
def cluster():
    yield from running_cluster(broker_args=GROUP_ARGS)


@pytest.mark.compat("confluent-kafka", "groups", "kip-848")
def test_a_consumer_group_survives_its_coordinator_being_killed(cluster):
    topic, group = unique("kip848-failover"), unique("kip848-fo")
    partitions, per_batch = 4, 25
    everything = set(range(partitions))
    cluster.create_topic(topic, partitions, 3)
    lost = []
    members = [Member(member_conf(cluster.bootstrap, group), topic,
                      on_revoke=lambda _c, ps: lost.extend((time.monotonic(), tp.partition) for tp in ps))
               for _ in range(2)]
    a, b = members
    try:
        wait_split(a, b, everything, "the two members to split the 4 partitions")
        before = [m.owned() for m in members]
        produce(cluster.bootstrap, topic, partitions, 0, per_batch, acks="all")
        first = {(p, i) for p in range(partitions) for i in range(per_batch)}
        wait_for("the first batch to be consumed", lambda: poll_all(members) or first <= consumed(members),
                 lambda: f"not consumed: {sorted(first - consumed(members))[:20]}")
        assert not [f for m in members for f in m.commit_failures], "a commit failed while the group was stable"
        committed = a.consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        assert [tp.offset for tp in committed] == [per_batch] * partitions, committed

        partition, coordinator = kill_group_coordinator(cluster, group)
        killed_at = time.monotonic()
        for m in members:
            m.phase = 1
        produce(cluster.bootstrap, topic, partitions, per_batch, per_batch, acks="all")

        second = {(p, i) for p in range(partitions) for i in range(per_batch, 2 * per_batch)}

        def failover_state():
            return (f"coordinator {coordinator} killed; assignments {[sorted(m.owned()) for m in members]}; "
                    f"not consumed: {sorted(second - consumed(members, 1))[:20]}; revoked: {lost}")

        wait_for("the second batch to be consumed after the coordinator was killed",
                 lambda: poll_all(members) or second <= consumed(members, 1), failover_state,
                 deadline_s=2 * DEADLINE_S)
        assert cluster.partitions("__consumer_offsets")[partition]["leader"] not in (coordinator, -1)
        reread = sorted((p, o) for m in members for p, o, _, phase in m.records if phase == 1 and o < per_batch)
        assert not reread, f"records of the first batch consumed again after the kill: {reread}"
        assert [m.owned() for m in members] == before, "the members did not keep their partitions"
        assert not [t for t, _ in lost if t >= killed_at], f"partitions revoked after the kill: {lost}"
        pa, pb, both = disjoint_snapshot(a, b)
        assert pa and pb and not both and pa | pb == everything, (pa, pb)

        # The new coordinator takes the members' commits.
        def committed_everything():
            for m in members:
                m.poll()
                try:
                    m.consumer.commit(offsets=m.consumer.position(list(m.consumer.assignment())),
                                      asynchronous=False)
                except KafkaException:
                    return False
            got = a.consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
            return [tp.offset for tp in got] == [2 * per_batch] * partitions

        eventually("both batches committed to the new coordinator", committed_everything)
    finally:
        for m in members:
            m.close()


@pytest.mark.compat("confluent-kafka", "groups", "kip-848")
def test_member_epoch_offsets_and_range_assignor(broker):
    topic, group = unique("kip848-range"), unique("kip848-range")
    create_topic(broker.bootstrap, topic, 4)
    members = [Member(member_conf(broker.bootstrap, group, **{"group.remote.assignor": "range"}), topic)
               for _ in range(2)]
    try:
        def split():
            poll_all(members)
            return sorted(sorted(m.owned()) for m in members) == [[0, 1], [2, 3]]

        wait_for("the range assignor to give each member a contiguous half", split,
                 lambda: f"assignments {[sorted(m.owned()) for m in members]}")
        produce(broker.bootstrap, topic, 4, 0, 5)
        everything = {(p, o) for p in range(4) for o in range(5)}
        wait_for("every record to be consumed", lambda: poll_all(members) or everything <= consumed(members),
                 lambda: f"not consumed: {sorted(everything - consumed(members))[:20]}")
        assert sorted(sorted(m.owned()) for m in members) == [[0, 1], [2, 3]], "the assignment moved"
        assert not [f for m in members for f in m.commit_failures], "a commit failed while the group was stable"
        for m in members:
            mine = sorted(m.owned())
            assert {p for p, _, _, _ in m.records} == set(mine), "a member consumed only its own partitions"
            # A commit of explicit offsets by a member of the current epoch, read back.
            m.consumer.commit(offsets=[TopicPartition(topic, p, 4) for p in mine], asynchronous=False)
            got = m.consumer.committed([TopicPartition(topic, p) for p in mine], timeout=30)
            assert [(tp.partition, tp.offset) for tp in got] == [(p, 4) for p in mine]
        # Any member reads the whole group's offsets.
        got = members[0].consumer.committed([TopicPartition(topic, p) for p in range(4)], timeout=30)
        assert [tp.offset for tp in got] == [4, 4, 4, 4]
    finally:
        for m in members:
            m.close()


@pytest.mark.compat("confluent-kafka", "groups", "kip-848")
def test_a_group_of_both_protocols_survives_its_coordinator_being_killed(cluster):
    """An upgrade in progress: one member still on the classic protocol, one on the consumer
    protocol, in one group; the coordinator dies and the group carries on, on both protocols."""
    topic, group = unique("kip848-mixed"), unique("kip848-mixed")
    partitions, per_batch = 4, 25
    everything = set(range(partitions))
    cluster.create_topic(topic, partitions, 3)
    classic_conf = member_conf(cluster.bootstrap, group, **{
        "group.protocol": "classic", "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    a = Member(classic_conf, topic)
    b = Member(member_conf(cluster.bootstrap, group), topic)
    members = (a, b)
    try:
        wait_split(a, b, everything, "the classic and the consumer-protocol member to split the 4 partitions")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        listing = next(g for g in admin.list_consumer_groups(request_timeout=30).result(timeout=60).valid
                       if g.group_id == group)
        assert listing.type == ConsumerGroupType.CONSUMER, listing.type
        produce(cluster.bootstrap, topic, partitions, 0, per_batch, acks="all")
        first = {(p, i) for p in range(partitions) for i in range(per_batch)}
        wait_for("the first batch to be consumed", lambda: poll_all(members) or first <= consumed(members),
                 lambda: f"not consumed: {sorted(first - consumed(members))[:20]}")

        partition, coordinator = kill_group_coordinator(cluster, group)
        for m in members:
            m.phase = 1
        produce(cluster.bootstrap, topic, partitions, per_batch, per_batch, acks="all")
        second = {(p, i) for p in range(partitions) for i in range(per_batch, 2 * per_batch)}

        def both_consumed_the_second_batch():
            poll_all(members)
            pa, pb, both = disjoint_snapshot(a, b)
            return pa and pb and not both and pa | pb == everything and second <= consumed(members, 1)

        wait_for("both members to own partitions again and consume the second batch", both_consumed_the_second_batch,
                 lambda: (f"coordinator {coordinator} killed; assignments {[sorted(m.owned()) for m in members]}; "
                          f"not consumed: {sorted(second - consumed(members, 1))[:20]}"),
                 deadline_s=2 * DEADLINE_S)
        assert cluster.partitions("__consumer_offsets")[partition]["leader"] not in (coordinator, -1)
        reread = sorted((p, o) for m in members for p, o, _, phase in m.records if phase == 1 and o < per_batch)
        assert not reread, f"records of the first batch consumed again after the kill: {reread}"
    finally:
        for m in members:
            m.close()
