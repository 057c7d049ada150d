#!/usr/bin/env bash
# Checks the monitoring files: the Prometheus alert rules (promtool check and unit tests), the
# Grafana dashboard (valid JSON), and that every metric either queries is one the binaries
# export (tests/monitoring/check_metrics.py starts a meta node and a broker to see).
# Usage: bash tests/monitoring/check.sh
# CHRONIK_BIN_DIR names the directory holding chronik-broker and chronik-meta (default
# target/debug, built when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
trap 'echo "monitoring check FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR

rules=monitoring/prometheus/chronik-alerts.yml
rule_tests=monitoring/prometheus/chronik-alerts.test.yml
dashboard=monitoring/grafana/chronik.json
bin_dir=${CHRONIK_BIN_DIR:-target/debug}
tools=target/monitoring-tools

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian ships promtool only inside its prometheus package, whose postinst would also
# start a Prometheus server; so the package is downloaded and just its promtool unpacked.
find_promtool() {
  if command -v promtool >/dev/null 2>&1; then command -v promtool; return; fi
  if [ ! -x "$tools/usr/bin/promtool" ]; then
    mkdir -p "$tools/deb"
    chmod 777 "$tools/deb" # apt-get download drops to the _apt user when it can write here
    if ! (cd "$tools/deb" && apt-get download -qq prometheus); then
      as_root apt-get update -qq
      (cd "$tools/deb" && apt-get download -qq prometheus)
    fi
    dpkg-deb -x "$(ls "$tools"/deb/prometheus_*.deb | head -1)" "$tools"
    rm -rf "$tools/deb"
  fi
  echo "$tools/usr/bin/promtool"
}

if ! command -v kcat >/dev/null 2>&1; then
  as_root apt-get update -qq && as_root apt-get install -y -qq kcat
fi
for bin in chronik-broker chronik-meta; do
  if [ ! -x "$bin_dir/$bin" ]; then cargo build -p chronik-broker-bin -p chronik-meta; break; fi
done

promtool=$(find_promtool)
"$promtool" --version 2>&1 | head -1
checked=$("$promtool" check rules "$rules")
echo "$checked"
rule_count=$(echo "$checked" | sed -n 's/.*SUCCESS: \([0-9]*\) rules found.*/\1/p')
if [ -z "$rule_count" ]; then
  echo "cannot read the rule count from promtool's output (above)" >&2
  exit 1
fi
"$promtool" test rules "$rule_tests"
python3 -m json.tool "$dashboard" >/dev/null
python3 tests/monitoring/check_metrics.py --bin-dir "$bin_dir" --rules "$rules" \
  --rule-count "$rule_count" --dashboard "$dashboard"
