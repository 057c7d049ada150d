#!/usr/bin/env python3
"""Checks that every metric the alert rules and the Grafana dashboard query is one the binaries
really export, so a renamed metric fails the build instead of silently emptying a panel or
disarming an alert.

It starts a chronik-meta voter and a chronik-broker on it (ephemeral loopback ports, temp dirs),
drives some traffic with kcat (produce, a consumer group, a malformed request), scrapes both
/metrics endpoints and compares the metric names (and label names in selectors) found in the
PromQL of the rules and the dashboard against the scrapes. Metrics that only appear after an
event this check cannot cause on one broker are listed in EVENT_ONLY, each with the source text
that emits it; the check verifies that text is still in the source, and that the metric is
indeed absent from the scrape (so the list cannot hide a metric that is now always exported).
It also checks that every rule's runbook_url names a heading of the doc it points at.

Usage: check_metrics.py --bin-dir target/debug --rules FILE --rule-count N --dashboard FILE
"""

import argparse
import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Metrics registered only when something happens that a single healthy broker does not do:
# name -> (source file, literal texts that produce the name there, the event).
EVENT_ONLY = {
    "chronik_broker_isr_shrinks_total": (
        "crates/chronik-broker/src/replica/isr.rs",
        ['"chronik_broker_isr_{kind}_total"', '"shrinks"'],
        "a partition leader's ISR shrink accepted by the controller (needs followers)",
    ),
    "chronik_broker_isr_expands_total": (
        "crates/chronik-broker/src/replica/isr.rs",
        ['"chronik_broker_isr_{kind}_total"', '"expands"'],
        "a partition leader's ISR expansion accepted by the controller (needs followers)",
    ),
    "chronik_broker_failed_logs": (
        "crates/chronik-broker/src/partitions.rs",
        ['"chronik_broker_failed_logs"'],
        "a partition log failing on a disk error",
    ),
    "chronik_broker_cleaner_passes_total": (
        "crates/chronik-broker/src/cleaner/mod.rs",
        ['"chronik_broker_cleaner_passes_total"'],
        "a completed log-cleaner pass over a sealed dirty segment",
    ),
    "chronik_broker_cleaner_read_bytes_total": (
        "crates/chronik-broker/src/cleaner/mod.rs",
        ['"chronik_broker_cleaner_read_bytes_total"'],
        "a completed log-cleaner pass",
    ),
    "chronik_broker_cleaner_written_bytes_total": (
        "crates/chronik-broker/src/cleaner/mod.rs",
        ['"chronik_broker_cleaner_written_bytes_total"'],
        "a completed log-cleaner pass",
    ),
    "chronik_broker_cleaner_removed_records_total": (
        "crates/chronik-broker/src/cleaner/mod.rs",
        ['"chronik_broker_cleaner_removed_records_total"'],
        "a completed log-cleaner pass",
    ),
    "chronik_broker_cleaner_failures_total": (
        "crates/chronik-broker/src/cleaner/mod.rs",
        ['"chronik_broker_cleaner_failures_total"'],
        "a failed log-cleaner pass",
    ),
}
# Series Prometheus itself adds to every target.
PROMETHEUS_SERIES = {"up"}
# Labels Prometheus attaches from the scrape target, not from the exporter.
TARGET_LABELS = {"job", "instance"}
KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan",
}
DEADLINE_S = 40


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- extracting metric names from PromQL -------------------------------------------------------

def selectors(expr):
    """(metric, set of label names) for every `metric{...}` selector in expr."""
    found = []
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}", expr):
        labels = set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", m.group(2)))
        found.append((m.group(1), labels))
    return found


def metric_names(expr):
    """Metric names in one PromQL expression (Grafana variables allowed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', " ", expr)
    e = re.sub(r"label_values\(\s*([^,)]+?)\s*(?:,[^)]*)?\)", r" \1 ", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)
    e = re.sub(r"\boffset\s+\w+", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?", e):
        if m.group(2) is None and m.group(1) not in KEYWORDS:
            names.add(m.group(1))
    return names


def rule_exprs(path):
    """The expr of every rule in an alert rules file: single-line values and `|` blocks."""
    exprs = []
    lines = Path(path).read_text().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if not m:
            continue
        if m.group(2).strip() not in ("|", ">", "|-", ">-"):
            exprs.append(m.group(2).strip().strip("'\""))
            continue
        indent, block = len(m.group(1)), []
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            block.append(nxt.strip())
        exprs.append(" ".join(block))
    return exprs


def dashboard_exprs(path):
    try:
        dash = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise CheckFailed(f"{path} is not valid JSON: {e}") from e
    exprs = []
    ids = []

    def walk(panels):
        for p in panels:
            ids.append(p.get("id"))
            for t in p.get("targets", []):
                if not t.get("expr"):
                    raise CheckFailed(f"{path}: panel {p.get('title')!r} has a target without expr")
                exprs.append(t["expr"])
            walk(p.get("panels", []))

    walk(dash.get("panels", []))
    if not exprs:
        raise CheckFailed(f"{path}: no panel queries anything")
    if len(ids) != len(set(ids)):
        raise CheckFailed(f"{path}: panel ids are not unique")
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") == "query" and q:
            exprs.append(q)
    return exprs


# ---- the live processes ------------------------------------------------------------------------

class Node:
    def __init__(self, name, argv, workdir):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def tail(self):
        return "\n".join(self.log_path.read_text().splitlines()[-20:])


def scrape(port):
    """{metric name: set of label names} of one /metrics endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    found = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s", line)
        if m:
            labels = set(re.findall(r'([a-zA-Z_]\w*)="', m.group(3) or ""))
            found.setdefault(m.group(1), set()).update(labels)
    return found


