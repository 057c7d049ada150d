"""A small live Chronik cluster for the monitoring check: one chronik-meta voter and two
brokers on ephemeral loopback ports in a temp dir, and the events that make them export their
metrics: client traffic (kcat), a malformed request, a compacted topic the cleaner cleans, and
a stopped follower (ISR shrink, fenced broker, under-replicated partition) that comes back
(ISR expansion)."""

import json
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from ports import free_port  # noqa: E402 (the path above comes first)

DEADLINE_S = 40
TOPIC = "monitoring-check"
BROKER_IDS = (7, 8)


class CheckFailed(Exception):
    pass


def eventually(what, cond, timeout=DEADLINE_S):
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise CheckFailed(f"timed out after {timeout}s waiting for: {what}")
        time.sleep(0.2)


def samples(port):
    """{series: value} of one /metrics endpoint, series as written (`name{labels}`)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            out[series] = float(value)
    return out


def names(port):
    """{metric name: set of label names} of one /metrics endpoint."""
    found = {}
    for series in samples(port):
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})?$", series)
        if m:
            labels = set(re.findall(r'([a-zA-Z_]\w*)="', m.group(3) or ""))
            found.setdefault(m.group(1), set()).update(labels)
    return found


def value(port, series):
    try:
        return samples(port).get(series)
    except OSError:
        return None


def json_of(argv):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        return None


class Node:
    def __init__(self, name, argv, workdir):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def tail(self):
        return "\n".join(self.log_path.read_text().splitlines()[-20:])


class Cluster:
    def __init__(self, bin_dir):
        self.bin_dir = Path(bin_dir)
        self.workdir = Path(tempfile.mkdtemp(prefix="chronik-monitoring-"))
        self.cluster_id = "monitoring-" + secrets.token_hex(6)
        self.nodes = []
        self.meta_port, self.meta_metrics = free_port(), free_port()
        self.kafka = {}
        self.metrics = {}

    def start(self):
        self.nodes.append(Node("meta", [
            str(self.bin_dir / "chronik-meta"), "run", "--id", "3",
            "--data-dir", str(self.workdir / "meta"), "--listen", f"127.0.0.1:{self.meta_port}",
            "--cluster-id", self.cluster_id, "--metrics-addr", f"127.0.0.1:{self.meta_metrics}",
            "--session-timeout-ms", "3000", "--auto-balance", "false"], self.workdir))
        eventually(f"meta node 3 of cluster {self.cluster_id} leading", lambda: (
            (s := self.meta_status()) and s.get("leader_id") == 3))
        for broker in BROKER_IDS:
            self.kafka[broker], self.metrics[broker] = free_port(), free_port()
            self.nodes.append(Node(f"broker-{broker}", [
                str(self.bin_dir / "chronik-broker"), "--id", str(broker),
                "--meta", f"127.0.0.1:{self.meta_port}",
                "--data-dir", str(self.workdir / f"broker-{broker}"),
                "--listen", f"127.0.0.1:{self.kafka[broker]}",
                "--metrics-addr", f"127.0.0.1:{self.metrics[broker]}",
                "--offsets-topic-replication-factor", "1", "--log-cleaner-backoff-ms", "200",
                "--replica-lag-time-max-ms", "1000"], self.workdir))
        for broker in BROKER_IDS:
            status = [str(self.bin_dir / "chronik-broker"), "status", "--bootstrap",
                      f"127.0.0.1:{self.kafka[broker]}", "--output", "json"]
            eventually(f"broker {broker} of cluster {self.cluster_id} answering", lambda: (
                (s := json_of(status)) and s.get("cluster_id") == self.cluster_id
                and sorted(b.get("id") for b in s.get("brokers", [])) == list(BROKER_IDS)))

    def meta_status(self, *extra):
        s = json_of([str(self.bin_dir / "chronik-meta"), "status", "--meta",
                     f"127.0.0.1:{self.meta_port}", "--output", "json", *extra])
        return s if s and s.get("cluster_id") == self.cluster_id else None

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def stop(self, show_logs=False):
        # Reverse order: clients, then brokers (whose controlled shutdown asks the
        # controller), then the meta node.
        for n in reversed(self.nodes):
            n.stop()
            if show_logs:
                print(f"--- {n.name} log tail ({n.log_path}) ---\n{n.tail()}")
        if not show_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def check_alive(self):
        # A node that died (say, its metrics port taken meanwhile) would leave another process
        # answering the scrape.
        for n in self.nodes:
            if n.name != "consumer" and n.proc.poll() is not None:
                raise CheckFailed(f"{n.name} exited with {n.proc.returncode} during the check")

    def produce(self, broker, records, *kcat_args):
        subprocess.run(["kcat", "-P", "-b", f"127.0.0.1:{self.kafka[broker]}", "-t", TOPIC,
                        "-K:", "-p", "0", "-X", "acks=1", *kcat_args],
                       input="".join(records), text=True, check=True, timeout=30)


def drive(cluster):
    """All the events, in an order that keeps each condition it waits for unambiguous."""
    c = cluster
    subprocess.run([str(c.bin_dir / "chronik-meta"), "topics", "create", "--meta",
                    f"127.0.0.1:{c.meta_port}", TOPIC, "--replication-factor", "2",
                    "--config", "cleanup.policy=compact", "--config", "segment.bytes=1024",
                    "--config", "min.cleanable.dirty.ratio=0.01"],
                   check=True, capture_output=True, timeout=30)
    leader, follower = leader_and_follower(c)
    # Keyed updates of 5 keys in batches of 10 over many 1 KiB segments: the cleaner has work
    # on both copies.
    c.produce(leader, [f"key{i % 5}:value{i}\n" for i in range(300)],
              "-X", "batch.num.messages=10", "-X", "linger.ms=0")
    for broker in BROKER_IDS:
        eventually(f"a cleaner pass on broker {broker}", lambda: (
            value(c.metrics[broker], "chronik_broker_cleaner_passes_total") or 0) > 0)
    consume_with_group(c, leader)
    bad_request(c, leader)
    stop_and_resume_follower(c, leader, follower)


def leader_and_follower(c):
    def leader():
        s = c.meta_status("--topic", TOPIC)
        parts = [p for p in (s or {}).get("topic_partitions", []) if p.get("topic") == TOPIC]
        return parts[0].get("leader") if parts and len(parts[0].get("isr", [])) == 2 else None
    lead = eventually(f"{TOPIC}/0 with a leader and both replicas in its ISR", leader)
    return lead, next(b for b in BROKER_IDS if b != lead)


def consume_with_group(c, leader):
    c.nodes.append(Node("consumer", [
        "kcat", "-b", f"127.0.0.1:{c.kafka[leader]}", "-G", TOPIC, "-o", "beginning", "-q",
        "-X", "auto.commit.interval.ms=100", TOPIC], c.workdir))
    eventually("the consumer group's lag in a broker's metrics", lambda: any(
        "chronik_broker_consumer_group_lag" in try_names(c.metrics[b]) for b in BROKER_IDS))
    c.node("consumer").stop()


def try_names(port):
    try:
        return names(port)
    except OSError:
        return {}


def bad_request(c, broker):
    # A frame no API decodes: the broker closes the connection and counts a bad request.
    with socket.create_connection(("127.0.0.1", c.kafka[broker]), timeout=5) as s:
        s.sendall(b"\x00\x00\x00\x04\xff\xff\xff\xff")
        s.recv(1)
    eventually("chronik_broker_bad_requests_total", lambda: (
        value(c.metrics[broker], "chronik_broker_bad_requests_total") or 0) > 0)


def stop_and_resume_follower(c, leader, follower):
    """SIGSTOP the follower: the leader drops it from the ISR (after --replica-lag-time-max-ms)
    and the controller fences it (after --session-timeout-ms); SIGCONT: it is back in both."""
    meta = c.meta_metrics
    fenced = 'chronik_meta_brokers{state="fenced"}'
    urp = "chronik_meta_under_replicated_partitions"
    c.node(f"broker-{follower}").signal(signal.SIGSTOP)
    c.produce(leader, ["after-stop:1\n"])
    eventually(f"broker {leader} shrinking the ISR", lambda: (
        value(c.metrics[leader], "chronik_broker_isr_shrinks_total") or 0) > 0)
    eventually(f"{urp} = 1 on the meta node", lambda: value(meta, urp) == 1)
    eventually("one fenced broker on the meta node", lambda: value(meta, fenced) == 1)
    eventually("the leader reporting its stopped follower's lag", lambda: (value(
        c.metrics[leader], f'chronik_broker_replica_max_lag{{topic="{TOPIC}",partition="0"}}')
        or 0) > 0)
    c.node(f"broker-{follower}").signal(signal.SIGCONT)
    eventually(f"broker {leader} expanding the ISR", lambda: (
        value(c.metrics[leader], "chronik_broker_isr_expands_total") or 0) > 0)
    eventually(f"{urp} = 0 and no fenced broker", lambda: (
        value(meta, urp) == 0 and value(meta, fenced) == 0))
