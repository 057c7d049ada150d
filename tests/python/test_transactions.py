"""Transactions (KIP-98, KIP-447) through confluent-kafka (librdkafka) and aiokafka, against a
standalone broker and a 3-broker cluster.

- Committed transactions are visible to read_committed consumers, aborted ones never; a
  read_uncommitted consumer sees both.
- An open transaction holds back the last stable offset; a read_committed consumer stops there.
- Consume-transform-produce: offsets sent with the transaction count only when it commits.
- A second producer with the same transactional id fences the first.
- A transaction left open past its timeout is aborted by the coordinator.
- After SIGKILL and restart the broker still knows which transactions were aborted.
- On a cluster, markers reach partitions led by other brokers, and a new coordinator aborts the
  transaction its failed predecessor left open.
"""

import asyncio
import time

import pytest
from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)

from cluster import eventually, running_cluster
from harness import IO_DEADLINE_S, create_topic, running_broker, unique
from test_replication import coordinator_partition


@pytest.fixture
def broker():
    yield from running_broker(("--fsync", "always", "--auto-create-topics", "false",
                               "--transaction-max-timeout-ms", "600000"))


def txn_producer(bootstrap, txn_id, **extra):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 1}
    conf.update(extra)
    p = Producer(conf)
    p.init_transactions(IO_DEADLINE_S)
    return p


