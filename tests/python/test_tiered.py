"""The remote tier (`--remote-storage`) with confluent-kafka against the broker binary: the
leader copies every sealed, committed segment of a topic with `remote.storage.enable=true` to
the object store byte for byte (a directory, and moto's S3 server started here), local segments
go past `local.retention.*` once copied, consumers read the whole log back from offset 0 (by
offset and by timestamp), a corrupt remote object is refused, retention deletes the copies, a
deleted topic's copies are deleted, and a broker without a remote tier refuses the config.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                  ResourceType)

from cluster import eventually
from harness import BROKER_BIN, IO_DEADLINE_S, BrokerProcess, create_topic, free_port, metric, reassign, unique
from tier_support import (FAST, LOCAL_FEW, TIERED, aws_env, check_read_back, copied_all_sealed, describe_producers,
                          local_start_past, produce, start_moto, walctl_list)


def test_sealed_segments_are_copied_byte_for_byte_and_retention_deletes_the_copies(tmp_path):
    tier = tmp_path / "tier"
    url = f"file://{tier}"
    b = BrokerProcess((*FAST, "--remote-storage", url)).start()
    try:
        topic, plain = unique("tiered"), unique("plain")
        admin = create_topic(b.bootstrap, topic, 1, TIERED)
        create_topic(b.bootstrap, plain, 1, {"segment.bytes": "4096"})
        produce(b.bootstrap, topic, 600)
        produce(b.bootstrap, plain, 100)
        row = eventually("every sealed segment copied", lambda: copied_all_sealed(b.data_dir, url, topic))
        assert len(row["remote"]["segment_details"]) >= 10
        local_dir = Path(b.data_dir) / "partitions" / f"{topic}-0"
        for copy in row["remote"]["segment_details"]:
            local = local_dir / f"{copy['base_offset']:020d}.wal"
            assert (tier / copy["key"]).read_bytes() == local.read_bytes(), copy
        assert not any(tier.glob(f"{plain}-0/**/*.wal")), "a topic without remote storage is not copied"

        # Everything but the active segment expires: retention deletes the copies too.
        expire = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
            ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.SET)])
        admin.incremental_alter_configs([expire])[expire].result(timeout=30)
        eventually("the copies deleted", lambda: not any(tier.glob(f"{topic}-0/**/*.wal")))
    finally:
        b.cleanup()


def test_a_topic_far_beyond_its_local_retention_is_read_back_from_offset_0(tmp_path):
    tier = tmp_path / "tier"
    metrics_addr = f"127.0.0.1:{free_port()}"
    b = BrokerProcess((*FAST, "--remote-storage", f"file://{tier}", "--metrics-addr", metrics_addr)).start()
    try:
        topic = unique("cold")
        create_topic(b.bootstrap, topic, 1, LOCAL_FEW)
        started = int(time.time() * 1000)
        produce(b.bootstrap, topic, 600)
        local_start = eventually("local segments deleted once copied",
                                 lambda: local_start_past(b.data_dir, topic, 400))
        local = lambda: list((Path(b.data_dir) / "partitions" / f"{topic}-0").glob("*.wal"))
        eventually("what local.retention.bytes keeps, and the active segment", lambda: len(local()) <= 4)
        check_read_back(b.bootstrap, topic, 600)

        assert offsets_for_time(b.bootstrap, topic, started) == 0, "the first record by time is in the remote tier"

        tiers = status_tier(b.bootstrap, topic)
        assert tiers["log_start_offset"] == 0 and tiers["high_watermark"] == 600, tiers
        assert tiers["local_log_start_offset"] >= local_start > 0, tiers
        assert tiers["last_tiered_offset"] >= tiers["local_log_start_offset"] - 1, tiers
        assert 0 < tiers["local_bytes"] < 5 * 4096, tiers
        series = f'{{topic="{topic}",partition="0"}}'
        assert metric(metrics_addr, "chronik_broker_remote_log_size_bytes" + series) > 400 * 100
        assert metric(metrics_addr, "chronik_broker_remote_bytes_read_total") > 400 * 100
        eventually("no copy lag", lambda: metric(metrics_addr, "chronik_broker_remote_copy_lag_segments" + series) == 0)

        # DeleteRecords inside the remote tier: consumers start there (after a restart too: the
        # metadata holds it) and the copies wholly below it go; then past the local log start.
        assert delete_records(b.bootstrap, topic, 150) == 150
        b.restart()
        check_read_back(b.bootstrap, topic, 600, start=150)
        assert offsets_for_time(b.bootstrap, topic, started) == 150, "no answer below the log start"
        rows = lambda: walctl_list(b.data_dir, f"file://{tier}")
        remote = lambda: next(r for r in rows() if r["topic"] == topic)["remote"]["segment_details"]
        eventually("the copies wholly below 150 deleted", lambda: min(s["next_offset"] for s in remote()) > 150)
        assert min(s["base_offset"] for s in remote()) <= 150, "the copy holding 150 stays"
        past_local = local_start_past(b.data_dir, topic, 0) + 10
        assert delete_records(b.bootstrap, topic, past_local) == past_local
        check_read_back(b.bootstrap, topic, 600, start=past_local)
    finally:
        b.cleanup()


def delete_records(bootstrap, topic, offset):
    """DeleteRecords below `offset` of partition 0: the low watermark answered."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deleted = admin.delete_records([TopicPartition(topic, 0, offset)])
    return list(deleted.values())[0].result(timeout=30).low_watermark


