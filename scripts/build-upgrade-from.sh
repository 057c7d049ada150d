#!/usr/bin/env bash
# Builds chronik-broker and chronik-meta of an older revision into target/upgrade-from/bin, for
# the rolling-upgrade test (tests/python/test_upgrade.py).
#
# Usage: bash scripts/build-upgrade-from.sh [REVISION]   (default: tests/upgrade/FROM_REVISION)
#
# The revision's tree is exported with `git archive` to target/upgrade-from/src and built with
# this checkout's target dir, so the registry dependencies already built (or about to be) are
# reused and only the workspace crates compile. That build re-links target/debug/chronik-broker
# and chronik-meta to the old binaries, so this script copies them out and then removes those
# two links: the next `cargo build`/`cargo test` of this checkout puts the current ones back.
# Run it before the main build (tests/run-all.sh does). A revision already built is not rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=target/upgrade-from

fail() {
  echo "error: $*" >&2
  exit 2
}

rev=${1:-$(grep -v '^#' tests/upgrade/FROM_REVISION | tr -d '[:space:]')}
[ -n "$rev" ] || fail "tests/upgrade/FROM_REVISION names no revision"
commit=$(git rev-parse --verify --quiet "$rev^{commit}") ||
  fail "revision '$rev' is not in this clone; a shallow clone lacks it (git fetch --unshallow)"
git merge-base --is-ancestor "$commit" HEAD ||
  fail "revision $commit is not an ancestor of HEAD; an upgrade goes from an older revision"

if [ "$(cat "$out/REVISION" 2>/dev/null)" = "$commit" ] &&
  [ -x "$out/bin/chronik-broker" ] && [ -x "$out/bin/chronik-meta" ]; then
  echo "chronik-broker and chronik-meta of $commit already in $out/bin"
  exit 0
fi

rm -rf "$out/src" "$out/bin" "$out/REVISION"
mkdir -p "$out/src" "$out/bin"
# -m: files dated now, not at the commit. Cargo compares dates, and a tree of another revision
# dated in the past, at the same path, would pass for the one built there before.
git archive "$commit" | tar -x -m -C "$out/src"
# The old workspace crates get the version X+upgrade-from (in Cargo.toml and Cargo.lock).
# Cargo names a workspace crate's build by its name, version and path relative to the
# workspace: unchanged, the old build would overwrite this checkout's builds of the same crates,
# and this checkout's next build, seeing its sources older than those files, would take the old
# code as up to date. Registry crates keep their names, so they are shared.
sed -i '/^\[workspace\.package\]/,/^\[/ s/^version = "\([^"+]*\)"/version = "\1+upgrade-from"/' \
  "$out/src/Cargo.toml"
grep -q '^version = "[^"]*+upgrade-from"' "$out/src/Cargo.toml" ||
  fail "found no version under [workspace.package] in $commit's Cargo.toml to mark the old build"
awk 'BEGIN { RS = ""; ORS = "\n\n" }
  /^\[\[package\]\]/ && !/\nsource = / { sub(/\nversion = "[^"]*/, "&+upgrade-from") }
  { print }' "$out/src/Cargo.lock" >"$out/src/Cargo.lock.marked"
mv "$out/src/Cargo.lock.marked" "$out/src/Cargo.lock"
# `--workspace ... --examples` (there are none) resolves features as `cargo test --workspace`
# does, dev-dependencies included, so every registry crate is the very build the main build
# makes; built with `-p` alone, tokio, hyper, tonic and a dozen more would compile twice.
cargo build --locked --manifest-path "$out/src/Cargo.toml" --target-dir "$root/target" \
  --workspace --bin chronik-broker --bin chronik-meta --examples
for bin in chronik-broker chronik-meta; do
  "target/debug/$bin" --version | grep -q '+upgrade-from' ||
    fail "target/debug/$bin is not the build of $commit"
  cp "target/debug/$bin" "$out/bin/$bin"
  rm "target/debug/$bin"
done
rm -rf "$out/src"
echo "$commit" >"$out/REVISION"
echo "built chronik-broker and chronik-meta of $commit into $out/bin"