def read_values(bootstrap, topic, partitions, isolation, quiet_s=3.0):
    """Every value a consumer with `isolation` reads from the partitions, in order per
    partition, once nothing more arrives for `quiet_s`."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"), "enable.auto.commit": False,
                  "isolation.level": isolation})
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        got = {p: [] for p in range(partitions)}
        deadline = time.monotonic() + IO_DEADLINE_S
        last = time.monotonic()
        while time.monotonic() - last < quiet_s:
            assert time.monotonic() < deadline, f"reading did not settle: {got}"
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error() is None:
                    got[m.partition()].append(m.value().decode())
                    last = time.monotonic()
                elif m.error().code() != KafkaError._PARTITION_EOF:
                    raise AssertionError(f"consumer error: {m.error()}")
        return got
    finally:
        c.close()


def watermarks(bootstrap, topic, partition, isolation):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("wm"), "isolation.level": isolation})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=30, cached=False)
    finally:
        c.close()


def produce_txn(p, topic, values, partitions, commit):
    p.begin_transaction()
    for i, v in enumerate(values):
        p.produce(topic, value=v, partition=i % partitions)
    # Sent before the end, so an abort leaves the records in the log for the marker to cover.
    assert p.flush(IO_DEADLINE_S) == 0
    if commit:
        p.commit_transaction(IO_DEADLINE_S)
    else:
        p.abort_transaction(IO_DEADLINE_S)


@pytest.mark.compat("confluent-kafka", "transactions")
def test_read_committed_sees_committed_transactions_only(broker):
    topic = unique("txn")
    create_topic(broker.bootstrap, topic, 2)
    p = txn_producer(broker.bootstrap, unique("tx"))
    produce_txn(p, topic, [f"c1-{i}" for i in range(6)], 2, commit=True)
    produce_txn(p, topic, [f"a-{i}" for i in range(6)], 2, commit=False)
    produce_txn(p, topic, [f"c2-{i}" for i in range(6)], 2, commit=True)
    committed = read_values(broker.bootstrap, topic, 2, "read_committed")
    assert committed == {0: ["c1-0", "c1-2", "c1-4", "c2-0", "c2-2", "c2-4"],
                         1: ["c1-1", "c1-3", "c1-5", "c2-1", "c2-3", "c2-5"]}
    everything = read_values(broker.bootstrap, topic, 2, "read_uncommitted")
    assert everything[0] == ["c1-0", "c1-2", "c1-4", "a-0", "a-2", "a-4", "c2-0", "c2-2", "c2-4"]


@pytest.mark.compat("confluent-kafka", "transactions")
def test_an_open_transaction_holds_back_the_last_stable_offset(broker):
    topic = unique("lso")
    create_topic(broker.bootstrap, topic, 1)
    p = txn_producer(broker.bootstrap, unique("tx"))
    produce_txn(p, topic, ["before"], 1, commit=True)
    p.begin_transaction()
    p.produce(topic, value="pending", partition=0)
    assert p.flush(IO_DEADLINE_S) == 0
    # "before" at 0, its marker at 1, "pending" at 2: read_committed stops at the open transaction.
    assert watermarks(broker.bootstrap, topic, 0, "read_committed") == (0, 2)
    assert watermarks(broker.bootstrap, topic, 0, "read_uncommitted") == (0, 3)
    assert read_values(broker.bootstrap, topic, 1, "read_committed", quiet_s=2) == {0: ["before"]}
    p.commit_transaction(IO_DEADLINE_S)
    assert watermarks(broker.bootstrap, topic, 0, "read_committed") == (0, 4)
    assert read_values(broker.bootstrap, topic, 1, "read_committed") == {0: ["before", "pending"]}


@pytest.mark.compat("confluent-kafka", "transactions")
def test_consume_transform_produce_commits_offsets_with_the_transaction(broker):
    src, out = unique("src"), unique("out")
    create_topic(broker.bootstrap, src, 1)
    create_topic(broker.bootstrap, out, 1)
    seed = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        seed.produce(src, value=f"m{i}", partition=0)
    assert seed.flush(IO_DEADLINE_S) == 0
    group = unique("ctp")
    p = txn_producer(broker.bootstrap, unique("tx"))
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                  "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(src, 0, OFFSET_BEGINNING)])

        def take(n):
            got = []
            deadline = time.monotonic() + IO_DEADLINE_S
            while len(got) < n:
                assert time.monotonic() < deadline, f"consumed {got}"
                got += [m for m in c.consume(n - len(got), 0.5) if m.error() is None]
            return got

        def transform(msgs, commit):
            p.begin_transaction()
            for m in msgs:
                p.produce(out, value=m.value().decode().upper(), partition=0)
            p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata())
            if commit:
                p.commit_transaction(IO_DEADLINE_S)
            else:
                p.abort_transaction(IO_DEADLINE_S)

        transform(take(4), commit=True)
        transform(take(3), commit=False)
    finally:
        c.close()
    check = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                      "isolation.level": "read_committed"})
    try:
        committed = check.committed([TopicPartition(src, 0)], timeout=30)
        assert committed[0].offset == 4, "the aborted transaction's offsets must not count"
    finally:
        check.close()
    assert read_values(broker.bootstrap, out, 1, "read_committed") == {0: ["M0", "M1", "M2", "M3"]}


@pytest.mark.compat("confluent-kafka", "transactions")
def test_a_second_producer_with_the_same_id_fences_the_first(broker):
    topic = unique("zombie")
    create_topic(broker.bootstrap, topic, 1)
    txn_id = unique("tx")
    old = txn_producer(broker.bootstrap, txn_id)
    old.begin_transaction()
    old.produce(topic, value="zombie", partition=0)
    assert old.flush(IO_DEADLINE_S) == 0
    new = txn_producer(broker.bootstrap, txn_id)
    with pytest.raises(KafkaException) as fenced:
        old.commit_transaction(IO_DEADLINE_S)
    assert fenced.value.args[0].code() == KafkaError._FENCED, fenced.value
    produce_txn(new, topic, ["fresh"], 1, commit=True)
    assert read_values(broker.bootstrap, topic, 1, "read_committed") == {0: ["fresh"]}


def test_a_transaction_past_its_timeout_is_aborted(broker):
    topic = unique("timeout")
    create_topic(broker.bootstrap, topic, 1)
    p = txn_producer(broker.bootstrap, unique("tx"), **{"transaction.timeout.ms": 2000})
    p.begin_transaction()
    p.produce(topic, value="abandoned", partition=0)
    assert p.flush(IO_DEADLINE_S) == 0
    # The coordinator aborts it: its marker (offset 1) moves the last stable offset past it.
    eventually("the abort marker", lambda: watermarks(broker.bootstrap, topic, 0, "read_committed") == (0, 2),
               timeout=30)
    assert read_values(broker.bootstrap, topic, 1, "read_committed", quiet_s=1) == {0: []}
    with pytest.raises(KafkaException):
        p.commit_transaction(IO_DEADLINE_S)


def test_a_timeout_above_the_broker_maximum_is_refused(broker):
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": unique("tx"),
                  "transaction.timeout.ms": 900000})
    with pytest.raises(KafkaException) as refused:
        p.init_transactions(IO_DEADLINE_S)
    assert refused.value.args[0].code() == KafkaError.INVALID_TRANSACTION_TIMEOUT, refused.value


def test_aborted_transactions_stay_aborted_after_sigkill(broker):
    topic = unique("crash")
    create_topic(broker.bootstrap, topic, 1)
    txn_id = unique("tx")
    p = txn_producer(broker.bootstrap, txn_id)
    produce_txn(p, topic, ["c0", "c1"], 1, commit=True)
    produce_txn(p, topic, ["a0", "a1"], 1, commit=False)
    p.begin_transaction()
    p.produce(topic, value="open", partition=0)
    assert p.flush(IO_DEADLINE_S) == 0
    broker.kill()
    broker.start()
    assert read_values(broker.bootstrap, topic, 1, "read_committed", quiet_s=2) == {0: ["c0", "c1"]}
    # The restarted coordinator still has the open transaction: a new producer aborts it.
    fresh = txn_producer(broker.bootstrap, txn_id)
    produce_txn(fresh, topic, ["c2"], 1, commit=True)
    assert read_values(broker.bootstrap, topic, 1, "read_committed") == {0: ["c0", "c1", "c2"]}


@pytest.mark.compat("aiokafka", "transactions")
def test_aiokafka_transactions(broker):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = unique("aio-txn")
    create_topic(broker.bootstrap, topic, 1)

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=unique("aio"))
        await p.start()
        try:
            async with p.transaction():
                await p.send_and_wait(topic, b"kept", partition=0)
            with pytest.raises(RuntimeError):
                async with p.transaction():
                    await p.send_and_wait(topic, b"dropped", partition=0)
                    raise RuntimeError("abort")
        finally:
            await p.stop()
        c = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, isolation_level="read_committed",
                             auto_offset_reset="earliest", enable_auto_commit=False)
        await c.start()
        try:
            tp = __import__("aiokafka").TopicPartition(topic, 0)
            c.assign([tp])
            await c.seek_to_beginning(tp)
            got = []
            deadline = time.monotonic() + IO_DEADLINE_S
            while time.monotonic() < deadline:
                batch = await c.getmany(timeout_ms=1000)
                got += [m.value for msgs in batch.values() for m in msgs]
                if got and not batch:
                    break
            return got
        finally:
            await c.stop()

    assert asyncio.run(run()) == [b"kept"]


@pytest.fixture
def cluster():
    yield from running_cluster()


def test_cluster_markers_reach_every_leader_and_a_new_coordinator_finishes_the_abort(cluster):
    topic = unique("ctxn")
    cluster.create_topic(topic, 3, replication=3)
    leaders = {cluster.leader_of(topic, p) for p in range(3)}
    assert len(leaders) > 1, f"partitions should spread over brokers: {leaders}"
    txn_id = unique("tx")
    p = txn_producer(cluster.bootstrap, txn_id)
    produce_txn(p, topic, [f"c{i}" for i in range(6)], 3, commit=True)
    produce_txn(p, topic, [f"a{i}" for i in range(6)], 3, commit=False)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, value=f"open{i}", partition=i)
    assert p.flush(IO_DEADLINE_S) == 0
    committed = read_values(cluster.bootstrap, topic, 3, "read_committed", quiet_s=2)
    assert committed == {0: ["c0", "c3"], 1: ["c1", "c4"], 2: ["c2", "c5"]}
    states = eventually("__transaction_state", lambda: cluster.partitions("__transaction_state"))
    coordinator = states[coordinator_partition(txn_id, len(states))]["leader"]
    cluster.brokers[coordinator].kill()
    # A new producer finds the new coordinator, which loaded the open transaction and aborts it.
    fresh = txn_producer(cluster.bootstrap, txn_id)
    produce_txn(fresh, topic, ["after0", "after1", "after2"], 3, commit=True)
    committed = read_values(cluster.bootstrap, topic, 3, "read_committed")
    assert committed == {0: ["c0", "c3", "after0"], 1: ["c1", "c4", "after1"], 2: ["c2", "c5", "after2"]}
