"""What the remote tier tests share: topic configs, a producer whose values name their
offsets, walctl's view of both tiers, a full read-back check and moto's S3 server."""

import json
import os
import socket
import struct
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


def produce(bootstrap, topic, count, start=0, idempotent=False):
    """`count` records in batches of 20 (about 2 KiB each: two to a 4 KiB segment), record i
    of the partition (from `start`) holding `value(i)`."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "enable.idempotence": idempotent})
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


def check_read_back(bootstrap, topic, count, start=0):
    """Every record from `start`, the log start, in order, by a consumer that starts there."""
    low, high, records = read_partition(bootstrap, topic)
    assert (low, high) == (start, count)
    assert [o for o, _, _ in records] == list(range(start, count))
    assert all(v == value(o) for o, _, v in records), "values read back intact"


def start_moto(tmp_path, check_credentials=False):
    """moto's S3 server on a free port: (process, port, boto3 client). `check_credentials`:
    requests must be signed by a user moto knows (it knows none, so all are refused)."""
    moto = Path(os.environ.get("CHRONIK_MOTO_SERVER", Path(__file__).parents[2] / "target/python-venv/bin/moto_server"))
    port = free_port()
    log = open(tmp_path / "moto.log", "wb")
    env = {**os.environ, **({"INITIAL_NO_AUTH_ACTION_COUNT": "0"} if check_credentials else {})}
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log, env=env)
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    eventually("moto listening", lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True)
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


def describe_producers(addr, topic, partition):
    """DescribeProducers (v0) sent to the broker at `addr`, which answers for the partitions it
    leads: (error code, [(producer id, epoch, last sequence, open transaction's first offset)])."""
    def compact(b):
        return uvarint(len(b) + 1) + b

    body = (uvarint(2) + compact(topic.encode()) + uvarint(2) + struct.pack(">i", partition)
            + b"\0" + b"\0")
    header = struct.pack(">hhih", 61, 0, 7, 4) + b"test" + b"\0"
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=IO_DEADLINE_S) as s:
        s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        r = Reader(recv_exact(s, size))
    assert r.i32() == 7, "the answer to this request"
    r.tags()
    r.i32()  # throttle time
    assert r.uvarint() - 1 == 1 and r.string() == topic
    assert r.uvarint() - 1 == 1 and r.i32() == partition
    error = r.i16()
    r.string()
    producers = []
    for _ in range(r.uvarint() - 1):
        pid, epoch, last_seq, _timestamp, _coordinator_epoch, txn_start = (
            r.i64(), r.i32(), r.i32(), r.i64(), r.i32(), r.i64())
        r.tags()
        producers.append((pid, epoch, last_seq, txn_start))
    return error, producers


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "the broker closed the connection"
        data += chunk
    return data


class Reader:
    """Reads a flexible Kafka response's fields in order."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        (v,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return v

    def i16(self):
        return self.take(">h")

    def i32(self):
        return self.take(">i")

    def i64(self):
        return self.take(">q")

    def uvarint(self):
        n, shift = 0, 0
        while True:
            b = self.data[self.at]
            self.at += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                return n
            shift += 7

    def string(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        v = self.data[self.at:self.at + n].decode()
        self.at += n
        return v

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.at += self.uvarint()
