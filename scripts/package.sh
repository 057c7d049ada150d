#!/usr/bin/env bash
# Builds the chronik Debian package with cargo-deb (pinned below, installed under
# target/tools when missing). The package's contents are listed in
# bin/chronik-broker/Cargo.toml ([package.metadata.deb]); its units, example configs and
# maintainer scripts live in packaging/debian/.
#
# Usage: scripts/package.sh              release build -> target/debian/chronik_*.deb
#        scripts/package.sh --from-debug the binaries already in target/debug, stripped
#                                        -> target/debian-test/chronik_*.deb (for tests)
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
PROGRAMS=(chronik-broker chronik-meta chronik-walctl chronik-bench)

fail() {
  echo "error: $*" >&2
  exit 2
}

mode=release
case "${1:-}" in
  "") ;;
  --from-debug) mode=debug ;;
  *) fail "unknown argument '$1'; usage: scripts/package.sh [--from-debug]" ;;
esac

command -v dpkg-shlibdeps >/dev/null ||
  fail "dpkg-shlibdeps (which finds the package's library dependencies) is missing; install it: apt-get install dpkg-dev"
if [ "$(target/tools/bin/cargo-deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  # Unoptimized, it builds with under half the CPU time (at most 1.5 instead of 3 min here)
  # and makes the same package: the test's in 16 instead of 14 s, a full one in 78 instead of
  # 45 s (xz at its default level).
  cargo install --debug --quiet --locked cargo-deb --version "$CARGO_DEB_VERSION" --root target/tools
fi
export PATH="$PWD/target/tools/bin:$PATH"

if [ "$mode" = release ]; then
  # The man pages and completions are packaged as checked in: refuse stale ones.
  cargo run --release --locked -q -p chronik-docgen -- --check ||
    fail "the man pages or completions are stale; run: cargo run -p chronik-docgen"
  cargo build --release --locked -p chronik-broker-bin -p chronik-meta -p chronik-walctl -p chronik-bench
  out=target/debian
  rm -f "$out"/chronik_*.deb
  # Stripped, as Debian ships programs: the release profile's line tables would make the
  # package's binaries five times their size.
  cargo deb -p chronik-broker-bin --no-build --strip --output "$out/" >/dev/null
else
  for program in "${PROGRAMS[@]}"; do
    [ -x "target/debug/$program" ] ||
      fail "target/debug/$program is missing; build it: cargo build -p chronik-broker-bin -p chronik-meta -p chronik-walctl -p chronik-bench"
  done
  # cargo-deb packages TARGET_DIR/release: a target dir whose release/ holds hard links to the
  # debug binaries lets it package those without a release build.
  out=target/debian-test
  rm -rf "$out"
  mkdir -p "$out/release"
  for program in "${PROGRAMS[@]}"; do
    ln -f "target/debug/$program" "$out/release/$program"
  done
  # Stripped and lightly compressed: this package is for tests, it only has to be quick.
  CARGO_TARGET_DIR=$out cargo deb -p chronik-broker-bin --no-build --strip --fast --output "$out/" >/dev/null
fi

deb=$(echo "$out"/chronik_*.deb)
[ -f "$deb" ] || fail "cargo deb made no $out/chronik_*.deb"
echo "$deb"
