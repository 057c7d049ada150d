#!/usr/bin/env bash
# Runs the Java client tests (tests/java/src) against a chronik-broker they start themselves.
# Usage: bash tests/java/run.sh [FILTER]    FILTER: run only tests whose Class.method contains it
# CHRONIK_BIN_DIR: directory of chronik-broker (default: target/debug of this repo).
# The Kafka Java client and its codecs come from a pinned PyPI wheel that redistributes them
# (fetched once into target/java/wheel); no Maven or Gradle is needed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/target/java"
WHEEL_VERSION=2.0.0.post1
WHEEL="shigawire-apache-flink-libraries==$WHEEL_VERSION"
WHEEL_FILE="$OUT/wheel/shigawire_apache_flink_libraries-$WHEEL_VERSION-py3-none-any.whl"
JARS=(kafka-clients lz4-java snappy-java zstd-jni slf4j-api)
KAFKA_CLIENTS_VERSION=3.9.1
export CHRONIK_BIN_DIR="${CHRONIK_BIN_DIR:-$ROOT/target/debug}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v javac >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq openjdk-17-jdk-headless
fi

missing_jar() {
  for jar in "${JARS[@]}"; do [ -f "$OUT/lib/$jar.jar" ] || return 0; done
  return 1
}
if missing_jar; then
  if [ ! -f "$WHEEL_FILE" ]; then
    PY=python3
    [ -x "$ROOT/target/python-venv/bin/python" ] && PY="$ROOT/target/python-venv/bin/python"
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
      echo "$PY has no pip to fetch $WHEEL: run tests/run-all.sh once (it creates target/python-venv)" >&2
      exit 1
    fi
    "$PY" -m pip download -q --no-deps "$WHEEL" -d "$OUT/wheel"
  fi
  rm -rf "$OUT/lib"
  # Only the jars the tests need, not the whole wheel (unzip may not be installed).
  python3 - "$WHEEL_FILE" "$OUT/lib" "${JARS[@]}" <<'PY'
import os, sys, zipfile
wheel, lib, jars = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(lib, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for jar in jars:
        with z.open(f"pyflink/lib/{jar}.jar") as src, open(os.path.join(lib, f"{jar}.jar"), "wb") as dst:
            dst.write(src.read())
PY
fi

if [ ! -x "$CHRONIK_BIN_DIR/chronik-broker" ]; then
  if [ "$CHRONIK_BIN_DIR" = "$ROOT/target/debug" ]; then
    (cd "$ROOT" && cargo build -p chronik-broker-bin)
  else
    echo "$CHRONIK_BIN_DIR/chronik-broker is missing: build it or unset CHRONIK_BIN_DIR" >&2
    exit 1
  fi
fi

# Compile only when the sources changed since the last compile (a newer file, or one added or
# removed: the stamp lists them).
SOURCES=("$ROOT"/tests/java/src/chronik/clients/*.java)
STAMP="$OUT/classes/.compiled"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "${SOURCES[*]}" ] \
  || [ -n "$(find "${SOURCES[@]}" "$OUT/lib" -newer "$STAMP" -print -quit)" ]; then
  rm -rf "$OUT/classes"
  javac -Xlint:all -Werror -d "$OUT/classes" -cp "$OUT/lib/*" "${SOURCES[@]}"
  echo "${SOURCES[*]}" >"$STAMP"
fi
# Short-lived JVM on a shared machine: the C1 compiler alone and a serial GC start fastest.
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dkafka.clients.expected="$KAFKA_CLIENTS_VERSION" \
  -cp "$OUT/classes:$OUT/lib/*" chronik.clients.Runner "$@"
