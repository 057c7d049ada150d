#!/usr/bin/env python3
"""Measures what parked long-poll fetches cost a broker: it starts a standalone broker, creates
a topic of many partitions, parks consumers that each long-poll their own share of them, and
produces to one partition at a fixed rate. It reports the broker's CPU seconds per minute (from
/proc) and the latency from produce to fetch on the busy partition, as JSON.

Needs confluent-kafka (tests/run-all.sh installs it in target/python-venv).

Usage: scripts/long-poll-fanout.py [--broker target/release/chronik-broker] [--partitions 1000]
       [--consumers 200] [--rate 1000] [--duration 60]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.05)


def start_broker(binary, data_dir, port):
    log = open(os.path.join(data_dir, "broker.log"), "wb")
    proc = subprocess.Popen([binary, "run", "--listen", f"127.0.0.1:{port}", "--data-dir",
                             os.path.join(data_dir, "data"), "--fsync", "never"],
                            stdout=subprocess.DEVNULL, stderr=log)

    def listening():
        assert proc.poll() is None, "the broker exited; see its log"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait_for("the broker to listen", listening)
    return proc


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--broker", default=str(ROOT / "target" / "release" / "chronik-broker"))
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--consumers", type=int, default=200)
    ap.add_argument("--rate", type=int, default=1000, help="records per second to partition 0")
    ap.add_argument("--duration", type=float, default=60, help="seconds measured")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="chronik-fanout-")
    port = free_port()
    broker = start_broker(args.broker, tmp, port)
    bootstrap = f"127.0.0.1:{port}"
    consumers = []
    try:
        topic = "fanout"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=args.partitions, replication_factor=1)])[
            topic].result(timeout=60)
        for i in range(args.consumers):
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"fanout-{i}",
                          "enable.auto.commit": False, "fetch.wait.max.ms": 500})
            c.assign([TopicPartition(topic, p, 0) for p in range(i, args.partitions, args.consumers)])
            consumers.append(c)
        latencies, stop = [], threading.Event()

        def drain_busy():
            busy = consumers[0]
            while not stop.is_set():
                msg = busy.poll(0.1)
                if msg is not None and msg.error() is None and msg.partition() == 0:
                    latencies.append((time.time_ns() - int(msg.value())) / 1e6)

        reader = threading.Thread(target=drain_busy, daemon=True)
        reader.start()
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": 1})
        time.sleep(2)  # let every consumer park its first fetch before measuring
        start_cpu, start = cpu_seconds(broker.pid), time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - start) < args.duration:
            due = int(elapsed * args.rate)
            while sent < due:
                producer.produce(topic, value=str(time.time_ns()).encode(), partition=0)
                sent += 1
            producer.poll(0)
            time.sleep(0.001)
        cpu = cpu_seconds(broker.pid) - start_cpu
        wall = time.monotonic() - start
        producer.flush(30)
        wait_for("the busy partition's last records to be fetched", lambda: len(latencies) >= sent, timeout=30)
        stop.set()
        reader.join()
        print(json.dumps({
            "partitions": args.partitions, "consumers": args.consumers, "rate": args.rate,
            "records_sent": sent, "records_fetched": len(latencies),
            "broker_cpu_seconds_per_minute": round(cpu / wall * 60, 2),
            "produce_to_fetch_ms": {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)},
        }))
    finally:
        for c in consumers:
            c.close()
        broker.terminate()
        broker.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
