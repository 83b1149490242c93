#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD SECONDS [TARGET...]: replays the regression
# inputs, then runs each fuzz target (default: all four) for SECONDS under
# nice -n 19, one at a time, from the seeds plus the corpus kept in
# BUILD/fuzz-corpus/<target> (grown run after run). Crashing inputs land in
# BUILD/fuzz-artifacts/. Exits 1 if any target crashed or a replay failed.
# BUILD must be a build with -DIMGBATCH_FUZZ=ON (targets "fuzzers" built).
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD SECONDS [TARGET...]}" && pwd)
secs=${2:?usage: run.sh BUILD SECONDS [TARGET...]}
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode ops list name)
here=$(cd "$(dirname "$0")" && pwd)

seeds=$build/fuzz-seeds
[ -d "$seeds/decode" ] || bash "$here/seeds.sh" "$build/testdata/ib-gen" "$seeds"
mkdir -p "$build/fuzz-artifacts"
status=0
for t in "${targets[@]}"; do
    bin=$build/tests/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "no $bin: build the 'fuzzers' target" >&2; exit 2; }
    # each regression input once, as libFuzzer runs files given by name
    mapfile -t regs < <(find "$here/regressions/$t" -type f ! -name '.*' | sort)
    if [ ${#regs[@]} -gt 0 ]; then
        if nice -n 19 "$bin" "${regs[@]}" >"$build/fuzz-$t.replay.log" 2>&1; then
            echo "fuzz $t: ${#regs[@]} regression inputs pass"
        else
            tail -30 "$build/fuzz-$t.replay.log" >&2
            echo "fuzz $t: a regression input fails" >&2
            status=1
        fi
    fi
    mkdir -p "$build/fuzz-corpus/$t"
    log=$build/fuzz-$t.log
    if nice -n 19 "$bin" -max_total_time="$secs" -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$t-" \
        "$build/fuzz-corpus/$t" "$seeds/$t" >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p' "$log")
        echo "fuzz $t: ${secs}s, $execs execs, $cov, no crash"
    else
        grep -E 'ERROR|SUMMARY|property|Test unit written' "$log" >&2 || tail -30 "$log" >&2
        echo "fuzz $t: CRASH (log: $log)" >&2
        status=1
    fi
done
exit $status
