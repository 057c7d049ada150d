"""Transactions under a seeded nemesis: exactly-once consume-transform-produce on a replicated
cluster while brokers, meta nodes, links and the transaction coordinator fail.

3 chronik-meta + 3 chronik-broker processes behind TCP proxies (tests/python/cluster.py). A
confluent-kafka transactional producer reads a source topic with a read_committed consumer in
a group and, per transaction, writes one output record per source record to 3 output
partitions (so each transaction spans partitions) and commits the consumer's offsets with it
(`send_offsets_to_transaction`); about one transaction in five is aborted on purpose. An error
is handled as librdkafka documents it: retriable ones retried, abortable ones aborted (the
consumer rewinds to its committed offset), fatal ones end the producer and a new one with the
same transactional id takes over (fencing the old one and aborting its open transaction). A
read_committed reader follows the output all along. The nemesis of test_nemesis.py injects
one fault at a time, plus SIGKILL of the transaction coordinator. After healing, the checker
reports, with the seed:
- aborted reads: a record of an aborted transaction visible to a read_committed consumer;
- lost committed writes: a transaction whose commit was acknowledged, not (wholly) visible;
- torn transactions: part of a transaction visible, part not;
- duplicates: a source record transformed into more than one visible output record, or the
  visible outputs not exactly the source records below the group's committed offset;
- an open transaction left behind: the last stable offset of an output partition below its
  high watermark once every transaction has ended.

CHRONIK_NEMESIS_SEED picks the schedule (default: random, printed); CHRONIK_NEMESIS_STEPS its
length (default 6, what CI runs).
"""

import os
import random
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from cluster import Cluster, eventually
from harness import unique
from test_nemesis import FAULTS, Nemesis, Timeline, heal
from test_replication import coordinator_partition

OUT_PARTITIONS = 3
SOURCE_RECORDS = 20_000
TXN_TOPIC = "__transaction_state"
TXN_TIMEOUT_MS = 10_000
BROKER_ARGS = ("--replica-lag-time-max-ms", "4000")


class TxnNemesis(Nemesis):
    """The nemesis of test_nemesis.py, plus SIGKILL of the transactional id's coordinator."""

    faults = (*FAULTS, "kill_coordinator")

    def __init__(self, cluster, rng, timeline, txn_id):
        super().__init__(cluster, rng, timeline)
        self.txn_id = txn_id

    def inject(self, kind):
        if kind != "kill_coordinator":
            return super().inject(kind)
        c = self.c
        states = c.partitions(TXN_TOPIC)
        b = states[coordinator_partition(self.txn_id, len(states))]["leader"]
        if b not in c.brokers:
            return super().inject("kill_broker")
        c.brokers[b].kill()
        return f"SIGKILL broker {b}, the transaction coordinator", lambda: c.start_broker(b)


