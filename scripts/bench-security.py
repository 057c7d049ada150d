#!/usr/bin/env python3
"""What TLS and SASL cost: one release broker with a PLAINTEXT and a SASL_SSL listener
(SCRAM-SHA-512), and the same chronik-bench loads through each, interleaved run by run so that
both see the same machine. Reports records/s over SASL_SSL as a fraction of PLAINTEXT, how many
acknowledged records were stored (the partitions' high watermarks read back after each run),
and connection set-up rates and the broker's CPU time per connection on PLAINTEXT, SSL,
SASL_PLAINTEXT and SASL_SSL listeners (a SCRAM client derives its key with 8192 PBKDF2 rounds
per connection, which is most of a SASL connection's time on one machine).

Loads: 100-byte records, acks=1, batched (262144-byte batches, linger 5 ms); 1 KiB records,
acks=all. Certificates come from openssl in a temp dir; the broker's data dir is temporary too.
Needs confluent-kafka (tests/run-all.sh installs it in target/python-venv) and openssl.

Usage: scripts/bench-security.py [--runs 3] [--duration 8] [--connections 2000] [--fsync never]
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
from certs import SERVER_EXT, make_ca, make_cert  # noqa: E402

PASSWORD = "bench-secret-1"
PARTITIONS = 4
LOADS = {
    "100 B acks=1 batched": ["--record-size", "100", "--acks", "1", "--batch-size", "262144", "--linger-ms", "5"],
    "1 KiB acks=all": ["--record-size", "1024", "--acks", "all", "--batch-size", "262144", "--linger-ms", "5"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kwargs):
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stderr}")
    return out.stdout


def wait_for_port(port, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the broker exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"the broker did not listen on {port} within {timeout} s")


def stored(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-security-peek"})
    try:
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(PARTITIONS))
    finally:
        c.close()


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--fsync", default="never", choices=["never", "always"])
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "chronik-broker-bin", "-p", "chronik-bench"],
                   cwd=ROOT, check=True)
    broker_bin, bench_bin = ROOT / "target/release/chronik-broker", ROOT / "target/release/chronik-bench"
    tmp = Path(tempfile.mkdtemp(prefix="chronik-bench-security-"))
    make_ca(tmp, "ca")
    make_cert(tmp, "server", "localhost", "ca", SERVER_EXT)
    data = tmp / "data"
    run([broker_bin, "users", "add", "alice", "--mechanism", "SCRAM-SHA-512", "--password-stdin",
         "--data-dir", data], input=PASSWORD + "\n")
    ports = {p: free_port() for p in ("PLAINTEXT", "SASL_SSL", "SSL", "SASL_PLAINTEXT")}
    loaded = ("PLAINTEXT", "SASL_SSL")
    listeners = ",".join(f"{p}://127.0.0.1:{port}" for p, port in ports.items())
    broker = subprocess.Popen([broker_bin, "run", "--data-dir", data, "--listeners", listeners, "--fsync", args.fsync,
                               "--tls-cert", tmp / "server.pem", "--tls-key", tmp / "server.key",
                               "--log-level", "warn"], stderr=open(tmp / "broker.log", "w"))
    try:
        wait_for_port(ports["SASL_SSL"], broker)
        tls = ["--ssl-ca-location", tmp / "ca.pem"]
        scram = ["--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", "alice"]
        flags = {
            "PLAINTEXT": [],
            "SASL_SSL": ["--security-protocol", "SASL_SSL", *tls, *scram],
            "SSL": ["--security-protocol", "SSL", *tls],
            "SASL_PLAINTEXT": ["--security-protocol", "SASL_PLAINTEXT", *scram],
        }
        env = {"CHRONIK_SASL_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"}
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{ports['PLAINTEXT']}"})
        disk = json.loads(run([bench_bin, "disk", "--dir", tmp / "disk", "--output", "json"]))
        print(f"disk: {json.dumps(disk)}")
        results = {(load, p): [] for load in LOADS for p in loaded}
        for r in range(args.runs):
            for load, load_flags in LOADS.items():
                for protocol in loaded:
                    port = ports[protocol]
                    topic = f"t{r}-{len(results[(load, protocol)])}-{protocol}-{load.split()[0]}{load.split()[1]}"
                    report = json.loads(run([bench_bin, "produce", "--bootstrap", f"127.0.0.1:{port}",
                                             "--topic", topic, "--create", "--partitions", PARTITIONS,
                                             "--duration", args.duration, *load_flags, *flags[protocol],
                                             "--output", "json"], env=env))
                    kept = stored(f"127.0.0.1:{ports['PLAINTEXT']}", topic)
                    # A 1 KiB run writes gigabytes: the disk would fill up over the runs.
                    admin.delete_topics([topic])[topic].result(timeout=60)
                    results[(load, protocol)].append((report["records_per_sec"], report["records"], kept))
                    print(f"run {r + 1} {load} {protocol}: {report['records_per_sec']:,.0f} records/s, "
                          f"{report['records']:,} acknowledged, {kept:,} stored")
        connects = {}
        for protocol, port in ports.items():
            cpu_before = cpu_seconds(broker.pid)
            report = json.loads(run([bench_bin, "connect", "--bootstrap", f"127.0.0.1:{port}",
                                     "--connections", args.connections, "--concurrency", 4,
                                     *flags[protocol], "--output", "json"], env=env))
            report["broker_cpu_ms_per_connection"] = (cpu_seconds(broker.pid) - cpu_before) * 1000 / report["connections"]
            connects[protocol] = report
            print(f"connect {protocol}: {report['connections_per_sec']:,.0f} connections/s, "
                  f"p50 {report['latency_ms']['p50']} ms, p99 {report['latency_ms']['p99']} ms, "
                  f"broker CPU {report['broker_cpu_ms_per_connection']:.3f} ms per connection")
        print()
        print("| load | PLAINTEXT records/s (median) | SASL_SSL records/s (median) | SASL_SSL ÷ PLAINTEXT | stored ÷ acknowledged |")
        print("|---|---|---|---|---|")
        for load in LOADS:
            plain = statistics.median(x[0] for x in results[(load, "PLAINTEXT")])
            secure = statistics.median(x[0] for x in results[(load, "SASL_SSL")])
            acked = sum(x[1] for p in loaded for x in results[(load, p)])
            kept = sum(x[2] for p in loaded for x in results[(load, p)])
            print(f"| {load} | {plain:,.0f} | {secure:,.0f} | {secure / plain:.2f} | {kept:,} / {acked:,} |")
        print()
        print("| listener | connections/s | set-up p50 | set-up p99 | broker CPU per connection |")
        print("|---|---|---|---|---|")
        for protocol, report in connects.items():
            l = report["latency_ms"]
            print(f"| {protocol} | {report['connections_per_sec']:,.0f} | {l['p50']} ms | {l['p99']} ms "
                  f"| {report['broker_cpu_ms_per_connection']:.3f} ms |")
    finally:
        broker.terminate()
        broker.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
