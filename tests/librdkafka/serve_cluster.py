"""Starts a 3-node meta quorum and 3 brokers for scripts/librdkafka-suite.sh --cluster, prints
`bootstrap HOST:PORT,...` once every broker answers, and keeps them running until SIGTERM or
SIGINT, then stops and removes them. Auto-created topics get 4 partitions with 3 replicas, the
environment librdkafka's suite expects.
"""

import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from cluster import Cluster  # noqa: E402

BROKER_ARGS = ("--num-partitions", "4", "--default-replication-factor", "3")


def main():
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    cluster = Cluster(broker_args=BROKER_ARGS, auto_create_topics=True)
    try:
        try:
            cluster.start()
        except AssertionError:
            print(cluster.logs(), file=sys.stderr)
            raise
        print(f"bootstrap {cluster.bootstrap} cluster {cluster.cluster_id} dir {cluster.tmp}", flush=True)
        stop.wait()
    finally:
        cluster.cleanup()


if __name__ == "__main__":
    main()
