#!/usr/bin/env python3
"""Runs every client's compatibility tests and writes docs/compatibility.md from their outcomes.

    python3 scripts/compatibility.py [--librdkafka all|ci|none] [--standalone-only]

Runs, one after another, each against brokers the tests start themselves:
  - the pytest tests marked `compat` (confluent-kafka, kafka-python, aiokafka, kafkajs, kcat),
  - the Java client tests (tests/java/run.sh),
  - librdkafka's regression suite (scripts/librdkafka-suite.sh; default: --all, every test of
    tests/librdkafka/tests.txt; "ci" runs CI's subset, "none" keeps the suite out of the table),
    against a standalone broker and then against 3 meta nodes and 3 brokers (--cluster).
Needs what tests/run-all.sh installs and builds first (target/python-venv, target/debug).
Exits 0 when every test run passed, 1 when any failed (the document is written either way), 2 on
bad usage or a missing prerequisite.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
from compat_features import FEATURE_IDS, FEATURES, NOT_BUILT  # noqa: E402

OUT = ROOT / "target" / "compat"
DOC = ROOT / "docs" / "compatibility.md"
VENV_PY = ROOT / "target" / "python-venv" / "bin" / "python"
PYTEST = f"{VENV_PY.relative_to(ROOT)} -m pytest -p no:cacheprovider tests/python"

# The table's columns: (client id, heading, command that runs that client's tests).
CLIENTS = (
    ("java", "Java (kafka-clients)", "bash tests/java/run.sh"),
    ("confluent-kafka", "confluent-kafka (librdkafka)", f"{PYTEST} -m compat --compat-client confluent-kafka"),
    ("kcat", "kcat", f"{PYTEST} -m compat --compat-client kcat"),
    ("kafka-python", "kafka-python", f"{PYTEST} -m compat --compat-client kafka-python"),
    ("aiokafka", "aiokafka", f"{PYTEST} -m compat --compat-client aiokafka"),
    ("kafkajs", "kafkajs", f"{PYTEST} -m compat --compat-client kafkajs"),
)


def run(what, cmd, env=None):
    print(f"== {what}: {' '.join(cmd)}", flush=True)
    started = time.monotonic()
    code = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, **(env or {}))).returncode
    print(f"== {what}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)


def pytest_results():
    report = OUT / "pytest.jsonl"
    report.unlink(missing_ok=True)
    run("python and node clients", [str(VENV_PY), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                           "tests/python", "-m", "compat", "--compat-report", str(report)])
    rows = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    return [(r["client"], r["test"], r["features"], r["outcome"]) for r in rows]


def java_results():
    report = OUT / "java.tsv"
    report.unlink(missing_ok=True)
    run("java client", ["bash", "tests/java/run.sh"], {"CHRONIK_COMPAT_REPORT": str(report)})
    rows = []
    if report.exists():
        for line in report.read_text().splitlines():
            name, outcome, features = line.split("\t")
            outcome = {"pass": "passed", "fail": "failed", "expected_failure": "failed"}[outcome]
            rows.append(("java", f"tests/java {name}", [f for f in features.split(",") if f], outcome))
    return rows


def librdkafka_results(mode, cluster):
    where = ["--cluster"] if cluster else []
    results = ROOT / "target" / "librdkafka-suite" / ("results-cluster.tsv" if cluster else "results.tsv")
    results.unlink(missing_ok=True)
    run("librdkafka suite" + (" on a cluster" if cluster else ""),
        ["bash", "scripts/librdkafka-suite.sh", *where, f"--{mode}"])
    rows = []
    if results.exists():
        for line in results.read_text().splitlines():
            number, name, outcome, seconds, reason = line.split("\t")
            rows.append((number, name, outcome, int(seconds), reason))
    return rows


def versions():
    def pip_version(package):
        out = subprocess.run([str(VENV_PY), "-m", "pip", "show", package], capture_output=True, text=True)
        return next((line.split(": ", 1)[1] for line in out.stdout.splitlines() if line.startswith("Version: ")), "?")

    def first_line(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (out.stdout or out.stderr).splitlines()[0].strip()
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    librdkafka = first_line([str(VENV_PY), "-c", "import confluent_kafka; print(confluent_kafka.libversion()[0])"])
    kafkajs = ROOT / "target" / "node" / "node_modules" / "kafkajs" / "package.json"
    kcat = subprocess.run(["kcat", "-V"], capture_output=True, text=True).stdout
    found = re.search(r"Version (\S+) .*?librdkafka (\S+)", kcat)
    kcat_version = f"{found[1]} (librdkafka {found[2]})" if found else "?"
    return {
        "java": "kafka-clients 3.9.1",
        "confluent-kafka": f"confluent-kafka {pip_version('confluent-kafka')} (librdkafka {librdkafka})",
        "kcat": f"kcat {kcat_version}",
        "kafka-python": f"kafka-python {pip_version('kafka-python')}",
        "aiokafka": f"aiokafka {pip_version('aiokafka')}",
        "kafkajs": f"kafkajs {json.loads(kafkajs.read_text())['version']}" if kafkajs.exists() else "kafkajs ?",
    }


def cell(outcomes):
    if not outcomes:
        return "—"
    failed = sum(o == "failed" for o in outcomes)
    skipped = sum(o == "skipped" for o in outcomes)
    if failed:
        return f"**FAIL** {failed} of {len(outcomes)}"
    if skipped == len(outcomes):
        return "skipped"
    return f"pass ({len(outcomes) - skipped})"


def revision():
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return sha + (" with uncommitted changes" if dirty else "")


def render(tests, suites, suite_mode, took):
    by_cell = defaultdict(list)
    for client, test, features, outcome in tests:
        unknown = set(features) - FEATURE_IDS
        if unknown:
            sys.exit(f"{test}: unknown compat features {sorted(unknown)}: add them to tests/python/compat_features.py")
        for feature in features:
            by_cell[(feature, client)].append((test, outcome))
    ids = [c for c, _, _ in CLIENTS]
    counts = {c: defaultdict(int) for c in ids}
    for client, _, _, outcome in tests:
        counts[client][outcome] += 1
    vers = versions()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    lines = [
        "# Client compatibility",
        "",
        f"Generated by `python3 scripts/compatibility.py` on {now} at revision {revision()}, in",
        f"{took:.0f} s; do not edit by hand. Every cell is the outcome of real clients against a",
        "broker binary the tests start on a loopback port: the number of tests that show that",
        "feature working with that client, **FAIL** when any of them failed, — where no test covers it.",
        "",
        "## Clients × features",
        "",
        "| Feature | " + " | ".join(h for _, h, _ in CLIENTS) + " |",
        "|---|" + "---|" * len(CLIENTS),
    ]
    for feature, title in FEATURES:
        row = [cell([o for _, o in by_cell[(feature, c)]]) for c in ids]
        lines.append(f"| {title} | " + " | ".join(row) + " |")
    for feature, title, issue in NOT_BUILT:
        lines.append(f"| {title} | " + " | ".join([f"not built ({issue})"] * len(ids)) + " |")
    lines += ["", "## Counts and commands", "",
              "| Client | Version | Passed | Failed | Skipped | Command |", "|---|---|---|---|---|---|"]
    for c, heading, command in CLIENTS:
        n = counts[c]
        lines.append(f"| {heading} | {vers[c]} | {n['passed']} | {n['failed']} | {n['skipped']} | `{command}` |")
    lines += ["", "One test or cell runs alone with pytest's `-k NAME` (as in "
              f"`{PYTEST}/test_aiokafka.py -k offsets`) or the Java runner's filter "
              "(`bash tests/java/run.sh ConsumeTests`).", ""]
    if suites:
        lines += suite_section(suites, suite_mode)
    lines += ["## Tests behind each cell", ""]
    for feature, title in FEATURES:
        entries = [(c, t, o) for c in ids for t, o in by_cell[(feature, c)]]
        if not entries:
            continue
        lines.append(f"- **{title}**: " + "; ".join(f"{c} `{t}` {o}" for c, t, o in entries))
    lines.append("")
    DOC.write_text("\n".join(lines))


def suite_section(suites, mode):
    """suites: {"standalone": rows, "cluster": rows}, rows as librdkafka_results returns them."""
    what = "every test of tests/librdkafka/tests.txt" if mode == "all" else "the tests CI runs"
    lines = ["## librdkafka's regression suite", "",
             f"`bash scripts/librdkafka-suite.sh --{mode}` ({what}) against a standalone broker, and "
             f"`bash scripts/librdkafka-suite.sh --cluster --{mode}` against 3 meta nodes and 3 brokers:", ""]
    for where, rows in suites.items():
        tally = defaultdict(int)
        for _, _, outcome, _, _ in rows:
            tally[outcome] += 1
        lines.append(f"- {where}: {tally['PASS']} passed, {tally['FAIL']} failed, {tally['SKIP']} skipped")
    lines += ["", "A skipped test needs a feature that is not built yet; its reason names the issue "
              "building it. Seconds are each test's run time.", "",
              "| Test | " + " | ".join(suites) + " | Reason |", "|---|" + "---|" * len(suites) + "---|"]
    results = {where: {r[0]: r for r in rows} for where, rows in suites.items()}
    numbers = sorted({r[0] for rows in suites.values() for r in rows})
    for number in numbers:
        cells, name, reasons = [], number, []
        for where in suites:
            r = results[where].get(number)
            if r is None:
                cells.append("not run")
                continue
            name = r[1] or number
            cells.append({"PASS": f"pass ({r[3]} s)", "FAIL": f"**FAIL** ({r[3]} s)", "SKIP": "skipped"}[r[2]])
            if r[4] and r[4] not in reasons:
                reasons.append(r[4] if r[2] == "SKIP" else f"{where}: {r[4]}")
        lines.append(f"| {name} | " + " | ".join(cells) + " | " + "; ".join(reasons).replace("|", "/") + " |")
    return lines + [""]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--librdkafka", choices=("all", "ci", "none"), default="all",
                        help="which tests of librdkafka's suite to run (default: all)")
    parser.add_argument("--standalone-only", action="store_true",
                        help="run librdkafka's suite against a standalone broker only, not a cluster")
    args = parser.parse_args()
    for needed in (VENV_PY, ROOT / "target" / "debug" / "chronik-broker"):
        if not needed.exists():
            print(f"{needed} is missing: run `bash tests/run-all.sh` once first", file=sys.stderr)
            return 2
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tests = pytest_results()
    java = java_results()
    suites = {}
    if args.librdkafka != "none":
        suites["standalone"] = librdkafka_results(args.librdkafka, cluster=False)
        if not args.standalone_only:
            suites["cluster"] = librdkafka_results(args.librdkafka, cluster=True)
    render(tests + java, suites, args.librdkafka, time.monotonic() - started)
    failed = [t for _, t, _, o in tests + java if o == "failed"]
    failed += [f"{n} ({where})" for where, rows in suites.items() for n, _, o, _, _ in rows if o == "FAIL"]
    print(f"wrote {DOC.relative_to(ROOT)}; {len(failed)} failed: {' '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