def offsets_for_time(bootstrap, topic, ms):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g")})
    try:
        return c.offsets_for_times([TopicPartition(topic, 0, ms)], timeout=30)[0].offset
    finally:
        c.close()


def status_tier(bootstrap, topic):
    """The remote tier figures `chronik-broker status` shows for partition 0 of `topic`."""
    out = subprocess.run([str(BROKER_BIN), "status", "--bootstrap", bootstrap, "--output", "json"],
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    t = next(t for t in json.loads(out.stdout)["topics"] if t["name"] == topic)
    return t["partitions"][0]["tier"]


def test_a_corrupt_remote_object_is_refused_never_served(tmp_path):
    tier = tmp_path / "tier"
    b = BrokerProcess((*FAST, "--remote-storage", f"file://{tier}")).start()
    try:
        topic = unique("corrupt")
        create_topic(b.bootstrap, topic, 1, LOCAL_FEW)
        produce(b.bootstrap, topic, 600)
        eventually("local segments deleted once copied", lambda: local_start_past(b.data_dir, topic, 400))
        first = min(tier.glob(f"{topic}-0/*/00000000000000000000-*.wal"))
        data = bytearray(first.read_bytes())
        data[len(data) // 2] ^= 0xFF
        first.write_bytes(bytes(data))

        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": unique("g"), "enable.auto.commit": False})
        try:
            c.assign([TopicPartition(topic, 0, 0)])
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                msg = c.poll(0.5)
                assert msg is None or msg.error() is not None, f"offset {msg.offset()} served from a corrupt copy"
        finally:
            c.close()
        assert "is corrupt" in b.log_tail(), "the broker reports the corrupt object"
    finally:
        b.cleanup()


def test_read_committed_consumers_skip_aborted_transactions_in_the_remote_tier(tmp_path):
    b = BrokerProcess((*FAST, "--remote-storage", f"file://{tmp_path / 'tier'}")).start()
    try:
        topic = unique("txn-cold")
        create_topic(b.bootstrap, topic, 1, LOCAL_FEW)
        p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": unique("tx"), "linger.ms": 1})
        p.init_transactions(IO_DEADLINE_S)
        committed = []
        for t in range(30):
            p.begin_transaction()
            values = [b"t%02d-%02d" % (t, i) + b"x" * 90 for i in range(20)]
            for v in values:
                p.produce(topic, value=v, partition=0)
            if t % 3 == 2:
                # Sent first: an abort drops what the client has not sent yet.
                assert p.flush(IO_DEADLINE_S) == 0
                p.abort_transaction(IO_DEADLINE_S)
            else:
                p.commit_transaction(IO_DEADLINE_S)
                committed += values
        eventually("local segments deleted once copied", lambda: local_start_past(b.data_dir, topic, 400))

        def read(isolation):
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": unique("g"), "enable.auto.commit": False,
                          "isolation.level": isolation})
            try:
                c.assign([TopicPartition(topic, 0, 0)])
                got, deadline = [], time.monotonic() + IO_DEADLINE_S
                while len(got) < len(committed) or isolation == "read_uncommitted" and len(got) < 600:
                    assert time.monotonic() < deadline, f"read {len(got)} records {isolation}"
                    msg = c.poll(0.5)
                    if msg is not None:
                        assert msg.error() is None, msg.error()
                        got.append(msg.value())
                return got
            finally:
                c.close()

        assert read("read_committed") == committed, "aborted records are skipped, committed ones all read"
        assert len(read("read_uncommitted")) == 600
    finally:
        b.cleanup()


def test_a_broker_without_a_remote_tier_refuses_remote_storage_and_bad_locations_stop_it():
    b = BrokerProcess(FAST).start()
    try:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        fs = admin.create_topics([NewTopic(unique("t"), 1, 1, config={"remote.storage.enable": "true"})])
        with pytest.raises(KafkaException) as refused:
            list(fs.values())[0].result(timeout=30)
        assert "--remote-storage" in str(refused.value)
    finally:
        b.cleanup()
    data_dir = tempfile.mkdtemp(prefix="chronik-pytest-")
    try:
        out = subprocess.run([str(BROKER_BIN), "run", "--listen", f"127.0.0.1:{free_port()}", "--data-dir",
                              data_dir, *FAST, "--remote-storage", "ftp://somewhere"], capture_output=True, timeout=60)
        assert out.returncode == 2, out
        assert b"unknown scheme" in out.stderr, out.stderr
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_credentials_the_store_refuses_stop_the_broker_at_start(tmp_path):
    proc, port, _ = start_moto(tmp_path, check_credentials=True)
    data_dir = tmp_path / "data"
    try:
        with aws_env(port) as aws:
            env = {**os.environ, **aws, "AWS_ACCESS_KEY_ID": "no-such-key"}
        out = subprocess.run([str(BROKER_BIN), "run", "--listen", f"127.0.0.1:{free_port()}", "--data-dir",
                              str(data_dir), *FAST, "--remote-storage", "s3://chronik-tier/a"],
                             capture_output=True, timeout=60, env=env)
        assert out.returncode == 2, out
        err = out.stderr.decode(errors="replace")
        assert "s3://chronik-tier/a" in err and "InvalidAccessKeyId" in err and "credentials" in err, err
    finally:
        proc.kill()
        proc.wait()