def try_scrape(port):
    try:
        return scrape(port)
    except OSError:
        return None


def json_of(argv):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        return None


def start_cluster(bin_dir, workdir, nodes):
    cluster_id = "monitoring-" + secrets.token_hex(6)
    meta_port, meta_metrics = free_port(), free_port()
    nodes.append(Node("meta", [
        str(bin_dir / "chronik-meta"), "run", "--id", "3", "--data-dir", str(workdir / "meta"),
        "--listen", f"127.0.0.1:{meta_port}", "--cluster-id", cluster_id,
        "--metrics-addr", f"127.0.0.1:{meta_metrics}"], workdir))
    meta_status = [str(bin_dir / "chronik-meta"), "status", "--meta",
                   f"127.0.0.1:{meta_port}", "--output", "json"]
    eventually(f"meta node 3 of cluster {cluster_id} leading on port {meta_port}", lambda: (
        (s := json_of(meta_status)) and s.get("cluster_id") == cluster_id
        and s.get("leader_id") == 3))
    kafka_port, broker_metrics = free_port(), free_port()
    nodes.append(Node("broker", [
        str(bin_dir / "chronik-broker"), "--id", "7", "--meta", f"127.0.0.1:{meta_port}",
        "--data-dir", str(workdir / "broker"), "--listen", f"127.0.0.1:{kafka_port}",
        "--metrics-addr", f"127.0.0.1:{broker_metrics}", "--offsets-topic-replication-factor",
        "1", "--log-cleaner-backoff-ms", "200"], workdir))
    eventually(f"broker 7 registered with cluster {cluster_id}", lambda: (
        (s := json_of(meta_status)) and s.get("cluster_id") == cluster_id
        and any(b.get("id") == 7 for b in s.get("brokers", []))))
    broker_status = [str(bin_dir / "chronik-broker"), "status", "--bootstrap",
                     f"127.0.0.1:{kafka_port}", "--output", "json"]
    eventually(f"broker 7 of cluster {cluster_id} answering on port {kafka_port}", lambda: (
        (s := json_of(broker_status)) and s.get("cluster_id") == cluster_id
        and [b.get("id") for b in s.get("brokers", [])] == [7]))
    return kafka_port, broker_metrics, meta_metrics


def drive_traffic(kafka_port, broker_metrics, workdir, nodes):
    bootstrap = f"127.0.0.1:{kafka_port}"
    records = "".join(f"key{i}:value{i}\n" for i in range(20))
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", "monitoring-check", "-K:"],
                   input=records, text=True, check=True, timeout=30)
    consumer = Node("consumer", [
        "kcat", "-b", bootstrap, "-G", "monitoring-check", "-o", "beginning", "-q",
        "-X", "auto.commit.interval.ms=100", "monitoring-check"], workdir)
    nodes.append(consumer)
    eventually("the consumer group's lag in the broker's metrics", lambda: (
        "chronik_broker_consumer_group_lag" in (try_scrape(broker_metrics) or {})))
    # A frame no API decodes: the broker closes the connection and counts a bad request.
    with socket.create_connection(("127.0.0.1", kafka_port), timeout=5) as s:
        s.sendall(b"\x00\x00\x00\x04\xff\xff\xff\xff")
        s.recv(1)
    eventually("chronik_broker_bad_requests_total", lambda: (
        "chronik_broker_bad_requests_total" in (try_scrape(broker_metrics) or {})))


# ---- the comparison ----------------------------------------------------------------------------

def check_event_only(exported):
    problems = []
    for name, (path, texts, event) in EVENT_ONLY.items():
        source = (REPO / path).read_text()
        missing = [t for t in texts if t not in source]
        if missing:
            problems.append(f"{name}: {path} no longer contains {missing}; update EVENT_ONLY "
                            "and the rules/dashboard if the metric was renamed")
        if name in exported:
            problems.append(f"{name} is exported without {event} now: remove it from EVENT_ONLY")
    return problems


