#!/usr/bin/env python3
"""Does __consumer_offsets stay state-sized? Starts a release broker on loopback ports with a
fresh data dir, makes N offset commits (chronik-bench commits: G memberless groups x P
partitions), measures the on-disk size of the __consumer_offsets-* partitions right after and
once the log cleaner has settled, then restarts the broker and times how long until the
coordinator answers OffsetFetch with those offsets (chronik-bench commits --fetch-only, started
right after the broker). Prints one JSON document.

    cargo build --release -p chronik-broker-bin -p chronik-bench
    scripts/offsets-compaction.py --dir /tmp/oc --commits 1000000 --segment-bytes 8388608
    scripts/offsets-compaction.py --dir /tmp/oc-off --commits 1000000 --cleaner-threads 0

Only the processes it starts are stopped (by their pid)."""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CHRONIK_BIN_DIR", os.path.join(ROOT, "target", "release"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def offsets_bytes(data):
    """Bytes of every file in the __consumer_offsets-* partition dirs."""
    root = os.path.join(data, "partitions")
    total = 0
    for d in os.listdir(root):
        if d.startswith("__consumer_offsets-"):
            for f in os.scandir(os.path.join(root, d)):
                if f.is_file():
                    total += f.stat().st_size
    return total


class Broker:
    def __init__(self, args, log_name):
        self.log_path = os.path.join(args.dir, log_name)
        cmd = [os.path.join(BIN, "chronik-broker"), "run",
               "--listen", f"127.0.0.1:{args.port}", "--meta-listen", f"127.0.0.1:{args.meta_port}",
               "--data-dir", args.data, "--fsync", args.fsync,
               "--offsets-topic-segment-bytes", str(args.segment_bytes),
               "--log-cleaner-threads", str(args.cleaner_threads),
               "--log-cleaner-backoff-ms", str(args.backoff_ms), "--log-level", "info"]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log_path, "w"))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    def loaded_ms(self):
        """The coordinator's own timings: 'group partition loaded ... ms=N' lines."""
        text = open(self.log_path).read()
        return [int(m) for m in re.findall(r"group partition loaded.* ms=(\d+)", text)]


def bench(args, *extra):
    cmd = [os.path.join(BIN, "chronik-bench"), "commits", "--bootstrap", f"127.0.0.1:{args.port}",
           "--topic", "commits", "--groups", str(args.groups), "--commits", str(args.commits),
           "--output", "json", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"chronik-bench failed: {out.stderr}")
    return json.loads(out.stdout)


def wait_ready(args, deadline=60):
    status = [os.path.join(BIN, "chronik-broker"), "status", "--bootstrap",
              f"127.0.0.1:{args.port}", "--timeout-ms", "1000"]
    end = time.monotonic() + deadline
    while subprocess.run(status, capture_output=True).returncode != 0:
        if time.monotonic() > end:
            sys.exit("the broker did not come up")
        time.sleep(0.2)


def settle(args, quiet_polls=5, limit=600):
    """Polls the size every second until it held still for `quiet_polls` polls."""
    start, last, still = time.monotonic(), None, 0
    while still < quiet_polls and time.monotonic() - start < limit:
        time.sleep(1)
        size = offsets_bytes(args.data)
        still = still + 1 if size == last else 0
        last = size
    return last, round(time.monotonic() - start - quiet_polls, 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, help="work dir (must not exist)")
    p.add_argument("--commits", type=int, default=1_000_000)
    p.add_argument("--groups", type=int, default=10)
    p.add_argument("--partitions", type=int, default=100)
    p.add_argument("--segment-bytes", type=int, default=8 * 1024 * 1024)
    p.add_argument("--cleaner-threads", type=int, default=1)
    p.add_argument("--backoff-ms", type=int, default=1000)
    p.add_argument("--fsync", default="always")
    args = p.parse_args()
    os.makedirs(args.dir)
    args.data = os.path.join(args.dir, "data")
    args.port, args.meta_port = free_port(), free_port()

    broker = Broker(args, "broker.log")
    wait_ready(args)
    run = bench(args, "--create", "--partitions", str(args.partitions))
    after_run = offsets_bytes(args.data)
    settled, settle_s = settle(args)
    broker.stop()

    restarted = Broker(args, "broker-restart.log")
    fetch = bench(args, "--fetch-only", "--timeout-ms", "120000")
    answered_s = time.monotonic() - restarted.started
    loaded = restarted.loaded_ms()
    restarted.stop()
    print(json.dumps({
        "commits": run["commits"], "commits_per_sec": run["commits_per_sec"],
        "commit_latency_ms": run["latency_ms"], "verified": run["verified"],
        "segment_bytes": args.segment_bytes, "cleaner_threads": args.cleaner_threads,
        "offsets_bytes_after_run": after_run, "offsets_bytes_settled": settled,
        "settle_seconds": settle_s,
        "restart_to_offsets_answered_s": round(answered_s, 3),
        "fetch_only_seconds": fetch["seconds"], "fetch_verified": fetch["verified"],
        "fetch_retried": fetch["retried"],
        "coordinator_load_ms_max": max(loaded, default=None), "partitions_loaded": len(loaded),
    }, indent=2))


if __name__ == "__main__":
    main()
