#!/usr/bin/env bash
# Builds the chronik Debian package from the debug binaries (scripts/package.sh --from-debug,
# which installs the pinned cargo-deb when missing), installs it on this machine and
# checks what it installed: programs on PATH, man pages, completions, example configs that
# parse, systemd units that systemd-analyze accepts, the chronik user and its data dir, a
# broker and a meta node started the way their units start them, then `apt-get remove`
# (data and user stay) and purge.
#
# Needs root (or sudo) and replaces an installed chronik package. Data it did not write is
# never deleted: the broker and meta node run in a temp dir under /var/lib/chronik, and
# /var/lib/chronik and the chronik user go at the end only when this test created them.
# Usage: bash tests/package/test-package.sh [PACKAGE.deb]   (a given package, e.g. the release
# one scripts/package.sh builds, is tested instead of building one from the debug binaries)
set -euo pipefail
cd "$(dirname "$0")/../.."

PROGRAMS=(chronik-broker chronik-meta chronik-walctl chronik-bench)
UNITS=/usr/lib/systemd/system
# Left in /var/lib/chronik when this test created it, so a later run may delete it.
MARKER=/var/lib/chronik/.created-by-package-test

started=$SECONDS
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
pids=()
scratch=$(mktemp -d)
test_data=""

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# apt-get as root, quietly; its output is shown when it fails.
apt_get() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -y -qq "$@" >"$scratch/apt.log" 2>&1 ||
    fail "apt-get $*: $(tail -20 "$scratch/apt.log")"
}

as_root() {
  "${SUDO[@]}" "$@"
}

# Runs a command as the chronik user, the way the units' User=/Group= do.
as_chronik() {
  as_root setpriv --reuid=chronik --regid=chronik --init-groups -- "$@"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls `$@` every 200 ms until it succeeds; fails naming `what` after `seconds`.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: not true within ${seconds}s"
    sleep 0.2
  done
}

package_installed() {
  [ "$(dpkg-query -W -f '${db:Status-Status}' chronik 2>/dev/null)" = installed ]
}

# Purges the package and deletes what this test created; safe after any failure.
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    as_root kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$test_data" ]; then as_root rm -rf "$test_data"; fi
  if dpkg-query -W chronik >/dev/null 2>&1; then
    as_root dpkg --purge chronik >/dev/null || true
  fi
  if [ -e "$MARKER" ]; then
    as_root rm -rf /var/lib/chronik
    if getent passwd chronik >/dev/null; then as_root deluser --system chronik >/dev/null 2>&1 || true; fi
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Stops what an earlier, SIGKILLed run of this test left running: the processes listed in
# its data dirs that still run with that dir in their command line.
stop_left_behind() {
  local pids_file dir pid
  for pids_file in /var/lib/chronik/package-test.*/pids; do
    [ -f "$pids_file" ] || continue
    dir=$(dirname "$pids_file")
    while read -r pid; do
      if as_root grep -qaF "$dir/" "/proc/$pid/cmdline" 2>/dev/null; then
        echo "stopping PID $pid left running by an earlier run in $dir"
        as_root kill -TERM "$pid"
        wait_for "PID $pid of an earlier run exits" 60 bash -c "! kill -0 $pid"
      fi
    done <"$pids_file"
    as_root rm -rf "$dir"
  done
}

install_tools() {
  local missing=()
  command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
  command -v man >/dev/null || missing+=(man-db)
  command -v systemd-analyze >/dev/null || missing+=(systemd)
  command -v adduser >/dev/null || missing+=(adduser)
  command -v setpriv >/dev/null || missing+=(util-linux)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_get update
    apt_get install --no-install-recommends "${missing[@]}"
  fi
}

build_package() {
  if [ -n "${1:-}" ]; then
    [ -f "$1" ] || fail "no package at $1"
    deb=$1
    echo "testing $deb ($(du -h "$deb" | cut -f1))"
    return
  fi
  local program
  for program in "${PROGRAMS[@]}"; do
    if [ ! -x "target/debug/$program" ]; then
      cargo build --locked -p chronik-broker-bin -p chronik-meta -p chronik-walctl -p chronik-bench
      break
    fi
  done
  deb=$(scripts/package.sh --from-debug | tail -1)
  [ -f "$deb" ] || fail "scripts/package.sh --from-debug made no package"
  echo "built $deb ($(du -h "$deb" | cut -f1))"
}

