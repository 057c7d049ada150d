#!/usr/bin/env python3
"""Compares the produce throughput of two builds (A and B, e.g. a commit and the one before
it) on this machine, alternating runs so that both see the same noise. Three scenarios, each
run on a fresh broker or cluster with `chronik-bench produce` (4 partitions, batched):

  standalone-100B-acks1   standalone broker, 100-byte records, acks=1
  standalone-1KiB-acksall standalone broker, 1 KiB records, acks=all
  cluster-100B-acksall    3 meta nodes + 3 brokers (RF=3), 100-byte records, acks=all

Every run also counts what was stored (the sum of the partitions' high watermarks) and fails
if it is less than what was acknowledged. Prints one JSON line per run and a summary with the
median records/s of each side and the ratio B/A per scenario.

Needs confluent-kafka (tests/run-all.sh installs it in target/python-venv) and release builds of
chronik-broker, chronik-meta and chronik-bench in both directories.

Usage: scripts/ab-produce.py --a DIR --b DIR [--rounds 3] [--duration 8]
       [--scenarios standalone-100B-acks1,...] [--fsync always]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))

import cluster as cluster_mod  # noqa: E402
from harness import free_port  # noqa: E402

SCENARIOS = {
    "standalone-100B-acks1": ("standalone", 100, "1"),
    "standalone-1KiB-acksall": ("standalone", 1024, "all"),
    "cluster-100B-acksall": ("cluster", 100, "all"),
}


def stored(bootstrap, topic, partitions):
    """Records the brokers hold: the sum of the partitions' high watermarks."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ab-count"})
    try:
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                   for p in range(partitions))
    finally:
        c.close()


def bench(bin_dir, bootstrap, size, acks, duration):
    cmd = [str(bin_dir / "chronik-bench"), "produce", "--bootstrap", bootstrap, "--topic", "ab",
           "--partitions", "4", "--create", "--duration", str(duration), "--record-size", str(size),
           "--acks", acks, "--batch-size", "262144", "--linger-ms", "5", "--output", "json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    if out.returncode != 0:
        sys.exit(f"chronik-bench failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def standalone(bin_dir, fsync, run):
    tmp = tempfile.mkdtemp(prefix="ab-")
    port = free_port()
    log = open(os.path.join(tmp, "broker.log"), "wb")
    proc = subprocess.Popen([str(bin_dir / "chronik-broker"), "run", "--listen", f"127.0.0.1:{port}",
                             "--data-dir", os.path.join(tmp, "data"), "--fsync", fsync],
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        bootstrap = f"127.0.0.1:{port}"
        cluster_mod.eventually("the broker to answer", lambda: answers(bootstrap, proc))
        return run(bootstrap)
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def answers(bootstrap, proc):
    assert proc.poll() is None, "the broker exited"
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2) is not None


def replicated(bin_dir, fsync, run):
    cluster_mod.META_BIN = bin_dir / "chronik-meta"
    cluster_mod.BROKER_BIN = bin_dir / "chronik-broker"
    c = cluster_mod.Cluster(broker_args=("--default-replication-factor", "3"))
    for b in c.brokers.values():
        b.cmd[b.cmd.index("--fsync") + 1] = fsync
        b.cmd[b.cmd.index("--auto-create-topics") + 1] = "true"
    try:
        c.start()
        return run(c.bootstrap)
    finally:
        c.cleanup()


def one_run(side, bin_dir, scenario, args):
    kind, size, acks = SCENARIOS[scenario]

    def run(bootstrap):
        report = bench(bin_dir, bootstrap, size, acks, args.duration)
        acked = report["records"]
        held = stored(bootstrap, "ab", 4)
        return report, acked, held

    start = standalone if kind == "standalone" else replicated
    report, acked, held = start(bin_dir, args.fsync, run)
    rate = report["records_per_sec"]
    line = {"side": side, "scenario": scenario, "records_per_sec": rate, "acked": acked,
            "stored": held}
    print(json.dumps(line), flush=True)
    if report["records_failed"] or held < acked:
        sys.exit(f"{side} {scenario}: {acked} acknowledged, {held} stored, failed {report['records_failed']}")
    return rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", type=Path, required=True, help="directory with build A's binaries")
    ap.add_argument("--b", type=Path, required=True, help="directory with build B's binaries")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--fsync", default="always", choices=["always", "never"])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = ap.parse_args()
    scenarios = args.scenarios.split(",")
    for s in scenarios:
        if s not in SCENARIOS:
            sys.exit(f"unknown scenario {s}; known: {', '.join(SCENARIOS)}")
    rates = {(side, s): [] for side in "ab" for s in scenarios}
    for r in range(args.rounds):
        order = [("a", args.a), ("b", args.b)]
        if r % 2:
            order.reverse()
        for s in scenarios:
            for side, bin_dir in order:
                rates[(side, s)].append(one_run(side, bin_dir, s, args))
    summary = {}
    for s in scenarios:
        a, b = statistics.median(rates[("a", s)]), statistics.median(rates[("b", s)])
        summary[s] = {"a_median": a, "b_median": b, "ratio_b_over_a": round(b / a, 3),
                      "a_runs": rates[("a", s)], "b_runs": rates[("b", s)]}
    print(json.dumps({"summary": summary}, indent=2))


if __name__ == "__main__":
    main()