def check_used(used, broker, meta):
    problems = []
    for name, where in sorted(used.items()):
        if name in PROMETHEUS_SERIES or name in EVENT_ONLY:
            continue
        home = meta if name.startswith("chronik_meta_") else broker
        binary = "chronik-meta" if home is meta else "chronik-broker"
        if name not in home:
            problems.append(f"{name} (used in {', '.join(sorted(where))}) is not exported by "
                            f"{binary}")
    return problems


def check_labels(sels, broker, meta):
    problems = []
    for name, labels, where in sels:
        exported = meta.get(name) if name.startswith("chronik_meta_") else broker.get(name)
        if exported is None:
            continue
        unknown = labels - exported - TARGET_LABELS
        if unknown:
            problems.append(f"{name} has no label {sorted(unknown)} (used in {where}); "
                            f"it has {sorted(exported)}")
    return problems


def check_runbooks(rules_path):
    """Every runbook_url is `FILE#anchor` with FILE in the repo and a heading there whose
    GitHub anchor is `anchor`."""
    problems = []
    for url in re.findall(r'runbook_url:\s*"([^"]*)"', Path(rules_path).read_text()):
        path, _, anchor = url.partition("#")
        doc = REPO / path
        if not doc.is_file():
            problems.append(f"runbook {url}: no file {path}")
            continue
        headings = re.findall(r"^#+\s+(.*)$", doc.read_text(), re.M)
        anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
        if anchor not in anchors:
            problems.append(f"runbook {url}: no heading in {path} has the anchor #{anchor}")
    return problems


def collect(args):
    used, sels = {}, []
    rules = rule_exprs(args.rules)
    if len(rules) != args.rule_count:
        raise CheckFailed(f"read {len(rules)} rule expressions from {args.rules} but promtool "
                          f"counts {args.rule_count} rules")
    for source, exprs in (("rules", rules), ("dashboard", dashboard_exprs(args.dashboard))):
        for e in exprs:
            for n in metric_names(e):
                used.setdefault(n, set()).add(source)
            sels += [(n, labels, source) for n, labels in selectors(e)]
    return used, sels


def scrape_when_complete(broker_port, meta_port, wanted, timeout=15):
    """Both scrapes, once they hold every wanted name (sampled metrics such as the WAL's and the
    cleaner's show up within a few 2 s sample intervals) or the timeout passed."""
    end = time.monotonic() + timeout
    while True:
        broker, meta = scrape(broker_port), scrape(meta_port)
        if wanted <= set(broker) | set(meta) or time.monotonic() > end:
            return broker, meta
        time.sleep(0.5)


def live_scrapes(bin_dir, wanted):
    workdir = Path(tempfile.mkdtemp(prefix="chronik-monitoring-"))
    nodes = []
    started = time.monotonic()
    try:
        kafka_port, broker_port, meta_port = start_cluster(bin_dir, workdir, nodes)
        print(f"meta node and broker up in {time.monotonic() - started:.1f}s")
        drive_traffic(kafka_port, broker_port, workdir, nodes)
        print(f"traffic done at {time.monotonic() - started:.1f}s")
        scrapes = scrape_when_complete(broker_port, meta_port, wanted)
        # A node that died (say, its metrics port taken meanwhile) would leave another
        # process answering the scrape.
        for n in nodes:
            if n.proc.poll() is not None:
                raise CheckFailed(f"{n.name} exited with {n.proc.returncode} during the check")
        print(f"scraped at {time.monotonic() - started:.1f}s")
    except (CheckFailed, OSError, subprocess.SubprocessError):
        # Reverse order: the consumer before the broker, the broker (whose controlled shutdown
        # asks the controller) before the meta node.
        for n in reversed(nodes):
            n.stop()
            print(f"--- {n.name} log tail ({n.log_path}) ---\n{n.tail()}", file=sys.stderr)
        raise
    for n in reversed(nodes):
        n.stop()
    print(f"stopped at {time.monotonic() - started:.1f}s")
    shutil.rmtree(workdir, ignore_errors=True)
    return scrapes


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin-dir", type=Path, required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--rule-count", type=int, required=True)
    p.add_argument("--dashboard", required=True)
    args = p.parse_args()
    used, sels = collect(args)
    print(f"the rules and the dashboard query {len(used)} metrics")
    wanted = {n for n in used if n not in EVENT_ONLY and n not in PROMETHEUS_SERIES}
    broker, meta = live_scrapes(args.bin_dir, wanted)
    print(f"the broker exports {len(broker)} names, the meta node {len(meta)}")
    problems = (check_used(used, broker, meta) + check_labels(sels, broker, meta)
                + check_event_only(set(broker) | set(meta)) + check_runbooks(args.rules))
    unused = sorted(n for n in set(broker) | set(meta) if n not in used)
    if unused:
        print("exported but queried nowhere (for information): " + ", ".join(unused))
    if problems:
        raise CheckFailed("\n".join(problems))
    print(f"every queried metric is exported ({len(EVENT_ONLY)} checked in the source: "
          "they appear only after events)")


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