install_package() {
  if dpkg-query -W chronik >/dev/null 2>&1; then
    echo "purging the chronik package installed before this test"
    as_root dpkg --purge chronik >/dev/null
  fi
  local fresh=no
  if [ ! -e /var/lib/chronik ] && ! getent passwd chronik >/dev/null; then fresh=yes; fi
  # Minimal Debian images tell dpkg to leave out man pages; these are part of the test.
  apt_get install --no-install-recommends -o 'DPkg::Options::=--path-include=/usr/share/man/*' "$PWD/$deb"
  package_installed || fail "apt-get install $deb left chronik not installed"
  if [ "$fresh" = yes ]; then as_root touch "$MARKER"; fi
  version=$(dpkg-query -W -f '${Version}' chronik)
  version=${version%-*}
}

check_programs() {
  local program out
  for program in "${PROGRAMS[@]}"; do
    [ "$(command -v "$program")" = "/usr/bin/$program" ] || fail "$program is not /usr/bin/$program on PATH"
    out=$("$program" --version) || fail "$program --version failed"
    [ "$out" = "$program $version" ] || fail "$program --version printed '$out', not '$program $version'"
    man -w "$program" 2>/dev/null | grep -qx "/usr/share/man/man1/$program.1.gz" ||
      fail "man -w $program does not find /usr/share/man/man1/$program.1.gz"
    bash -c "source /usr/share/bash-completion/completions/$program && complete -p $program" >/dev/null ||
      fail "the bash completion of $program does not register"
    [ -s "/usr/share/zsh/vendor-completions/_$program" ] || fail "no zsh completion for $program"
    [ -s "/usr/share/fish/vendor_completions.d/$program.fish" ] || fail "no fish completion for $program"
  done
  man -w chronik-meta-run >/dev/null 2>&1 || fail "man -w chronik-meta-run finds no page"
}

# `chronik-X config show --output json` must say the file gave `data-dir`.
check_config_show() {
  local file=$1
  shift
  "$@" config show --config "$file" --output json >"$scratch/show.json" 2>"$scratch/show.err" ||
    fail "$* config show --config $file: $(cat "$scratch/show.err")"
  python3 - "$scratch/show.json" <<'EOF' || fail "$* config show --config $file: data-dir does not come from the file"
import json, sys
settings = json.load(open(sys.argv[1]))["settings"]
assert any(s["key"] == "data-dir" and s["source"] == "file" for s in settings), settings
EOF
}

check_configs() {
  local conffiles
  conffiles=$(dpkg-query -W -f '${Conffiles}' chronik)
  for file in /etc/chronik/broker.toml /etc/chronik/meta.toml; do
    grep -q " $file " <<<"$conffiles" || fail "$file is not a conffile of the package"
  done
  check_config_show /etc/chronik/broker.toml chronik-broker
  check_config_show /etc/chronik/meta.toml chronik-meta
  # The commented-out examples (`#   key = value`) must parse too.
  sed -n 's/^#   \([a-z-]* = .*\)/\1/p' /etc/chronik/broker.toml >"$scratch/broker-examples.toml"
  sed -n 's/^#   \([a-z-]* = .*\)/\1/p' /etc/chronik/meta.toml >"$scratch/meta-examples.toml"
  grep -q '^meta = ' "$scratch/broker-examples.toml" || fail "broker.toml shows no example of meta"
  grep -q '^peers = ' "$scratch/meta-examples.toml" || fail "meta.toml shows no example of peers"
  chronik-broker config show --config "$scratch/broker-examples.toml" >/dev/null ||
    fail "the commented examples of broker.toml do not parse"
  chronik-meta config show --config "$scratch/meta-examples.toml" --id 1 --data-dir "$scratch/m" >/dev/null ||
    fail "the commented examples of meta.toml do not parse"
}

