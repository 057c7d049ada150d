"""Starting and stopping a real chronik-broker process for the client tests.

Every broker runs on an ephemeral loopback port with a temp data dir; a test only ever talks to
the process it started (checked through Metadata: the advertised port is ours) and only kills
that process.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from ports import free_port  # noqa: F401 (the tests import it from here)
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[2]
BROKER_BIN = Path(os.environ.get("CHRONIK_BROKER_BIN", ROOT / "target" / "debug" / "chronik-broker"))
WALCTL_BIN = BROKER_BIN.parent / "chronik-walctl"
START_DEADLINE_S = 30.0
IO_DEADLINE_S = 60.0

# kafka-python probes the broker's version when a client starts and gives up after 2 s by
# default: too short on a loaded CI machine, where the probe once lost that race.
KAFKA_PYTHON_PROBE = {"api_version_auto_timeout_ms": int(IO_DEADLINE_S * 1000)}

DEFAULT_ARGS = ("--fsync", "never", "--num-partitions", "3", "--auto-create-topics", "false")


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


class BrokerProcess:
    """A broker process on a fixed port and data dir that can be stopped and started again."""

    def __init__(self, args=DEFAULT_ARGS):
        assert BROKER_BIN.is_file(), f"{BROKER_BIN} missing: build it with cargo build -p chronik-broker-bin"
        self.tmp = tempfile.mkdtemp(prefix="chronik-pytest-")
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.data_dir = os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "broker.log")
        self.args = list(args)
        # How the broker listens; the first listener must be PLAINTEXT on self.port, which
        # readiness checks use.
        self.listen_args = ["--listen", self.bootstrap]
        self.proc = None
        self._log = None

    def log_tail(self):
        try:
            return Path(self.log_path).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._log = open(self.log_path, "ab")
        cmd = [str(BROKER_BIN), "run", *self.listen_args, "--data-dir", self.data_dir, *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._log)
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + START_DEADLINE_S
        # 1. The port accepts connections (and the process we started is still alive).
        while True:
            self._assert_alive()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"broker did not listen in time:\n{self.log_tail()}"
            time.sleep(0.05)
        # 2. Metadata answers, from the broker we started: its advertised port is ours.
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        while True:
            self._assert_alive()
            try:
                md = admin.list_topics(timeout=2)
                break
            except Exception:
                assert time.monotonic() < deadline, f"Metadata not answered in time:\n{self.log_tail()}"
        ports = [bm.port for bm in md.brokers.values()]
        assert ports == [self.port], f"metadata lists brokers on ports {ports}, expected [{self.port}]"
        self._assert_alive()

    def _assert_alive(self):
        code = self.proc.poll()
        assert code is None, f"broker exited early ({code}):\n{self.log_tail()}"

    def stop(self, sig=signal.SIGTERM, expect_code=0):
        """Signals the broker and waits for it; SIGTERM must end in exit code 0."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self._log.close()
        if expect_code is not None:
            assert code == expect_code, f"broker exited {code} after {sig}:\n{self.log_tail()}"

    def kill(self):
        self.stop(signal.SIGKILL, expect_code=None)

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def create_topic(bootstrap, name, partitions, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})])
    fs[name].result(timeout=30)
    wait_topic(admin, name, partitions)
    return admin


def wait_topic(admin, name, partitions):
    deadline = time.monotonic() + 30
    while True:
        md = admin.list_topics(timeout=10)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions:
            return md
        assert time.monotonic() < deadline, f"topic {name} not in metadata: {md.topics.get(name)}"
        time.sleep(0.1)


def running_broker(args=DEFAULT_ARGS):
    """For a pytest fixture: `yield from running_broker()` starts a broker, yields it, and
    always removes it afterwards."""
    b = BrokerProcess(args).start()
    try:
        yield b
    finally:
        b.cleanup()


def stored_codecs(broker, topic, partition=0):
    """The codec of every batch of a partition as the broker's log on disk holds it
    (`chronik-walctl dump`, which only reads)."""
    out = subprocess.run(
        [str(WALCTL_BIN), "dump", broker.data_dir, "-t", topic, "-p", str(partition), "--output", "json"],
        capture_output=True, timeout=60, text=True)
    assert out.returncode == 0, out.stderr
    return [batch["codec"] for batch in json.loads(out.stdout)["batches"]]


def read_partition(bootstrap, topic, partition=0, deadline_s=IO_DEADLINE_S):
    """(log start, high watermark, [(offset, key, value)]) of a partition, read by a consumer
    from its log start up to the high watermark (a compacted log's last record always stays:
    it is in the active segment)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"), "enable.auto.commit": False,
                  "topic.metadata.refresh.interval.ms": 1000})
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
        c.assign([TopicPartition(topic, partition, low)])
        out = []
        deadline = time.monotonic() + deadline_s
        while high > low and (not out or out[-1][0] < high - 1):
            assert time.monotonic() < deadline, f"read {len(out)} records, last {out[-1:]}, of {low}..{high}"
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            out.append((msg.offset(), msg.key(), msg.value()))
        return low, high, out
    finally:
        c.close()


def live_values(records):
    """{key: value} after applying (offset, key, value) records in order; tombstones delete."""
    latest = {}
    for _, key, value in records:
        if value is None:
            latest.pop(key, None)
        else:
            latest[key] = value
    return latest


def send_request(bootstrap, request):
    """Sends one request built with kafka-python's protocol classes (for calls its admin
    client lacks) and returns the response."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=60_000,
                             **KAFKA_PYTHON_PROBE)
    try:
        future = admin._send_request_to_node(admin._client.least_loaded_node(), request)
        admin._wait_for_futures([future])
        return future.value
    finally:
        admin.close()


def reassign(bootstrap, topic, partition, replicas):
    """AlterPartitionReassignments for one partition (`replicas` None cancels); its error code."""
    from kafka.protocol.admin import AlterPartitionReassignmentsRequest_v0

    req = AlterPartitionReassignmentsRequest_v0(
        timeout_ms=30_000, topics=[(topic, [(partition, replicas, {})], {})], tags={})
    resp = send_request(bootstrap, req)
    assert resp.error_code == 0, resp
    ((_name, ((_index, code, _message, _tags),), _),) = resp.responses
    return code


def metric(addr, series):
    """The value of one Prometheus series (name with its labels, as exported) served at
    `http://ADDR/metrics`; 0 when it is not exported yet."""
    text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0
