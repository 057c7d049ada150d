#!/usr/bin/env bash
# Starts a 3-node metadata quorum and 3 brokers on this machine (loopback ports, data under
# DIR), or stops them. Usage:
#   scripts/local-cluster.sh start [DIR]   # default DIR: ./chronik-cluster
#   scripts/local-cluster.sh stop [DIR]
# Brokers listen on 127.0.0.1:9092, 9093, 9094; meta nodes on 127.0.0.1:9190, 9191, 9192.
# CHRONIK_SESSION_TIMEOUT_MS sets the brokers' session (default 2000 ms: failover time).
# Binaries come from $CHRONIK_BIN_DIR when set, else target/release when built there, else
# target/debug, else PATH.
set -euo pipefail
cmd=${1:-start}
dir=${2:-./chronik-cluster}
root=$(cd "$(dirname "$0")/.." && pwd)

bin() {
  for d in ${CHRONIK_BIN_DIR:-} "$root/target/release" "$root/target/debug"; do
    if [ -x "$d/$1" ]; then echo "$d/$1"; return; fi
  done
  command -v "$1" || { echo "$1 not found: run 'cargo build --release' first" >&2; exit 2; }
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    meta=$(bin chronik-meta)
    broker=$(bin chronik-broker)
    peers="1=127.0.0.1:9190,2=127.0.0.1:9191,3=127.0.0.1:9192"
    cluster_id=$(cat "$dir/cluster-id" 2>/dev/null || echo "local-$(date +%s)")
    echo "$cluster_id" > "$dir/cluster-id"
    for i in 1 2 3; do
      "$meta" run --id "$i" --listen "127.0.0.1:919$((i - 1))" --peers "$peers" \
        --cluster-id "$cluster_id" --data-dir "$dir/meta$i" \
        --session-timeout-ms "${CHRONIK_SESSION_TIMEOUT_MS:-2000}" \
        >"$dir/meta$i.log" 2>&1 &
      echo $! > "$dir/meta$i.pid"
    done
    for i in 1 2 3; do
      args=("$broker" run --id "$i" --listen "127.0.0.1:909$((i + 1))" --data-dir "$dir/broker$i"
        --meta 127.0.0.1:9190,127.0.0.1:9191,127.0.0.1:9192 --default-replication-factor 3)
      # The command line, for tools that restart a broker (scripts/failover-time.py).
      python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "${args[@]}" > "$dir/broker$i.cmd"
      "${args[@]}" >"$dir/broker$i.log" 2>&1 &
      echo $! > "$dir/broker$i.pid"
    done
    echo "started; logs in $dir; check with: $meta status --meta 127.0.0.1:9190"
    ;;
  stop)
    pids=()
    for f in "$dir"/broker*.pid "$dir"/meta*.pid; do
      [ -f "$f" ] || continue
      pid=$(cat "$f")
      kill "$pid" 2>/dev/null && pids+=("$pid")
      rm -f "$f"
    done
    # Brokers hand their leaderships over before exiting: wait (up to 30 s) so that the ports
    # are free for the next start, then kill what is left.
    for _ in $(seq 300); do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    echo "stopped"
    ;;
  *)
    echo "usage: $0 start|stop [DIR]" >&2
    exit 2
    ;;
esac