class TxnWorkload:
    """The transform loop and the read_committed follower, recording what they saw."""

    def __init__(self, cluster, source, out, timeline, rng):
        self.c, self.source, self.out, self.timeline, self.rng = cluster, source, out, timeline, rng
        self.txn_id = unique("nemesis-tx")
        self.group = unique("nemesis-txn")
        self.committed, self.aborted, self.unknown = set(), set(), set()
        self.sizes = {}
        self.producers_made = 0
        self.followed = []
        self.stop_event = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self._guard, args=(f,), daemon=True)
                        for f in (self._transform, self._follow)]

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=120)

    def _guard(self, f):
        try:
            f()
        except Exception as e:  # noqa: BLE001 - reported by the checker
            self.errors.append(repr(e))
            self.timeline.add(f"workload thread failed: {e!r}")

    def _producer(self):
        while not self.stop_event.is_set():
            p = Producer({"bootstrap.servers": self.c.bootstrap, "transactional.id": self.txn_id,
                          "transaction.timeout.ms": TXN_TIMEOUT_MS, "message.timeout.ms": TXN_TIMEOUT_MS - 1000,
                          "linger.ms": 5})
            try:
                p.init_transactions(30)
                self.producers_made += 1
                self.timeline.add(f"producer {self.producers_made} initialised")
                return p
            except KafkaException as e:
                self.timeline.add(f"init_transactions failed: {e.args[0]}")
                time.sleep(0.5)
        return None

    def _consumer(self):
        c = Consumer({"bootstrap.servers": self.c.bootstrap, "group.id": self.group,
                      "isolation.level": "read_committed", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest"})
        c.assign([TopicPartition(self.source, 0, OFFSET_BEGINNING)])
        return c

    def _rewind(self, consumer):
        """Back to the group's committed offset, where the next transaction must start."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.stop_event.is_set():
            try:
                committed = consumer.committed([TopicPartition(self.source, 0)], timeout=10)[0].offset
                consumer.seek(TopicPartition(self.source, 0, committed if committed >= 0 else OFFSET_BEGINNING))
                return
            except KafkaException as e:
                self.timeline.add(f"rewind failed: {e.args[0]}")
                time.sleep(0.5)

    def _end(self, p, n, commit):
        """Ends transaction `n`; returns (outcome, whether the producer must be replaced)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                if commit:
                    p.commit_transaction(10)
                    return "committed", False
                p.abort_transaction(10)
                return "aborted", False
            except KafkaException as e:
                err = e.args[0]
                if err.retriable() and time.monotonic() < deadline:
                    continue
                if commit and err.txn_requires_abort():
                    commit = False
                    continue
                self.timeline.add(f"transaction {n}: {'commit' if commit else 'abort'} failed: {err}")
                return "unknown", True

    def _transform(self):
        p = self._producer()
        consumer = self._consumer()
        n = 0
        try:
            while p is not None and not self.stop_event.is_set():
                msgs = [m for m in consumer.consume(self.rng.randint(2, 8), 0.5) if m.error() is None]
                if not msgs:
                    continue
                n += 1
                self.sizes[n] = len(msgs)
                commit = self.rng.random() >= 0.2
                replace = False
                try:
                    p.begin_transaction()
                    for m in msgs:
                        src = int(m.value().decode().split(":")[1])
                        p.produce(self.out, value=f"src:{src}:txn:{n}:{len(msgs)}", partition=src % OUT_PARTITIONS)
                    position = [TopicPartition(self.source, 0, msgs[-1].offset() + 1)]
                    p.send_offsets_to_transaction(position, consumer.consumer_group_metadata(), 30)
                    outcome, replace = self._end(p, n, commit)
                except KafkaException as e:
                    err = e.args[0]
                    self.timeline.add(f"transaction {n} failed before its end: {err}")
                    outcome, replace = ("unknown", True) if err.fatal() else self._end(p, n, False)
                {"committed": self.committed, "aborted": self.aborted, "unknown": self.unknown}[outcome].add(n)
                if outcome != "committed":
                    if replace:
                        p = self._producer()
                    self._rewind(consumer)
        finally:
            consumer.close()

    def _follow(self):
        c = Consumer({"bootstrap.servers": self.c.bootstrap, "group.id": unique("follower"),
                      "isolation.level": "read_committed", "enable.auto.commit": False})
        c.assign([TopicPartition(self.out, part, OFFSET_BEGINNING) for part in range(OUT_PARTITIONS)])
        try:
            while not self.stop_event.is_set():
                for m in c.consume(500, 0.5):
                    if m.error() is None:
                        self.followed.append(m.value().decode())
        finally:
            c.close()


def fill_source(c, source):
    p = Producer({"bootstrap.servers": c.bootstrap, "enable.idempotence": True, "linger.ms": 20})
    for i in range(SOURCE_RECORDS):
        p.produce(source, value=f"src:{i}", partition=0)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(60) == 0


def read_committed_outputs(c, out):
    """(values, {partition: (last stable offset, high watermark)}) of the output topic."""
    reader = Consumer({"bootstrap.servers": c.bootstrap, "group.id": unique("checker"),
                       "isolation.level": "read_committed", "enable.auto.commit": False})
    plain = Consumer({"bootstrap.servers": c.bootstrap, "group.id": unique("checker-hw")})
    try:
        marks = {}
        for part in range(OUT_PARTITIONS):
            tp = TopicPartition(out, part)
            marks[part] = (reader.get_watermark_offsets(tp, timeout=30, cached=False)[1],
                           plain.get_watermark_offsets(tp, timeout=30, cached=False)[1])
        reader.assign([TopicPartition(out, part, OFFSET_BEGINNING) for part in range(OUT_PARTITIONS)])
        values, done = [], set()
        deadline = time.monotonic() + 120
        while len(done) < OUT_PARTITIONS:
            assert time.monotonic() < deadline, f"reading the output did not finish: {marks}, done {done}"
            for m in reader.consume(1000, 0.5):
                if m.error() is None:
                    values.append(m.value().decode())
                elif m.error().code() == KafkaError._PARTITION_EOF:
                    done.add(m.partition())
            for part in range(OUT_PARTITIONS):
                if part not in done and reader.position([TopicPartition(out, part)])[0].offset >= marks[part][0]:
                    done.add(part)
        return values, marks
    finally:
        reader.close()
        plain.close()


def check(w, visible, marks, committed_offset):
    problems = []
    by_txn = {}
    sources = []
    for v in visible:
        _, src, _, n, size = v.split(":")
        by_txn.setdefault(int(n), []).append(int(src))
        sources.append(int(src))
    aborted_reads = sorted(n for n in by_txn if n in w.aborted)
    if aborted_reads:
        problems.append(f"aborted reads: transactions {aborted_reads[:10]} were aborted but are visible")
    followed_aborted = sorted({int(v.split(":")[3]) for v in w.followed} & w.aborted)
    if followed_aborted:
        problems.append(f"aborted reads during the run: transactions {followed_aborted[:10]}")
    lost = sorted(n for n in w.committed if n not in by_txn)
    if lost:
        problems.append(f"lost committed writes: transactions {lost[:10]} were committed but are not visible")
    torn = sorted(n for n, srcs in by_txn.items() if len(srcs) != w.sizes.get(n, -1))
    if torn:
        problems.append(f"torn transactions: {[(n, len(by_txn[n]), w.sizes.get(n)) for n in torn[:10]]}")
    if len(sources) != len(set(sources)):
        problems.append(f"duplicates: {len(sources) - len(set(sources))} source records transformed twice")
    if sorted(set(sources)) != list(range(committed_offset)):
        missing = sorted(set(range(committed_offset)) - set(sources))[:10]
        beyond = sorted(s for s in set(sources) if s >= committed_offset)[:10]
        problems.append(f"outputs do not match the committed offset {committed_offset}: "
                        f"missing sources {missing}, sources past it {beyond}")
    stuck = {part: m for part, m in marks.items() if m[0] != m[1]}
    if stuck:
        problems.append(f"an open transaction left behind: (last stable offset, high watermark) {stuck}")
    if w.errors:
        problems.append(f"workload errors: {w.errors}")
    return problems


def committed_source_offset(c, group, source):
    consumer = Consumer({"bootstrap.servers": c.bootstrap, "group.id": group, "enable.auto.commit": False,
                         "isolation.level": "read_committed"})
    try:
        return consumer.committed([TopicPartition(source, 0)], timeout=10)[0].offset
    finally:
        consumer.close()


def test_transactions_hold_under_a_seeded_nemesis():
    seed = int(os.environ.get("CHRONIK_NEMESIS_SEED", random.randrange(1 << 32)))
    steps = int(os.environ.get("CHRONIK_NEMESIS_STEPS", "6"))
    rng = random.Random(seed)
    timeline = Timeline(f"nemesis-txn-{seed}")
    timeline.add(f"seed {seed}, {steps} steps")
    c = Cluster(proxied=True, session_timeout_ms=3000, broker_args=BROKER_ARGS)
    try:
        c.start()
        source, out = unique("txn-source"), unique("txn-out")
        c.create_topic(source, 1, 3, {"min.insync.replicas": "2"})
        c.create_topic(out, OUT_PARTITIONS, 3, {"min.insync.replicas": "2"})
        fill_source(c, source)
        w = TxnWorkload(c, source, out, timeline, rng)
        w.start()
        eventually("the first committed transaction", lambda: w.committed, timeout=60)
        TxnNemesis(c, rng, timeline, w.txn_id).run(steps)
        heal(c, timeline)
        eventually("every broker live", lambda: all(c.live(b) for b in c.brokers), timeout=120)
        count = len(w.committed)
        eventually("transactions committing after the faults", lambda: len(w.committed) > count + 3, timeout=120)
        w.stop()
        c.wait_isr(out, 3, timeout=120)
        # A transaction the stopped producer left open ends by its timeout at the latest.
        eventually("no open transaction", lambda: all(
            lso == hw for lso, hw in read_committed_outputs(c, out)[1].values()), timeout=TXN_TIMEOUT_MS / 1000 + 60)
        visible, marks = read_committed_outputs(c, out)
        committed_offset = eventually("the group's committed offset",
                                      lambda: committed_source_offset(c, w.group, source))
        timeline.add(f"checked: {len(w.committed)} committed, {len(w.aborted)} aborted, "
                     f"{len(w.unknown)} unknown, {w.producers_made} producers, {len(visible)} visible records, "
                     f"group offset {committed_offset}")
        problems = check(w, visible, marks, committed_offset)
        assert len(w.committed) > 0 and len(w.aborted) > 0, "the run needs committed and aborted transactions"
        assert not problems, "\n".join(problems)
        print(f"\ntransactional nemesis seed {seed}:\n{timeline.text()}")
        timeline.passed()
    except BaseException:
        print(f"\ntransactional nemesis FAILED with seed {seed} (rerun: CHRONIK_NEMESIS_SEED={seed}); "
              f"timeline:\n{timeline.text()}")
        print(c.logs())
        raise
    finally:
        timeline.close()
        c.cleanup()
