#!/usr/bin/env python3
"""Measures partition leader failover on a cluster started by scripts/local-cluster.sh: SIGKILL
the leader of a replicated partition, time until an acks=all write is acknowledged by the new
leader, restart the killed broker, wait until it is back in the ISR; repeat. Prints each time
and the median. Needs confluent-kafka (tests/run-all.sh installs it in target/python-venv).

Usage: scripts/failover-time.py [--dir /tmp/chronik-cluster] [--rounds 10]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Producer
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/chronik-cluster", help="the dir given to local-cluster.sh")
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    bootstrap = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"
    topic = f"failover-{int(time.time())}"
    # Kept in a variable: a client destroyed before its future resolves fails the future.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])[topic].result(30)
    wait("a full ISR", lambda: len(status(topic)["isr"]) == 3)
    times = []
    for r in range(args.rounds):
        leader = status(topic)["leader"]
        pid_file = Path(args.dir) / f"broker{leader}.pid"
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        while not acked_write(bootstrap, topic):
            pass
        times.append(time.monotonic() - killed)
        print(f"round {r + 1}: leader {leader} killed, acks=all write acknowledged after {times[-1]:.2f} s", flush=True)
        log = open(Path(args.dir) / f"broker{leader}.log", "ab")
        cmd = json.loads((Path(args.dir) / f"broker{leader}.cmd").read_text())
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        pid_file.write_text(str(proc.pid))
        wait("the killed broker back in the ISR", lambda: len(status(topic)["isr"]) == 3)
    print(f"median {statistics.median(times):.2f} s over {len(times)} rounds "
          f"(min {min(times):.2f}, max {max(times):.2f})")


if __name__ == "__main__":
    main()
