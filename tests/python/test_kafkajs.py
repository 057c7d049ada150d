"""kafkajs (Node.js) against the broker binary: each test runs one case of
tests/node/kafkajs_check.js, which exits 0 only when all of that case's checks hold.

kafkajs is installed from tests/node/package-lock.json into target/node on first use. It compresses
only with gzip without codec plugins, so its produce case covers gzip alone.
"""

import os
import shutil
import subprocess

import pytest
from harness import DEFAULT_ARGS, ROOT, running_broker

NODE_DIR = ROOT / "target" / "node"
CHECK = ROOT / "tests" / "node" / "kafkajs_check.js"
CASE_DEADLINE_S = 180
# Groups form at once: the cases' consumers join together, nothing is gained by waiting.
ARGS = (*DEFAULT_ARGS, "--group-initial-rebalance-delay-ms", "0")


@pytest.fixture(scope="module")
def kafkajs():
    """The node_modules directory holding the pinned kafkajs."""
    modules = NODE_DIR / "node_modules"
    if not (modules / "kafkajs" / "package.json").is_file():
        assert shutil.which("npm"), "npm is needed to install kafkajs (Node.js ships it)"
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(ROOT / "tests" / "node" / name, NODE_DIR / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR, check=True,
                       timeout=300)
    return modules


@pytest.fixture(scope="module")
def broker():
    yield from running_broker(ARGS)


def run_case(broker, kafkajs, case):
    env = dict(os.environ, NODE_PATH=str(kafkajs))
    out = subprocess.run(["node", str(CHECK), broker.bootstrap, case], env=env, capture_output=True,
                         text=True, timeout=CASE_DEADLINE_S)
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [f"ok {case}"], (
        f"kafkajs case {case} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}\n"
        f"broker log:\n{broker.log_tail()}")


@pytest.mark.compat("kafkajs", "metadata", "topics", "topic-configs", "partitions")
def test_kafkajs_admin(broker, kafkajs):
    run_case(broker, kafkajs, "admin")


@pytest.mark.compat("kafkajs", "produce", "acks", "headers-nulls")
def test_kafkajs_produce_with_acks_headers_and_nulls(broker, kafkajs):
    run_case(broker, kafkajs, "produce")


@pytest.mark.compat("kafkajs", "idempotence")
def test_kafkajs_idempotent_producer(broker, kafkajs):
    run_case(broker, kafkajs, "idempotence")


@pytest.mark.compat("kafkajs", "large-records")
def test_kafkajs_one_mib_record(broker, kafkajs):
    run_case(broker, kafkajs, "large")


@pytest.mark.compat("kafkajs", "offsets-for-times")
def test_kafkajs_offsets_for_times(broker, kafkajs):
    run_case(broker, kafkajs, "times")


@pytest.mark.compat("kafkajs", "groups", "group-admin")
def test_kafkajs_group_splits_commits_and_is_administered(broker, kafkajs):
    run_case(broker, kafkajs, "groups")


@pytest.mark.compat("kafkajs", "delete-records")
def test_kafkajs_delete_records(broker, kafkajs):
    run_case(broker, kafkajs, "delete")