check_units() {
  local unit directive out
  for unit in chronik-broker.service chronik-meta@.service; do
    [ -f "$UNITS/$unit" ] || fail "$UNITS/$unit is not installed"
    # verify exits 0 on settings it ignores; any word on a chronik unit is a failure.
    out=$(systemd-analyze verify "$UNITS/$unit" 2>&1) || fail "systemd-analyze verify rejects $unit: $out"
    if grep -i chronik <<<"$out"; then fail "systemd-analyze verify complains about $unit"; fi
    for directive in User=chronik NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
      PrivateTmp=yes ReadWritePaths=/var/lib/chronik LimitNOFILE=1048576 Restart=on-failure \
      KillSignal=SIGTERM 'TimeoutStopSec=[0-9]'; do
      grep -q "^$directive" "$UNITS/$unit" || fail "$unit has no $directive"
    done
  done
  grep -q '^ExecStart=.* --config /etc/chronik/broker.toml' "$UNITS/chronik-broker.service" ||
    fail "chronik-broker.service does not read /etc/chronik/broker.toml"
  grep -q '^ExecStart=.* --config /etc/chronik/meta.toml --id %i' "$UNITS/chronik-meta@.service" ||
    fail "chronik-meta@.service does not read /etc/chronik/meta.toml with --id from its instance"
}

check_user_and_dirs() {
  local entry dir owner
  entry=$(getent passwd chronik) || fail "no chronik user"
  IFS=: read -r _ _ uid _ _ home shell <<<"$entry"
  [ "$uid" -lt 1000 ] || fail "chronik is not a system user (uid $uid)"
  [ "$home" = /var/lib/chronik ] || fail "chronik's home is $home, not /var/lib/chronik"
  case "$shell" in */nologin | */false) ;; *) fail "chronik can log in (shell $shell)" ;; esac
  for dir in /var/lib/chronik /var/lib/chronik/broker /var/lib/chronik/meta; do
    owner=$(stat -c '%U:%G %a' "$dir") || fail "$dir is missing"
    [ "$owner" = "chronik:chronik 750" ] || fail "$dir is $owner, not chronik:chronik 750"
  done
}

# The unit's ExecStart with %i replaced by `instance`.
exec_start() {
  sed -n "s/^ExecStart=//p" "$UNITS/$1" | sed "s/%i/${2:-}/g"
}

# Starts a unit's command as the chronik user in the unit's WorkingDirectory, with the
# remaining arguments appended (ports and data dir of this test).
start_as_unit() {
  local unit=$1 instance=$2 log=$3
  shift 3
  local command
  read -r -a command <<<"$(exec_start "$unit" "$instance")"
  "${SUDO[@]}" setpriv --reuid=chronik --regid=chronik --init-groups -- \
    env --chdir=/var/lib/chronik "${command[@]}" "$@" >"$log" 2>&1 &
  pids+=($!)
  # For a later run, should this one be SIGKILLed (see stop_left_behind).
  echo "$!" | as_root tee -a "$test_data/pids" >/dev/null
  echo "started $unit${instance:+ instance $instance} as PID $!: ${command[*]} $*"
}

# Sends SIGTERM to the last started process; it must exit 0 within 60 s.
stop_last() {
  local pid=${pids[-1]} what=$1 log=$2 status=0
  as_root kill -TERM "$pid"
  wait_for "$what exits after SIGTERM" 60 bash -c "! kill -0 $pid"
  wait "$pid" || status=$?
  unset 'pids[-1]'
  [ "$status" -eq 0 ] || fail "$what exited $status after SIGTERM; log: $(tail -5 "$log")"
}

json_field() {
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"
}

