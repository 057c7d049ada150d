"""The compatibility marker: which client and which Kafka features a test shows working.

A test marked `@pytest.mark.compat("aiokafka", "groups", "group-admin")` is evidence for those
cells of the client × feature table in docs/compatibility.md. `--compat-client NAME` runs only the
tests marked for that client; `--compat-report FILE` writes one JSON object per marked test (its
node id, client, features and outcome) for scripts/compatibility.py to turn into the table.
"""

import json

import pytest

from compat_features import FEATURE_IDS

CLIENTS = ("confluent-kafka", "kafka-python", "aiokafka", "kafkajs", "kcat")


def pytest_addoption(parser):
    group = parser.getgroup("compat")
    group.addoption("--compat-client", action="append", default=[], choices=CLIENTS,
                    help="run only the tests marked compat for this client (repeatable)")
    group.addoption("--compat-report", default=None,
                    help="write the outcome of every compat-marked test to this JSON-lines file")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "compat(client, *features): the test shows these features working with this client")
    config._compat_outcomes = {}


def compat_marks(item):
    marks = []
    for mark in item.iter_markers("compat"):
        client, *features = mark.args
        if client not in CLIENTS:
            raise pytest.UsageError(f"{item.nodeid}: compat client {client!r} is not one of {CLIENTS}")
        if not features:
            raise pytest.UsageError(f"{item.nodeid}: compat({client!r}) names no feature")
        unknown = set(features) - FEATURE_IDS
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown compat features {sorted(unknown)}: "
                                    "add them to tests/python/compat_features.py")
        marks.append((client, features))
    return marks


def pytest_collection_modifyitems(config, items):
    # Modules that declare RUNS_LONG go first, so that with two workers taking whole files
    # neither is left with a long one at the end.
    items.sort(key=lambda item: not getattr(item.module, "RUNS_LONG", False))
    wanted = set(config.getoption("compat_client"))
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        (keep if any(c in wanted for c, _ in compat_marks(item)) else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if not compat_marks(item):
        return
    outcomes = item.config._compat_outcomes
    previous = outcomes.get(item.nodeid, "passed")
    # A failure in setup, call or teardown fails the test; a skip anywhere skips it.
    if report.failed:
        outcomes[item.nodeid] = "failed"
    elif report.skipped and previous != "failed":
        outcomes[item.nodeid] = "skipped"
    else:
        outcomes.setdefault(item.nodeid, "passed")


def pytest_sessionfinish(session):
    path = session.config.getoption("compat_report")
    if not path:
        return
    by_id = {item.nodeid: item for item in session.items}
    with open(path, "w") as out:
        for nodeid, outcome in session.config._compat_outcomes.items():
            for client, features in compat_marks(by_id[nodeid]):
                out.write(json.dumps({"test": nodeid, "client": client, "features": features,
                                      "outcome": outcome}) + "\n")
