#!/usr/bin/env bash
# Runs every libFuzzer target for a short, bounded time on its committed seeds (and whatever a
# previous run left in fuzz/corpus-local/), with its dictionary if it has one, and fails if any
# target finds a crash. See docs/fuzzing.md.
# Usage: bash tests/fuzz-smoke.sh   (FUZZ_SECONDS=N changes the 20 s per target)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

# 20 s per target, two targets at a time, keeps the whole CI run under 45 minutes on 2 cores;
# longer runs are for a fuzzing session of their own (docs/fuzzing.md).
seconds="${FUZZ_SECONDS:-20}"
# Unoptimised builds: a release build of the targets and their dependencies takes longer
# than the runs themselves on a 2-core CI machine (docs/fuzzing.md has the figures).
profile=(--dev)

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz-smoke: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

start=$SECONDS
# One build of all targets, so that each run below starts at once.
cargo +nightly fuzz build "${profile[@]}"
echo "fuzz-smoke: built every target in $((SECONDS - start)) s"

logs=target/fuzz-smoke
mkdir -p "$logs"

# One target's run: its log in $logs/<target>.log, its summary line in $logs/<target>.result.
run_target() {
  local t=$1 log="$logs/$1.log" t0=$SECONDS status=0 dict=() runs cov line artifact
  mkdir -p "corpus-local/$t"
  [ -f "dicts/$t.dict" ] && dict=("-dict=dicts/$t.dict")
  cargo +nightly fuzz run "${profile[@]}" "$t" "corpus-local/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 "${dict[@]}" >"$log" 2>&1 || status=$?
  # A crash while loading the corpus leaves no statistics behind.
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  if [ "$status" -eq 0 ]; then
    line="ok      $t: ${runs:-?} executions, coverage ${cov:-?} edges, $((SECONDS - t0)) s"
  else
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    artifact=${artifact#"$PWD/"}
    line="FAILED  $t: exit $status after $((SECONDS - t0)) s; input: fuzz/${artifact:-?}; log: fuzz/$log"
  fi
  echo "$line" >"$logs/$t.result"
}

# Two targets at a time: each libFuzzer run keeps one core busy.
targets=($(cargo +nightly fuzz list))
for i in "${!targets[@]}"; do
  rm -f "$logs/${targets[$i]}.result"
  run_target "${targets[$i]}" &
  if (( i % 2 == 1 )); then wait; fi
done
wait

summary=()
failed=0
for t in "${targets[@]}"; do
  line=$(cat "$logs/$t.result" 2>/dev/null || echo "FAILED  $t: no result (the run did not finish)")
  if [[ $line == FAILED* ]]; then
    failed=1
    echo "---- $t: what failed (the whole output is in fuzz/$logs/$t.log)"
    what='panicked at|==[0-9]+==ERROR|^SUMMARY'
    if grep -qE "$what" "$logs/$t.log"; then
      grep -E -A3 "$what" "$logs/$t.log" | head -40 || true
    else
      tail -40 "$logs/$t.log"
    fi
  fi
  echo "fuzz-smoke: $line"
  summary+=("$line")
done

echo "== fuzz-smoke summary ($((SECONDS - start)) s)"
printf '  %s\n' "${summary[@]}"
failures=$(printf '%s\n' "${summary[@]}" | grep -c '^FAILED' || true)
echo "fuzzing: $(( ${#summary[@]} - failures )) passed, $failures failed"
exit "$failed"
