"""aiokafka (asyncio, pure Python) against the broker binary: administration, the producer with
every acks setting, idempotence and codec, the consumer by assignment and in a group, and the
group administration calls it has (it cannot delete groups). Each test drives its own event loop
with asyncio.run.
"""

import asyncio
import os
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from harness import DEFAULT_ARGS, IO_DEADLINE_S, running_broker, unique

# Groups form at once: the tests' consumers join together, nothing is gained by waiting.
ARGS = (*DEFAULT_ARGS, "--group-initial-rebalance-delay-ms", "0")


@pytest.fixture(scope="module")
def broker():
    yield from running_broker(ARGS)


async def admin_client(broker):
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    await admin.start()
    return admin


async def create(broker, name, partitions, configs=None):
    admin = await admin_client(broker)
    try:
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})])
    finally:
        await admin.close()


async def produce(broker, topic, records):
    """Produces (partition, value, timestamp or None) records and waits for every acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        sends = [await producer.send(topic, value=v, partition=p, timestamp_ms=ts) for p, v, ts in records]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def read(broker, topic, partitions, expected):
    """Reads `expected` records from the start of the given partitions by assignment."""
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=4 << 20,
                                fetch_max_bytes=8 << 20)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got = []
        async with asyncio.timeout(IO_DEADLINE_S):
            while len(got) < expected:
                for msgs in (await consumer.getmany(timeout_ms=500)).values():
                    got.extend(msgs)
        extra = await consumer.getmany(timeout_ms=500)
        assert sum(len(m) for m in extra.values()) == 0, "records beyond those written"
        return got
    finally:
        await consumer.stop()


@pytest.mark.compat("aiokafka", "topics", "metadata", "topic-configs", "partitions")
def test_aiokafka_admin_topics_configs_and_partitions(broker):
    name = unique("aio-admin")

    async def run():
        admin = await admin_client(broker)
        try:
            await admin.create_topics([NewTopic(name, 2, 1, topic_configs={"retention.ms": "3600000"})])
            assert name in await admin.list_topics()
            again = await admin.create_topics([NewTopic(name, 2, 1)])
            assert [e[:2] for e in again.topic_errors] == [(name, TopicAlreadyExistsError.errno)]
            (described,) = await admin.describe_topics([name])
            assert described["error_code"] == 0 and len(described["partitions"]) == 2
            cluster = await admin.describe_cluster()
            assert [b["port"] for b in cluster["brokers"]] == [broker.port], "our broker, and only it"

            resource = ConfigResource(ConfigResourceType.TOPIC, name)
            (resp,) = await admin.describe_configs([resource])
            assert {e[0]: e[1] for e in resp.resources[0][4]}["retention.ms"] == "3600000"
            await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name,
                                                      configs={"retention.ms": "1800000"})])
            (resp,) = await admin.describe_configs([resource])
            assert {e[0]: e[1] for e in resp.resources[0][4]}["retention.ms"] == "1800000"

            await admin.create_partitions({name: NewPartitions(total_count=4)})
            (described,) = await admin.describe_topics([name])
            assert len(described["partitions"]) == 4

            await admin.delete_topics([name])
            async with asyncio.timeout(30):
                while name in await admin.list_topics():
                    await asyncio.sleep(0.1)
        finally:
            await admin.close()

    asyncio.run(run())


@pytest.mark.compat("aiokafka", "produce", "acks", "headers-nulls", "assign-seek")
@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_aiokafka_produce_with_acks_headers_and_nulls(broker, acks):
    topic = unique("aio-acks")
    n = 2000

    async def run():
        await create(broker, topic, 2)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=acks, linger_ms=5)
        await producer.start()
        try:
            sends = [await producer.send(topic, key=None if i % 5 == 0 else b"k%d" % i,
                                         value=None if i % 5 == 2 else b"v%d" % i,
                                         headers=[("i", str(i).encode())], partition=i % 2)
                     for i in range(n)]
            metas = await asyncio.gather(*sends)
        finally:
            await producer.stop()
        if acks != 0:
            assert sorted(m.offset for m in metas if m.partition == 0) == list(range(n // 2))
        got = await read(broker, topic, [0, 1], n)
        for p in (0, 1):
            mine = [m for m in got if m.partition == p]
            want = [i for i in range(n) if i % 2 == p]
            assert [m.offset for m in mine] == list(range(len(want)))
            assert [m.key for m in mine] == [None if i % 5 == 0 else b"k%d" % i for i in want]
            assert [m.value for m in mine] == [None if i % 5 == 2 else b"v%d" % i for i in want]
            assert [list(m.headers) for m in mine] == [[("i", str(i).encode())] for i in want]

    asyncio.run(run())


@pytest.mark.compat("aiokafka", "idempotence", "compression")
@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_aiokafka_idempotent_producer_with_every_codec(broker, codec):
    topic = unique(f"aio-{codec}")
    n = 1500
    values = [(b"compressible payload %d " % (i % 10)) * 20 for i in range(n)]

    async def run():
        await create(broker, topic, 1)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True,
                                    compression_type=codec, linger_ms=20)
        await producer.start()
        try:
            sends = [await producer.send(topic, key=b"k%d" % i, value=v, partition=0)
                     for i, v in enumerate(values)]
            offsets = [m.offset for m in await asyncio.gather(*sends)]
        finally:
            await producer.stop()
        assert offsets == list(range(n)), "each record once, in order"
        got = await read(broker, topic, [0], n)
        assert [m.value for m in got] == values

    asyncio.run(run())


@pytest.mark.compat("aiokafka", "large-records")
def test_aiokafka_one_mib_record(broker):
    topic = unique("aio-big")
    big = os.urandom(1 << 20)

    async def run():
        await create(broker, topic, 1)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=4 << 20)
        await producer.start()
        try:
            await producer.send_and_wait(topic, key=b"big", value=big, partition=0)
            await producer.send_and_wait(topic, key=b"small", value=b"after", partition=0)
        finally:
            await producer.stop()
        got = await read(broker, topic, [0], 2)
        assert [(m.offset, m.key, m.value) for m in got] == [(0, b"big", big), (1, b"small", b"after")]

    asyncio.run(run())


@pytest.mark.compat("aiokafka", "offsets-for-times", "assign-seek")
def test_aiokafka_offsets_for_times_and_seek(broker):
    topic = unique("aio-times")
    # An hour ago: before every other record, and young enough that retention keeps it.
    base = int(time.time() * 1000) - 3_600_000

    async def run():
        await create(broker, topic, 1)
        # One batch per record, each with its own timestamp.
        for i in range(10):
            await produce(broker, topic, [(0, b"t%d" % i, base + i * 1000)])
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            for ts, want in [(base - 5000, 0), (base, 0), (base + 3500, 4), (base + 9000, 9)]:
                found = await consumer.offsets_for_times({tp: ts})
                assert found[tp].offset == want, (ts, found[tp], want)
            assert (await consumer.offsets_for_times({tp: base + 60_000}))[tp] is None
            assert await consumer.beginning_offsets([tp]) == {tp: 0}
            assert await consumer.end_offsets([tp]) == {tp: 10}
            consumer.assign([tp])
            consumer.seek(tp, 7)
            async with asyncio.timeout(IO_DEADLINE_S):
                msg = await consumer.getone()
            assert (msg.offset, msg.value, msg.timestamp) == (7, b"t7", base + 7000)
        finally:
            await consumer.stop()

    asyncio.run(run())


@pytest.mark.compat("aiokafka", "groups", "group-admin")
def test_aiokafka_group_splits_commits_and_is_administered(broker):
    topic, group = unique("aio-grp-topic"), unique("aio-grp")
    n = 400

    async def consume_until(consumers, total):
        got = []
        async with asyncio.timeout(IO_DEADLINE_S):
            while len(got) < total:
                for c in consumers:
                    for msgs in (await c.getmany(timeout_ms=200)).values():
                        got.extend((c, m) for m in msgs)
        return got

    async def run():
        await create(broker, topic, 4)
        await produce(broker, topic, [(i % 4, b"%d" % i, None) for i in range(n)])
        consumers = [AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                                      enable_auto_commit=False, auto_offset_reset="earliest")
                     for _ in range(2)]
        for c in consumers:
            await c.start()
        try:
            got = await consume_until(consumers, n)
            assert sorted(int(m.value) for _, m in got) == list(range(n)), "each record once"
            owners = {m.partition: c for c, m in got}
            assert len(set(map(id, owners.values()))) == 2, "both members got partitions"
            for c in consumers:
                await c.commit()
            tp = TopicPartition(topic, 0)
            assert await owners[0].committed(tp) == n // 4

            admin = await admin_client(broker)
            try:
                assert (group, "consumer") in await admin.list_consumer_groups()
                (described,) = await admin.describe_consumer_groups([group])
                assert described.groups[0][1:3] == (group, "Stable"), described
                assert len(described.groups[0][5]) == 2, "two members"
                offsets = await admin.list_consumer_group_offsets(group)
                assert {t.partition: o.offset for t, o in offsets.items()} == {p: n // 4 for p in range(4)}
            finally:
                await admin.close()
        finally:
            for c in consumers:
                await c.stop()

    asyncio.run(run())


@pytest.mark.compat("aiokafka", "delete-records")
def test_aiokafka_delete_records_moves_the_log_start(broker):
    topic = unique("aio-delete")

    async def run():
        await create(broker, topic, 1)
        await produce(broker, topic, [(0, b"%d" % i, None) for i in range(10)])
        tp = TopicPartition(topic, 0)
        admin = await admin_client(broker)
        try:
            result = await admin.delete_records({tp: RecordsToDelete(6)})
            assert result[tp] == 6
        finally:
            await admin.close()
        got = await read(broker, topic, [0], 4)
        assert [(m.offset, m.value) for m in got] == [(o, b"%d" % o) for o in range(6, 10)]

    asyncio.run(run())
