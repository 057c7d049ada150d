"""A real replicated cluster for the replication tests: 3 chronik-meta voters and 3
chronik-broker processes on ephemeral loopback ports, each with its own temp data dir.

Tests talk only to processes they started: the quorum's cluster id is random and checked
through `chronik-meta status`, every broker must report it, and only PIDs started here are
signalled.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from harness import ROOT, free_port, metric

BIN_DIR = Path(os.environ.get("CHRONIK_BIN_DIR", ROOT / "target" / "debug"))
META_BIN = BIN_DIR / "chronik-meta"
BROKER_BIN = BIN_DIR / "chronik-broker"
WALCTL_BIN = BIN_DIR / "chronik-walctl"
DEADLINE_S = 60.0


class Exited(Exception):
    """A process the check waits on has exited: waiting longer cannot help."""


def eventually(what, check, timeout=DEADLINE_S, interval=0.1):
    """Polls `check` until it returns something truthy; fails with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exited:
            raise
        except Exception as e:  # noqa: BLE001 - a check may fail while the cluster settles
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


class Proc:
    """One child process with its log file; restartable with the same command."""

    def __init__(self, name, cmd, log_path):
        self.name, self.cmd, self.log_path = name, cmd, log_path
        self.proc = None

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} already running"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=log)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=30)

    def terminate(self, timeout=60):
        """SIGTERM and wait; returns the exit code."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def log_tail(self, n=3000):
        try:
            return Path(self.log_path).read_text(errors="replace")[-n:]
        except OSError:
            return ""


class Cluster:
    """With `proxied`, every node is reached (by peers, brokers and clients) through its own
    `proxy.Proxy`, which a nemesis can cut, delay or make one-way; the harness itself (status,
    readiness checks) talks to the nodes directly. `meta_bin` and `broker_bin` choose the
    binaries the nodes start with (the harness's own commands always use the current ones).
    `broker_listen_args(bid, port)`, when given, returns the listener flags of broker `bid` in
    place of `--listen 127.0.0.1:PORT --advertise ...` (its first listener must still be
    PLAINTEXT on `port`, which the harness checks readiness through).

    With `secure`, every connection between nodes is TLS with client certificates from the
    cluster's CA (`certs/`): Raft between meta nodes, brokers and tools to the quorum, and
    replication between brokers through each broker's first listener, INTERNAL (SSL, on
    `internal_ports`). Clients use the second listener, CLIENT (PLAINTEXT on `port`, whose
    ANONYMOUS principal is a super user). The ACL authorizer is on: brokers (User:broker) may
    only do what the ACL made at start allows them, CLUSTER_ACTION on the cluster."""

    def __init__(self, brokers=3, voters=3, session_timeout_ms=2000, broker_args=(), meta_args=(),
                 proxied=False, meta_bin=META_BIN, broker_bin=BROKER_BIN, auto_create_topics=False,
                 broker_listen_args=None, secure=False):
        for b in (meta_bin, broker_bin):
            assert b.is_file(), f"{b} missing: build it with cargo build"
        self.tmp = tempfile.mkdtemp(prefix="chronik-cluster-")
        self.secure = secure
        # Flags of chronik-meta's client commands (status, users, ...) for this quorum.
        self.meta_tool_args = []
        if secure:
            self.certs = self._make_certs()
            self.meta_tool_args = self.meta_tls_args("meta")
            meta_args = (*self.meta_tool_args, *meta_args)
            assert broker_listen_args is None, "secure clusters choose their own listeners"
            broker_listen_args = self._secure_listeners
            broker_args = (*self.broker_tls_args("broker"), *broker_args)
        self.cluster_id = f"pytest-{uuid.uuid4().hex[:12]}"
        meta_ports = [free_port() for _ in range(voters)]
        self.meta_addrs = [f"127.0.0.1:{p}" for p in meta_ports]
        self.ports = {i + 1: free_port() for i in range(brokers)}
        self.metrics_ports = {b: free_port() for b in self.ports}
        self.internal_ports = {b: free_port() for b in self.ports} if secure else {}
        self.proxies = {}
        if proxied:
            from proxy import Proxy

            self.proxies = {f"meta{i + 1}": Proxy(p) for i, p in enumerate(meta_ports)}
            self.proxies.update({f"broker{b}": Proxy(p) for b, p in self.ports.items()})
            self.proxies.update({f"broker{b}-internal": Proxy(p) for b, p in self.internal_ports.items()})
        reach = {name: p.address for name, p in self.proxies.items()}
        meta_reach = [reach.get(f"meta{i + 1}", a) for i, a in enumerate(self.meta_addrs)]
        self.broker_reach = {b: reach.get(f"broker{b}", f"127.0.0.1:{p}") for b, p in self.ports.items()}
        self.internal_reach = {b: reach.get(f"broker{b}-internal", f"127.0.0.1:{p}")
                               for b, p in self.internal_ports.items()}
        peers = ",".join(f"{i + 1}={a}" for i, a in enumerate(meta_reach))
        self.metas = [
            Proc(
                f"meta{i + 1}",
                [str(meta_bin), "run", "--id", str(i + 1), "--listen", addr, "--advertise", meta_reach[i],
                 "--peers", peers, "--cluster-id", self.cluster_id, "--data-dir", self.path(f"meta{i + 1}"),
                 "--session-timeout-ms", str(session_timeout_ms), "--log-level", "info", *meta_args],
                self.path(f"meta{i + 1}.log"),
            )
            for i, addr in enumerate(self.meta_addrs)
        ]
        self.brokers = {
            bid: Proc(
                f"broker{bid}",
                [str(broker_bin), "run", "--id", str(bid),
                 *(broker_listen_args(bid, port) if broker_listen_args else
                   ["--listen", f"127.0.0.1:{port}", "--advertise", self.broker_reach[bid]]),
                 "--data-dir", self.data_dir(bid), "--meta", ",".join(meta_reach),
                 "--fsync", "never", "--auto-create-topics", "true" if auto_create_topics else "false",
                 "--metrics-addr", f"127.0.0.1:{self.metrics_ports[bid]}",
                 "--log-level", "info", *broker_args],
                self.path(f"broker{bid}.log"),
            )
            for bid, port in self.ports.items()
        }

    def path(self, name):
        return os.path.join(self.tmp, name)

    def _make_certs(self):
        from certs import NODE_EXT, make_ca, make_cert

        d = Path(self.path("certs"))
        d.mkdir()
        make_ca(d, "ca")
        make_ca(d, "rogue-ca")
        make_cert(d, "meta", "meta", "ca", NODE_EXT)
        make_cert(d, "broker", "broker", "ca", NODE_EXT)
        # A broker certificate from a CA the cluster does not trust.
        make_cert(d, "rogue", "broker", "rogue-ca", NODE_EXT)
        return d

    def meta_tls_args(self, name, ca="ca"):
        c = self.certs
        return ["--tls-cert", str(c / f"{name}.pem"), "--tls-key", str(c / f"{name}.key"),
                "--tls-ca", str(c / f"{ca}.pem")]

    def broker_tls_args(self, name, ca="ca"):
        c = self.certs
        return ["--tls-cert", str(c / f"{name}.pem"), "--tls-key", str(c / f"{name}.key"),
                "--tls-client-ca", str(c / f"{ca}.pem"), "--cluster-tls",
                "--authorizer", "acl", "--super-users", "User:ANONYMOUS"]

    def _secure_listeners(self, bid, port):
        internal = self.internal_ports[bid]
        return ["--listeners", f"INTERNAL://127.0.0.1:{internal},CLIENT://127.0.0.1:{port}",
                "--listener-security-protocol-map", "INTERNAL:SSL,CLIENT:PLAINTEXT",
                "--advertised-listeners",
                f"INTERNAL://{self.internal_reach[bid]},CLIENT://{self.broker_reach[bid]}"]

    def allow_brokers_cluster_action(self):
        """The one ACL brokers need between themselves: CLUSTER_ACTION on the cluster
        (replica fetches, transaction markers)."""
        from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, ResourcePatternType,
                                           ResourceType)

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        acl = AclBinding(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, "User:broker", "*",
                         AclOperation.CLUSTER_ACTION, AclPermissionType.ALLOW)
        for f in admin.create_acls([acl]).values():
            f.result(timeout=30)

    def data_dir(self, bid):
        return self.path(f"broker{bid}")

    @property
    def bootstrap(self):
        return ",".join(self.broker_reach.values())

    def start(self):
        for m in self.metas:
            m.start()
        self._with_logs(lambda: eventually("the quorum to elect a leader", lambda: self.status().get("leader_id")))
        for bid in self.brokers:
            self.start_broker(bid)
        if self.secure:
            self.allow_brokers_cluster_action()
        return self

    def start_broker(self, bid):
        proc = self.brokers[bid].start()

        def registered():
            if not proc.alive():
                raise Exited(f"broker {bid} exited with {proc.proc.returncode}")
            return self.live(bid) and self._answers(bid)

        self._with_logs(lambda: eventually(f"broker {bid} to register and be live", registered))

    def _with_logs(self, wait):
        """Runs `wait`; when it fails, the failure carries every node's log tail, since the
        temp dir holding the logs is removed with the cluster."""
        try:
            return wait()
        except (AssertionError, Exited) as e:
            raise AssertionError(f"{e}\n{self.logs()}") from e

    def _answers(self, bid):
        """Broker `bid` answers Metadata for our cluster id (not some stale process)."""
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.ports[bid]}"})
        md = admin.list_topics(timeout=5)
        assert md.cluster_id == self.cluster_id, f"broker {bid} reports cluster {md.cluster_id}"
        return True

    def metric(self, bid, series):
        """The value of one Prometheus series of broker `bid` (see `harness.metric`)."""
        return metric(f"127.0.0.1:{self.metrics_ports[bid]}", series)

    def status(self, topic=None):
        """`chronik-meta status --output json` from any live voter."""
        errors = []
        for m, addr in zip(self.metas, self.meta_addrs):
            if not m.alive():
                continue
            cmd = [str(META_BIN), "status", "--meta", addr, "--output", "json", *self.meta_tool_args]
            if topic:
                cmd += ["--topic", topic]
            out = subprocess.run(cmd, capture_output=True, timeout=30)
            try:
                st = json.loads(out.stdout)
            except ValueError:
                errors.append(out.stderr.decode(errors="replace"))
                continue
            assert st["cluster_id"] == self.cluster_id, f"voter {addr} is in cluster {st['cluster_id']}"
            return st
        raise AssertionError(f"no voter answered status: {errors}")

    def live(self, bid):
        return any(b["id"] == bid and not b["fenced"] for b in self.status()["brokers"])

    def partitions(self, topic):
        """{partition: {leader, replicas, isr}} from the quorum."""
        st = self.status(topic)
        return {p["partition"]: p for p in st.get("topic_partitions", []) if p["topic"] == topic}

    def create_topic(self, name, partitions, replication=3, config=None):
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=replication,
                                           config=config or {})])
        fs[name].result(timeout=30)

        def ready():
            ps = self.partitions(name)
            return len(ps) == partitions and all(len(p["isr"]) == replication for p in ps.values())

        eventually(f"topic {name} with full ISRs", ready)

    def wait_isr(self, topic, size, timeout=DEADLINE_S):
        return eventually(
            f"every ISR of {topic} to hold {size} replicas",
            lambda: all(len(p["isr"]) == size for p in self.partitions(topic).values()),
            timeout=timeout,
        )

    def leader_of(self, topic, partition):
        return self.partitions(topic)[partition]["leader"]

    def walctl(self, *args):
        out = subprocess.run([str(WALCTL_BIN), *args], capture_output=True, timeout=60)
        return out.returncode, out.stdout.decode(errors="replace"), out.stderr.decode(errors="replace")

    def logs(self):
        return "\n".join(f"--- {p.name}\n{p.log_tail()}" for p in [*self.metas, *self.brokers.values()])

    def cleanup(self):
        for p in [*self.brokers.values(), *self.metas]:
            p.signal(signal.SIGCONT)
            p.kill()
        for proxy in self.proxies.values():
            proxy.close()
        if os.environ.get("CHRONIK_KEEP_CLUSTER_DIR"):
            print(f"cluster logs and data kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def running_cluster(**kwargs):
    """For a pytest fixture: starts a cluster, yields it, always removes it."""
    c = Cluster(**kwargs)
    try:
        c.start()
        yield c
    finally:
        c.cleanup()
