"""What the remote tier tests share: topic configs, a producer whose values name their
offsets, walctl's view of both tiers, a full read-back check and moto's S3 server."""

import json
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import boto3
from confluent_kafka import Producer

from cluster import eventually
from harness import IO_DEADLINE_S, WALCTL_BIN, free_port, read_partition

TIERED = {"remote.storage.enable": "true", "segment.bytes": "4096"}
# About two segments stay local; the rest is read back from the remote tier.
LOCAL_FEW = {**TIERED, "local.retention.bytes": "8192"}
FAST = ("--fsync", "never", "--auto-create-topics", "false", "--remote-log-manager-task-interval-ms", "100",
        "--retention-check-interval-ms", "100")


def produce(bootstrap, topic, count, start=0):
    """`count` records in batches of 20 (about 2 KiB each: two to a 4 KiB segment), record i
    of the partition (from `start`) holding `value(i)`."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(start, start + count):
        p.produce(topic, key=b"k%d" % i, value=value(i), partition=0)
        if i % 20 == 19:
            assert p.flush(IO_DEADLINE_S) == 0
    assert p.flush(IO_DEADLINE_S) == 0


def walctl_list(data_dir, url, env=None):
    out = subprocess.run([str(WALCTL_BIN), "list", data_dir, "--segments", "--remote-storage", url,
                          "--output", "json"], capture_output=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


def copied_all_sealed(data_dir, url, topic, env=None):
    """The partition's row once every sealed local segment has a remote copy."""
    rows = walctl_list(data_dir, url, env)
    row = next(r for r in rows if r["topic"] == topic)
    sealed = row["segment_details"][:-1]
    remote = row["remote"]["segment_details"]
    copied = {s["base_offset"] for s in remote}
    return row if sealed and all(s["base_offset"] in copied for s in sealed) else None


def local_start_past(data_dir, topic, offset):
    """The local log's start offset once it is past `offset` (retention of the local tier)."""
    out = subprocess.run([str(WALCTL_BIN), "list", data_dir, "--output", "json"], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    row = next(r for r in json.loads(out.stdout) if r["topic"] == topic)
    return row["start_offset"] if row["start_offset"] > offset else None


def check_read_back(bootstrap, topic, count):
    """Every record from offset 0, in order, by a consumer that starts at the log start."""
    low, high, records = read_partition(bootstrap, topic)
    assert (low, high) == (0, count)
    assert [o for o, _, _ in records] == list(range(count))
    assert all(v == value(o) for o, _, v in records), "values read back intact"


def start_moto(tmp_path):
    moto = Path(os.environ.get("CHRONIK_MOTO_SERVER", Path(__file__).parents[2] / "target/python-venv/bin/moto_server"))
    port = free_port()
    log = open(tmp_path / "moto.log", "wb")
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    eventually("moto listening", lambda: s3.list_buckets() is not None)
    return proc, port, s3


def value(i):
    return b"v%05d" % i + b"x" * 90


@contextmanager
def aws_env(port):
    """The AWS_* variables of moto on `port`, set in this process (which brokers inherit)
    while the block runs; yields them."""
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
