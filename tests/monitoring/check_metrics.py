#!/usr/bin/env python3
"""Checks that every metric the alert rules and the Grafana dashboard query is one the binaries
really export, so a renamed metric fails the build instead of silently emptying a panel or
disarming an alert.

It starts a chronik-meta voter and two brokers on it (live_cluster.py: ephemeral loopback
ports, a temp dir), makes them export what they export only after events (traffic, a consumer
group, a malformed request, log cleaning, a follower stopped and resumed), scrapes every
/metrics endpoint and compares the metric names (and label names in selectors) found in the
PromQL of the rules and the dashboard against the scrapes. Metrics that need an event this
check does not cause are listed in EVENT_ONLY, each with the source text that emits it; the
check verifies that text is still in the source, and that the metric is indeed absent from the
scrape (so the list cannot hide a metric that is now always exported). It also checks that
every rule's runbook_url names a heading of the doc it points at.

Usage: check_metrics.py --bin-dir target/debug --rules FILE --rule-count N --dashboard FILE
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

from live_cluster import CheckFailed, Cluster, drive, names

REPO = Path(__file__).resolve().parents[2]

# Metrics registered only after a fault this check does not inject:
# name -> (source file, literal texts that produce the name there, the event).
EVENT_ONLY = {
    "chronik_broker_failed_logs": (
        "crates/chronik-broker/src/partitions.rs",
        ['"chronik_broker_failed_logs"'],
        "a partition log failing on a disk error (bin/chronik-broker/tests/disk_faults.rs)",
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


def live_scrapes(bin_dir):
    """{name: label names} of the brokers (together) and of the meta node, after the events."""
    cluster = Cluster(bin_dir)
    started = time.monotonic()
    try:
        cluster.start()
        print(f"meta node and brokers up in {time.monotonic() - started:.1f}s")
        drive(cluster)
        print(f"events done at {time.monotonic() - started:.1f}s")
        cluster.check_alive()
        broker = {}
        for port in cluster.metrics.values():
            for name, labels in names(port).items():
                broker.setdefault(name, set()).update(labels)
        meta = names(cluster.meta_metrics)
    except BaseException:
        cluster.stop(show_logs=True)
        raise
    cluster.stop()
    print(f"stopped at {time.monotonic() - started:.1f}s")
    return broker, meta


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin-dir", type=Path, required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--rule-count", type=int, required=True)
    p.add_argument("--dashboard", required=True)
    args = p.parse_args()
    used, sels = collect(args)
    print(f"the rules and the dashboard query {len(used)} metrics")
    broker, meta = live_scrapes(args.bin_dir)
    print(f"the broker exports {len(broker)} names, the meta node {len(meta)}")
    problems = (check_used(used, broker, meta) + check_labels(sels, broker, meta)
                + check_event_only(set(broker) | set(meta)) + check_runbooks(args.rules))
    unused = sorted(n for n in set(broker) | set(meta) if n not in used)
    if unused:
        print("exported but queried nowhere (for information): " + ", ".join(unused))
    if problems:
        raise CheckFailed("\n".join(problems))
    print(f"every queried metric is exported ({len(EVENT_ONLY)} appear only after faults and "
          "were checked in the source)")


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