def test_copies_go_to_s3_and_a_deleted_topics_copies_are_deleted(tmp_path):
    proc, port, s3 = start_moto(tmp_path)
    s3.create_bucket(Bucket="chronik-tier")
    url = "s3://chronik-tier/cluster-a"
    with aws_env(port) as aws:
        b = BrokerProcess((*FAST, "--remote-storage", url)).start()
    env = {**os.environ, **aws}
    try:
        topic = unique("tiered")
        admin = create_topic(b.bootstrap, topic, 1, LOCAL_FEW)
        produce(b.bootstrap, topic, 300)
        eventually("local segments deleted once copied", lambda: local_start_past(b.data_dir, topic, 100))
        row = eventually("every sealed segment copied", lambda: copied_all_sealed(b.data_dir, url, topic, env))
        keys = lambda: [o["Key"] for o in s3.list_objects_v2(Bucket="chronik-tier").get("Contents", [])]
        stored = [k for k in keys() if k.endswith(".wal")]
        assert len(stored) == len(row["remote"]["segment_details"]), stored
        assert all(k.startswith(f"cluster-a/{topic}-0/") for k in stored), stored
        check_read_back(b.bootstrap, topic, 300)

        admin.delete_topics([topic])[topic].result(timeout=30)
        eventually("the deleted topic's copies deleted", lambda: not any(k.startswith(f"cluster-a/{topic}-0/") for k in keys()))
    finally:
        b.cleanup()
        proc.kill()
        proc.wait()


def test_three_brokers_a_stale_replica_skips_the_remote_history_and_a_new_leader_reads_it(tmp_path):
    """A replica that was down while the partition's history moved to the remote tier starts
    at the leader's local log start (OFFSET_MOVED_TO_TIERED_STORAGE) instead of copying it;
    after the leader dies, the new one serves the whole log from offset 0."""
    from cluster import Cluster

    tier = tmp_path / "tier"
    c = Cluster(broker_args=("--remote-storage", f"file://{tier}", "--remote-log-manager-task-interval-ms", "100",
                             "--retention-check-interval-ms", "100"))
    try:
        c.start()
        topic = unique("cold3")
        c.create_topic(topic, 1, replication=3, config=LOCAL_FEW)
        leader = c.leader_of(topic, 0)
        stale = next(b for b in c.brokers if b != leader)
        c.brokers[stale].kill()
        # An idempotent producer whose batches all end up only in the remote tier, then others.
        produce(c.bootstrap, topic, 300, idempotent=True)
        produce(c.bootstrap, topic, 300, start=300)
        leader_start = eventually("the leader's local segments deleted once copied",
                                  lambda: local_start_past(c.data_dir(leader), topic, 400))

        c.start_broker(stale)
        c.wait_isr(topic, 3)
        stale_start = local_start_past(c.data_dir(stale), topic, 400)
        assert stale_start is not None and stale_start >= leader_start, (stale_start, leader_start)
        assert "starting over at its log start" in Path(c.brokers[stale].log_path).read_text(errors="replace")

        # A replica added by reassignment copies only the leader's local part too.
        moved = unique("moved")
        others = [b for b in c.brokers if b != leader]
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        created = admin.create_topics([NewTopic(moved, num_partitions=1, replica_assignment=[[leader, others[0]]],
                                                config=LOCAL_FEW)])
        created[moved].result(30)
        produce(c.bootstrap, moved, 600)
        eventually("the leader's local segments deleted once copied",
                   lambda: local_start_past(c.data_dir(leader), moved, 400))
        assert reassign(c.bootstrap, moved, 0, [leader, *others]) == 0
        c.wait_isr(moved, 3)
        assert local_start_past(c.data_dir(others[1]), moved, 400), "the added replica skipped the remote part"

        # The replica that skipped the history leads, serves it from the remote tier and knows
        # the producer that wrote only there, from the producer state uploaded with the copies.
        c.brokers[leader].kill()
        c.brokers[others[0] if others[0] != stale else others[1]].kill()
        eventually("the stale replica leads", lambda: c.leader_of(topic, 0) == stale)
        c._with_logs(lambda: check_read_back(c.bootstrap, topic, 600))
        error, producers = describe_producers(c.broker_reach[stale], topic, 0)
        assert error == 0 and [p[2:] for p in producers] == [(299, -1)], producers
        # DeleteRecords inside the remote tier, through the metadata quorum.
        assert delete_records(c.bootstrap, topic, 150) == 150
        check_read_back(c.bootstrap, topic, 600, start=150)
    finally:
        c.cleanup()