check_broker_serves() {
  local id=$((RANDOM % 9000 + 1000)) port metrics log=$scratch/broker.log out
  port=$(free_port)
  metrics=$(free_port)
  start_as_unit chronik-broker.service "" "$log" --id "$id" --listen "127.0.0.1:$port" \
    --metrics-addr "127.0.0.1:$metrics" --data-dir "$test_data/broker"
  wait_for "the broker answers on 127.0.0.1:$port" 30 \
    chronik-broker status --bootstrap "127.0.0.1:$port" --timeout-ms 1000
  out=$(chronik-broker status --bootstrap "127.0.0.1:$port" --output json | json_field 'd["brokers"][0]["id"]')
  [ "$out" = "$id" ] || fail "the broker on port $port is broker $out, not the started $id"
  out=$(chronik-bench produce --bootstrap "127.0.0.1:$port" --topic package-test --create \
    --records 1000 --record-size 100 --output json | json_field 'd["records"] - d["records_failed"]')
  [ "$out" = 1000 ] || fail "the broker acknowledged $out of 1000 records"
  python3 -c 'import sys, urllib.request; body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(); assert "chronik_broker_" in body' \
    "http://127.0.0.1:$metrics/metrics" || fail "no broker metrics on 127.0.0.1:$metrics"
  stop_last "the broker" "$log"
  out=$(as_chronik chronik-walctl list "$test_data/broker" --output json |
    json_field 'sum(p["records"] for p in d if p["topic"] == "package-test")')
  [ "$out" = 1000 ] || fail "chronik-walctl list finds $out records of package-test, not 1000"
  out=$(as_root find "$test_data/broker" ! -user chronik)
  [ -z "$out" ] || fail "files in the broker's data dir not owned by chronik: $out"
  echo "broker $id served 1000 records as the chronik user; walctl reads them back"
}

check_meta_serves() {
  local id=$((RANDOM % 9000 + 1000)) cluster="package-test-$RANDOM" port log=$scratch/meta.log out
  port=$(free_port)
  start_as_unit chronik-meta@.service "$id" "$log" --listen "127.0.0.1:$port" \
    --cluster-id "$cluster" --metrics-addr "127.0.0.1:$(free_port)" --data-dir "$test_data/meta"
  wait_for "meta node $id answers on 127.0.0.1:$port" 30 \
    chronik-meta status --meta "127.0.0.1:$port"
  out=$(chronik-meta status --meta "127.0.0.1:$port" --output json |
    json_field 'd["cluster_id"] + " " + str(d["leader_id"])')
  [ "$out" = "$cluster $id" ] || fail "the meta node on port $port reports '$out', not '$cluster $id'"
  stop_last "meta node $id" "$log"
  echo "meta node $id (cluster $cluster) served as the chronik user"
}

check_remove_keeps_data() {
  apt_get remove chronik
  [ "$(dpkg-query -W -f '${db:Status-Status}' chronik)" = config-files ] ||
    fail "after apt-get remove, chronik is not in state config-files"
  [ ! -e /usr/bin/chronik-broker ] || fail "/usr/bin/chronik-broker is still there after remove"
  [ -f /etc/chronik/broker.toml ] || fail "apt-get remove deleted /etc/chronik/broker.toml"
  getent passwd chronik >/dev/null || fail "apt-get remove deleted the chronik user"
  as_root test -d "$test_data/broker/partitions/package-test-0" ||
    fail "apt-get remove deleted the broker's data under $test_data"
  apt_get purge chronik
  ! dpkg-query -W chronik >/dev/null 2>&1 || fail "chronik is still known to dpkg after purge"
  [ ! -e /etc/chronik/broker.toml ] || fail "purge left /etc/chronik/broker.toml"
  as_root test -d /var/lib/chronik/broker || fail "purge deleted /var/lib/chronik"
  getent passwd chronik >/dev/null || fail "purge deleted the chronik user"
}

echo "== tools"
stop_left_behind
install_tools
echo "== package"
build_package "${1:-}"
install_package
echo "== installed files"
check_programs
check_configs
check_units
check_user_and_dirs
echo "== services"
test_data=$(as_chronik mktemp -d /var/lib/chronik/package-test.XXXXXX) ||
  fail "the chronik user cannot create a directory in /var/lib/chronik"
check_broker_serves
check_meta_serves
echo "== remove and purge"
check_remove_keeps_data
echo "package test passed in $((SECONDS - started))s"
