"""Faults between a broker and its remote tier (moto's S3 server behind a proxy the test
controls): 500 answers, a hung connection and the store down for a minute while producers go
on; a SIGKILL of the broker in the middle of an upload. Afterwards every upload catches up, no
partial copy stays visible, and the whole log reads back from offset 0.
"""

import os
import time
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Producer

from cluster import eventually
from harness import IO_DEADLINE_S, BrokerProcess, create_topic, unique
from proxy import Proxy
from tier_support import (FAST, LOCAL_FEW, aws_env, check_read_back, copied_all_sealed, local_start_past, produce,
                          start_moto, value)

# A minute and a half, most of it the store held down: scheduled first (conftest.py).
RUNS_LONG = True
BUCKET = "chronik-faults"
URL = f"s3://{BUCKET}/faults"
# A short request timeout, so a hung connection fails a step in seconds, not minutes.
STORE_ARGS = ("--remote-storage", URL, "--remote-storage-request-timeout-ms", "1000")


def objects(s3):
    """Every key in the bucket, read from moto directly (not through the proxy)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def partial_copies(s3):
    """Segment objects without a manifest: uploads not finished (or not cleaned up yet)."""
    keys = set(objects(s3))
    return [k for k in keys if k.endswith(".wal") and k[:-len(".wal")] + ".manifest" not in keys]


def failures_logged(broker):
    return Path(broker.log_path).read_text(errors="replace").count("remote tier step failed")


class PacedProducer:
    """Produces records with values naming their offsets, 20 at a time, each lot acknowledged."""

    def __init__(self, bootstrap, topic, sent):
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
        self.topic, self.sent = topic, sent

    def lot(self):
        for i in range(self.sent, self.sent + 20):
            self.p.produce(self.topic, key=b"k%d" % i, value=value(i), partition=0)
        assert self.p.flush(IO_DEADLINE_S) == 0, "produce goes on while the store fails"
        self.sent += 20
        # Paces the lots (about 50 records a second) while serving delivery reports.
        self.p.poll(0.4)

    def during(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.lot()

    def until(self, what, check, timeout=60):
        end = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < end, f"timed out waiting for {what}"
            self.lot()


@contextmanager
def broker_behind_proxy(tmp_path):
    """moto, a proxy in front of it, and a broker whose remote tier is reached through the
    proxy; yields them with the AWS_* variables that reach moto directly."""
    moto, port, s3 = start_moto(tmp_path)
    s3.create_bucket(Bucket=BUCKET)
    proxy = Proxy(port)
    try:
        with aws_env(proxy.port) as aws:
            b = BrokerProcess((*FAST, *STORE_ARGS)).start()
        try:
            yield b, proxy, s3, {**os.environ, **aws, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
        finally:
            b.cleanup()
    finally:
        proxy.close()
        moto.kill()
        moto.wait()


def test_store_faults_hold_back_uploads_never_produce_and_lose_nothing(tmp_path):
    with broker_behind_proxy(tmp_path) as (b, proxy, s3, direct):
        topic = unique("faults")
        create_topic(b.bootstrap, topic, 1, LOCAL_FEW)
        produce(b.bootstrap, topic, 200)
        eventually("local segments deleted once copied", lambda: local_start_past(b.data_dir, topic, 100))
        paced = PacedProducer(b.bootstrap, topic, 200)
        for mode in ("http500", "drop_in"):
            proxy.set(mode)
            seen = failures_logged(b)
            paced.until(f"a failed step under {mode}", lambda: failures_logged(b) > seen)
            proxy.set("up")
        proxy.set("down")
        paced.during(60)
        proxy.set("up")

        eventually("the uploads catch up", lambda: copied_all_sealed(b.data_dir, URL, topic, direct), timeout=120)
        eventually("no partial copy visible", lambda: not partial_copies(s3))
        check_read_back(b.bootstrap, topic, paced.sent)


def test_a_broker_killed_mid_upload_redoes_the_upload_after_restart(tmp_path):
    with broker_behind_proxy(tmp_path) as (b, proxy, s3, direct):
        topic = unique("killed")
        create_topic(b.bootstrap, topic, 1, LOCAL_FEW)
        # Each request waits, so an upload's objects go up seconds apart.
        proxy.set("delay", 0.3)
        produce(b.bootstrap, topic, 300)
        partial = eventually("an upload under way", lambda: partial_copies(s3))
        b.kill()
        proxy.set("up")
        with aws_env(proxy.port):
            b.start()
        eventually("the abandoned upload deleted", lambda: not set(partial) & set(objects(s3)))
        eventually("every sealed segment copied again", lambda: copied_all_sealed(b.data_dir, URL, topic, direct),
                   timeout=120)
        eventually("no partial copy visible", lambda: not partial_copies(s3))
        check_read_back(b.bootstrap, topic, 300)
