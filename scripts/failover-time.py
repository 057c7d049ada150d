#!/usr/bin/env python3
"""Measures partition leader failover on a cluster started by scripts/local-cluster.sh: SIGKILL
the leader of a replicated partition, time until an acks=all write is acknowledged by the new
leader, restart the killed broker, wait until it is back in the ISR; repeat. Prints each time,
the median and the brokers fenced meanwhile. Needs confluent-kafka (tests/run-all.sh installs
it in target/python-venv).

--client producer (the default): one default-configured idempotent producer (acks=all) sends a
record every 2 ms for the whole run; a round's time runs from the kill to the acknowledgement
of the first record sent after it, which only the new leader can give.
--client probe: each attempt is a fresh producer with a 1 s message timeout, so the time is
rounded up to the attempt.

Between rounds the script waits --settle seconds (10) after the restarted broker is back in the
ISR: librdkafka backs off reconnecting to a broker that refused connections, up to
reconnect.backoff.max.ms (10 s), and a kill right after another broker's restart would measure
that backoff instead of the failover.

Usage: scripts/failover-time.py [--dir /tmp/chronik-cluster] [--rounds 20] [--client producer|probe]
       [--settle 10]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]


def bin_path(name):
    for d in (os.environ.get("CHRONIK_BIN_DIR"), ROOT / "target" / "release", ROOT / "target" / "debug"):
        if d and (Path(d) / name).is_file():
            return str(Path(d) / name)
    sys.exit(f"{name} not built: run cargo build --release")


def status(topic):
    out = subprocess.run([bin_path("chronik-meta"), "status", "--meta", "127.0.0.1:9190,127.0.0.1:9191,127.0.0.1:9192",
                          "--output", "json", "--topic", topic], capture_output=True, timeout=30)
    doc = json.loads(out.stdout)
    return next(p for p in doc["topic_partitions"] if p["topic"] == topic and p["partition"] == 0)


def wait(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (ValueError, StopIteration, subprocess.TimeoutExpired):
            pass
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def acked_write(bootstrap, topic):
    """One acks=all write; True once acknowledged."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 1000,
                  "topic.metadata.refresh.interval.ms": 100, "retry.backoff.ms": 20})
    result = []
    p.produce(topic, value=b"probe", partition=0, on_delivery=lambda err, msg: result.append(err))
    p.flush(5)
    return bool(result) and result[0] is None


class SteadyProducer:
    """A default idempotent producer sending to partition 0 of `topic` every 2 ms, noting when
    each record was sent and acknowledged."""

    def __init__(self, bootstrap, topic):
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        self.topic = topic
        self.lock = threading.Lock()
        self.acked = []  # (sent, acknowledged) monotonic times, in acknowledgement order
        self.failed = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            sent = time.monotonic()
            self.producer.produce(self.topic, value=b"steady", partition=0,
                                  on_delivery=lambda err, msg, sent=sent: self.delivered(err, sent))
            self.producer.poll(0.002)
        self.producer.flush(30)

    def delivered(self, err, sent):
        with self.lock:
            (self.failed if err else self.acked).append((sent, time.monotonic()))

    def first_ack_of_a_record_sent_after(self, t, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                later = [acked for sent, acked in self.acked if sent > t]
            if later:
                return min(later)
            time.sleep(0.01)
        sys.exit(f"no record sent after the kill was acknowledged within {timeout} s")

    def close(self):
        self.stop.set()
        self.thread.join()


def fence_count(directory):
    """Fences the meta nodes logged so far (every node logs the fences it made as leader)."""
    count = 0
    for log in Path(directory).glob("meta*.log"):
        count += sum(1 for line in log.read_text(errors="replace").splitlines() if "fencing it" in line)
    return count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/chronik-cluster", help="the dir given to local-cluster.sh")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--client", choices=["producer", "probe"], default="producer")
    ap.add_argument("--settle", type=float, default=10.0)
    args = ap.parse_args()
    bootstrap = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"
    topic = f"failover-{int(time.time())}"
    # Kept in a variable: a client destroyed before its future resolves fails the future.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    def created():
        # Refused until all three brokers have registered after a fresh start.
        try:
            admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])[topic].result(30)
            return True
        except KafkaException as e:
            return e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    wait("the topic created", created)
    wait("a full ISR", lambda: len(status(topic)["isr"]) == 3)
    steady = SteadyProducer(bootstrap, topic) if args.client == "producer" else None
    fences_before = fence_count(args.dir)
    times = []
    for r in range(args.rounds):
        leader = status(topic)["leader"]
        pid_file = Path(args.dir) / f"broker{leader}.pid"
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        if steady:
            times.append(steady.first_ack_of_a_record_sent_after(killed) - killed)
        else:
            while not acked_write(bootstrap, topic):
                pass
            times.append(time.monotonic() - killed)
        print(f"round {r + 1}: leader {leader} killed, acks=all write acknowledged after {times[-1]:.2f} s", flush=True)
        log = open(Path(args.dir) / f"broker{leader}.log", "ab")
        cmd = json.loads((Path(args.dir) / f"broker{leader}.cmd").read_text())
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        pid_file.write_text(str(proc.pid))
        wait("the killed broker back in the ISR", lambda: len(status(topic)["isr"]) == 3)
        time.sleep(args.settle)
    if steady:
        steady.close()
        print(f"producer: {len(steady.acked)} records acknowledged, {len(steady.failed)} failed")
    print(f"median {statistics.median(times):.2f} s over {len(times)} rounds "
          f"(min {min(times):.2f}, max {max(times):.2f}); "
          f"brokers fenced: {fence_count(args.dir) - fences_before} ({len(times)} killed)")


if __name__ == "__main__":
    main()
