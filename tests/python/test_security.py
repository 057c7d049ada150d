"""TLS and SASL against real clients over real TLS: confluent-kafka (librdkafka), kafka-python
and kcat produce, consume in groups and run admin calls over SASL_SSL with SCRAM-SHA-512,
SCRAM-SHA-256 and PLAIN, over SASL_PLAINTEXT, and over SSL with client certificates. Wrong
passwords, unknown users and untrusted, expired or missing certificates are refused and write
nothing; before authentication only ApiVersions and the SASL requests are served.

Certificates come from openssl in a temp dir; the first user is added with
`chronik-broker users add` before the broker starts, as an operator would.
"""

import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka.protocol.admin import (
    ApiVersionRequest_v0,
    SaslAuthenticateRequest_v1,
    SaslHandShakeRequest_v1,
)
from kafka.protocol.api import RequestHeader
from kafka.protocol.metadata import MetadataRequest_v1

from certs import CLIENT_EXT, SERVER_EXT, make_ca, make_cert
from harness import BROKER_BIN, DEFAULT_ARGS, KAFKA_PYTHON_PROBE, BrokerProcess, free_port, unique

PASSWORD = "alice-secret-1"
DEADLINE_S = 30.0
SASL_AUTHENTICATION_FAILED = 58


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    make_ca(d, "ca")
    make_ca(d, "rogue-ca")
    make_cert(d, "server", "localhost", "ca", SERVER_EXT)
    make_cert(d, "alice", "alice", "ca", CLIENT_EXT)
    make_cert(d, "mallory", "mallory", "rogue-ca", CLIENT_EXT)
    # Valid for zero days: expired by the time a client presents it.
    make_cert(d, "expired", "bob", "ca", CLIENT_EXT, days=0)
    return d


class SecureBroker(BrokerProcess):
    """A broker with a PLAINTEXT listener (readiness checks, and checking what was stored)
    and an SSL, a SASL_SSL and a SASL_PLAINTEXT listener, each on its own port."""

    def __init__(self, certs, extra=()):
        super().__init__(args=(
            *DEFAULT_ARGS,
            # Groups form at once: the tests' consumers join one each.
            "--group-initial-rebalance-delay-ms", "0",
            "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key"),
            "--tls-client-ca", str(certs / "ca.pem"),
            "--sasl-mechanisms", "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",
            *extra,
        ))
        self.certs = certs
        self.ports = {p: free_port() for p in ("SSL", "SASL_SSL", "SASL_PLAINTEXT")}
        listeners = [f"PLAINTEXT://{self.bootstrap}"]
        listeners += [f"{p}://127.0.0.1:{port}" for p, port in self.ports.items()]
        self.listen_args = ["--listeners", ",".join(listeners)]

    def conf(self, protocol, mechanism=None, user="alice", password=PASSWORD, cert=None):
        """librdkafka settings for one listener."""
        conf = {"bootstrap.servers": f"127.0.0.1:{self.ports[protocol]}", "security.protocol": protocol}
        if protocol in ("SSL", "SASL_SSL"):
            conf["ssl.ca.location"] = str(self.certs / "ca.pem")
        if cert is not None:
            conf["ssl.certificate.location"] = str(self.certs / f"{cert}.pem")
            conf["ssl.key.location"] = str(self.certs / f"{cert}.key")
        if mechanism is not None:
            conf.update({"sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password})
        return conf


def users(data_dir, *args, stdin=None):
    return subprocess.run([str(BROKER_BIN), "users", *args, "--data-dir", data_dir], input=stdin,
                          text=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def broker(certs):
    b = SecureBroker(certs)
    for mechanism in ("SCRAM-SHA-512", "SCRAM-SHA-256"):
        out = users(b.data_dir, "add", "alice", "--mechanism", mechanism, "--password-stdin",
                    stdin=PASSWORD + "\n")
        assert out.returncode == 0, out.stderr
    b.start()
    try:
        yield b
    finally:
        b.cleanup()


def create_topic(conf, partitions=2):
    topic = unique("secure")
    admin = AdminClient(conf)
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(30)
    return topic, admin


def end_offsets(broker, topic, partitions=2):
    """What the broker stored, read over the PLAINTEXT listener."""
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("peek")})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)]
    finally:
        c.close()


def round_trip(conf, topic, n=50):
    """Produces n records idempotently with acks=all, then consumes them in a group and
    commits; returns the values read."""
    failed = []
    p = Producer({**conf, "enable.idempotence": True, "linger.ms": 5})
    for i in range(n):
        p.produce(topic, key=str(i).encode(), value=f"v{i}".encode(),
                  on_delivery=lambda err, _msg: err and failed.append(err))
    assert p.flush(DEADLINE_S) == 0 and not failed, failed
    c = Consumer({**conf, "group.id": unique("group"), "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    c.commit(asynchronous=False)
    c.close()
    return got


@pytest.mark.compat("confluent-kafka", "tls", "sasl")
@pytest.mark.parametrize("protocol,mechanism", [
    ("SASL_SSL", "SCRAM-SHA-512"),
    ("SASL_SSL", "SCRAM-SHA-256"),
    ("SASL_SSL", "PLAIN"),
    ("SASL_PLAINTEXT", "SCRAM-SHA-512"),
])
def test_confluent_kafka_produces_consumes_and_administers_over_sasl(broker, protocol, mechanism):
    conf = broker.conf(protocol, mechanism)
    topic, admin = create_topic(conf)
    # The broker names itself by the address of the listener the client came in on.
    md = admin.list_topics(timeout=10)
    assert [b.port for b in md.brokers.values()] == [broker.ports[protocol]]
    got = round_trip(conf, topic)
    assert sorted(got) == sorted(f"v{i}" for i in range(50))
    assert sum(end_offsets(broker, topic)) == 50


@pytest.mark.compat("confluent-kafka", "tls")
def test_ssl_clients_with_a_trusted_certificate_are_served(broker):
    conf = broker.conf("SSL", cert="alice")
    topic, _ = create_topic(conf)
    assert sorted(round_trip(conf, topic, n=20)) == sorted(f"v{i}" for i in range(20))


def refused(conf, topic):
    """Tries to produce one record with `conf`; returns the errors librdkafka reported and
    whether the record was delivered."""
    errors = []
    delivered = []
    p = Producer({**conf, "error_cb": errors.append, "message.timeout.ms": 4000,
                  "reconnect.backoff.ms": 200})
    p.produce(topic, value=b"must not land", on_delivery=lambda err, _m: delivered.append(err is None))
    p.flush(10)
    return errors, delivered


@pytest.mark.parametrize("user,password", [("alice", "wrong-password"), ("nobody", PASSWORD)])
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_bad_credentials_are_refused_and_write_nothing(broker, user, password, mechanism):
    topic, _ = create_topic(broker.conf("SASL_SSL", "SCRAM-SHA-512"))
    errors, delivered = refused(broker.conf("SASL_SSL", mechanism, user=user, password=password), topic)
    assert delivered != [True]
    assert any(e.code() == KafkaError._AUTHENTICATION and "authentication failed" in e.str().lower()
               for e in errors), errors
    assert end_offsets(broker, topic) == [0, 0]


@pytest.mark.parametrize("cert", [None, "mallory", "expired"])
def test_ssl_without_a_trusted_valid_certificate_is_refused(broker, cert):
    topic, _ = create_topic(broker.conf("SASL_SSL", "SCRAM-SHA-512"))
    errors, delivered = refused(broker.conf("SSL", cert=cert), topic)
    assert delivered != [True]
    assert any(e.code() in (KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)
               for e in errors), errors
    assert end_offsets(broker, topic) == [0, 0]


def kafka_python_round_trip(broker, topic, **security):
    """Ten records produced and consumed in a group by kafka-python with `security`."""
    producer = KafkaProducer(acks="all", **security, **KAFKA_PYTHON_PROBE)
    for i in range(10):
        producer.send(topic, value=f"kp{i}".encode(), partition=i % 2).get(timeout=DEADLINE_S)
    producer.close()
    consumer = KafkaConsumer(topic, group_id=unique("kp"), auto_offset_reset="earliest",
                             consumer_timeout_ms=int(DEADLINE_S * 1000), **security,
                             **KAFKA_PYTHON_PROBE)
    got = []
    for m in consumer:
        got.append(m.value.decode())
        if len(got) == 10:
            break
    got.sort()
    consumer.close()
    assert got == sorted(f"kp{i}" for i in range(10))


@pytest.mark.compat("kafka-python", "tls", "sasl")
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"])
def test_kafka_python_produces_and_consumes_over_sasl_ssl(broker, mechanism):
    topic, _ = create_topic(broker.conf("SASL_SSL", "SCRAM-SHA-512"))
    kafka_python_round_trip(
        broker, topic, bootstrap_servers=f"127.0.0.1:{broker.ports['SASL_SSL']}",
        security_protocol="SASL_SSL", sasl_mechanism=mechanism, sasl_plain_username="alice",
        sasl_plain_password=PASSWORD, ssl_cafile=str(broker.certs / "ca.pem"))


@pytest.mark.compat("kafka-python", "tls")
def test_kafka_python_produces_and_consumes_over_ssl_with_a_client_certificate(broker):
    topic, _ = create_topic(broker.conf("SASL_SSL", "SCRAM-SHA-512"))
    kafka_python_round_trip(
        broker, topic, bootstrap_servers=f"127.0.0.1:{broker.ports['SSL']}", security_protocol="SSL",
        ssl_cafile=str(broker.certs / "ca.pem"), ssl_certfile=str(broker.certs / "alice.pem"),
        ssl_keyfile=str(broker.certs / "alice.key"))


def kcat_round_trip(broker, port, *security):
    topic, _ = create_topic(broker.conf("SASL_SSL", "SCRAM-SHA-512"))
    base = ["kcat", "-b", f"127.0.0.1:{port}", "-X", f"ssl.ca.location={broker.certs / 'ca.pem'}", *security]
    out = subprocess.run([*base, "-P", "-t", topic, "-p", "0"], input="one\ntwo\nthree\n", text=True,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([*base, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q"], text=True,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["one", "two", "three"]


@pytest.mark.compat("kcat", "tls", "sasl")
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"])
def test_kcat_produces_and_consumes_over_sasl_ssl(broker, mechanism):
    kcat_round_trip(broker, broker.ports["SASL_SSL"], "-X", "security.protocol=SASL_SSL",
                    "-X", f"sasl.mechanisms={mechanism}", "-X", "sasl.username=alice",
                    "-X", f"sasl.password={PASSWORD}")


@pytest.mark.compat("kcat", "tls")
def test_kcat_produces_and_consumes_over_ssl_with_a_client_certificate(broker):
    kcat_round_trip(broker, broker.ports["SSL"], "-X", "security.protocol=SSL",
                    "-X", f"ssl.certificate.location={broker.certs / 'alice.pem'}",
                    "-X", f"ssl.key.location={broker.certs / 'alice.key'}")


def frame(request, correlation_id=1):
    # kafka-python binds encode() weakly: the header must outlive the call.
    header = RequestHeader(request, correlation_id=correlation_id, client_id="raw")
    body = header.encode() + request.encode()
    return struct.pack(">i", len(body)) + body


def read_frame(sock):
    """One response frame, or None when the broker closed the connection."""
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    (size,) = struct.unpack(">i", head)
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def test_only_api_versions_and_sasl_are_served_before_authentication(broker):
    port = broker.ports["SASL_PLAINTEXT"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(frame(ApiVersionRequest_v0()))
        assert read_frame(s), "ApiVersions must be answered before authentication"
        s.sendall(frame(MetadataRequest_v1(topics=None), correlation_id=2))
        assert read_frame(s) is None, "Metadata before authentication must close the connection"
    # A request larger than the unauthenticated cap closes the connection unread.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", 1024 * 1024) + b"\0" * 1024)
        assert read_frame(s) is None


def authenticate_plain(sock, password=PASSWORD):
    """SaslHandshake v1 + SaslAuthenticate v1 with PLAIN; returns (error code, session lifetime)."""
    sock.sendall(frame(SaslHandShakeRequest_v1(mechanism="PLAIN"), correlation_id=10))
    handshake = read_frame(sock)
    assert handshake is not None
    token = b"\0alice\0" + password.encode()
    sock.sendall(frame(SaslAuthenticateRequest_v1(sasl_auth_bytes=token), correlation_id=11))
    reply = read_frame(sock)
    assert reply is not None
    response = SaslAuthenticateRequest_v1.RESPONSE_TYPE.decode(reply[4:])
    return response.error_code, response.session_lifetime_ms


def test_a_failed_authentication_is_answered_then_the_connection_closes(broker):
    with socket.create_connection(("127.0.0.1", broker.ports["SASL_PLAINTEXT"]), timeout=10) as s:
        code, _ = authenticate_plain(s, password="wrong")
        assert code == SASL_AUTHENTICATION_FAILED
        assert read_frame(s) is None


@pytest.fixture(scope="module")
def reauth_broker(certs):
    b = SecureBroker(certs, extra=("--connections-max-reauth-ms", "1500"))
    out = users(b.data_dir, "add", "alice", "--mechanism", "SCRAM-SHA-512", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert out.returncode == 0, out.stderr
    b.start()
    try:
        yield b
    finally:
        b.cleanup()


def test_sessions_expire_and_clients_that_reauthenticate_keep_working(reauth_broker):
    b = reauth_broker
    # A client that does not re-authenticate is disconnected once its session is over.
    with socket.create_connection(("127.0.0.1", b.ports["SASL_PLAINTEXT"]), timeout=10) as s:
        code, lifetime = authenticate_plain(s)
        assert (code, lifetime) == (0, 1500)
        s.sendall(frame(MetadataRequest_v1(topics=None), correlation_id=3))
        assert read_frame(s) is not None
        deadline = time.monotonic() + DEADLINE_S
        closed = False
        while not closed and time.monotonic() < deadline:
            s.sendall(frame(MetadataRequest_v1(topics=None), correlation_id=4))
            closed = read_frame(s) is None
        assert closed, "the session outlived its lifetime"
    # librdkafka re-authenticates (KIP-368): a producer outliving several sessions loses nothing.
    conf = b.conf("SASL_SSL", "SCRAM-SHA-512")
    topic, _ = create_topic(conf)
    errors, failed = [], []
    p = Producer({**conf, "enable.idempotence": True, "error_cb": errors.append})
    until = time.monotonic() + 5
    sent = 0
    while time.monotonic() < until:
        p.produce(topic, value=b"x", on_delivery=lambda err, _m: err and failed.append(err))
        sent += 1
        p.poll(0.01)
    assert p.flush(DEADLINE_S) == 0
    assert not failed and not errors, (failed, errors)
    assert sum(end_offsets(b, topic)) == sent


def peer_certificate(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def test_sighup_reloads_the_certificate_without_dropping_connections(certs, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    for f in ("server.pem", "server.key", "ca.pem", "ca.key"):
        (live / f).write_bytes((certs / f).read_bytes())
    b = SecureBroker(live)
    out = users(b.data_dir, "add", "alice", "--mechanism", "SCRAM-SHA-512", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert out.returncode == 0, out.stderr
    b.start()
    try:
        conf = b.conf("SASL_SSL", "SCRAM-SHA-512")
        topic, _ = create_topic(conf)
        p = Producer({**conf, "enable.idempotence": True})
        p.produce(topic, value=b"before")
        assert p.flush(DEADLINE_S) == 0
        before = peer_certificate(b.ports["SASL_SSL"], str(live / "ca.pem"))
        make_cert(live, "server", "localhost", "ca", SERVER_EXT)
        b.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + DEADLINE_S
        while peer_certificate(b.ports["SASL_SSL"], str(live / "ca.pem")) == before:
            assert time.monotonic() < deadline, "the new certificate was not served"
            time.sleep(0.1)
        # The producer's connection, opened before the reload, still works.
        p.produce(topic, value=b"after")
        assert p.flush(DEADLINE_S) == 0
        assert sum(end_offsets(b, topic)) == 2
        assert b.proc.poll() is None
    finally:
        b.cleanup()


@pytest.mark.parametrize("args,message", [
    (["--listeners", "SSL://127.0.0.1:0"], "--tls-cert"),
    (["--listeners", "SSL://127.0.0.1:0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"],
     "/nonexistent.pem"),
    (["--listeners", "FOO://127.0.0.1:0"], "not a security protocol"),
    (["--listeners", "PLAINTEXT://127.0.0.1:0", "--sasl-mechanisms", "GSSAPI"], "GSSAPI"),
    (["--tls-cert", "a.pem"], "--tls-key"),
    (["--listeners", "SSL://127.0.0.1:0", "--tls-cert", "a.pem", "--tls-key", "a.key", "--meta", "127.0.0.1:1"],
     "must be PLAINTEXT, or SSL with --cluster-tls"),
    (["--cluster-tls"], "--cluster-tls needs"),
    (["--cluster-tls", "--tls-cert", "a.pem", "--tls-key", "a.key"], "--tls-client-ca"),
    (["--cluster-tls", "--tls-cert", "a.pem", "--tls-key", "a.key", "--tls-client-ca", "ca.pem",
      "--meta", "127.0.0.1:1"], "must be SSL with --cluster-tls"),
])
def test_bad_security_settings_are_refused_at_start(tmp_path, args, message):
    out = subprocess.run([str(BROKER_BIN), "run", "--data-dir", str(tmp_path / "data"), *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert message in out.stderr, out.stderr
    assert not os.path.exists(tmp_path / "data"), "a refused start must not create the data dir"


BENCH_BIN = BROKER_BIN.parent / "chronik-bench"


def bench_flags(broker, protocol, mechanism):
    flags = ["--security-protocol", protocol]
    if protocol in ("SSL", "SASL_SSL"):
        flags += ["--ssl-ca-location", str(broker.certs / "ca.pem")]
    if protocol == "SSL":
        flags += ["--ssl-certificate-location", str(broker.certs / "alice.pem"),
                  "--ssl-key-location", str(broker.certs / "alice.key")]
    if mechanism:
        flags += ["--sasl-mechanism", mechanism, "--sasl-username", "alice"]
    return flags


def bench(*args, password=PASSWORD):
    assert BENCH_BIN.is_file(), f"{BENCH_BIN} missing: build it with cargo build"
    return subprocess.run([str(BENCH_BIN), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CHRONIK_SASL_PASSWORD": password})


@pytest.mark.parametrize("protocol,mechanism", [
    ("SASL_SSL", "SCRAM-SHA-512"), ("SASL_SSL", "SCRAM-SHA-256"), ("SASL_PLAINTEXT", "PLAIN"), ("SSL", None),
])
def test_chronik_bench_connects_and_produces_over_tls_and_sasl(broker, protocol, mechanism):
    address = f"127.0.0.1:{broker.ports[protocol]}"
    flags = bench_flags(broker, protocol, mechanism)
    out = bench("connect", "--bootstrap", address, "--connections", "20", "--concurrency", "2",
                "--output", "json", *flags)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["connections"] == 20, out.stdout
    topic = unique("bench")
    out = bench("produce", "--bootstrap", address, "--topic", topic, "--create", "--partitions", "1",
                "--records", "500", "--acks", "all", "--output", "json", *flags)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["records"] == 500
    assert end_offsets(broker, topic, 1) == [500], "what was acknowledged is stored"


def test_chronik_bench_reports_a_refused_password(broker):
    address = f"127.0.0.1:{broker.ports['SASL_SSL']}"
    out = bench("connect", "--bootstrap", address, "--connections", "3",
                *bench_flags(broker, "SASL_SSL", "SCRAM-SHA-512"), password="wrong")
    assert out.returncode == 2, out.stderr
    assert "SaslAuthenticationFailed" in out.stdout + out.stderr, out.stdout + out.stderr
