#!/usr/bin/env bash
# Resize memory and time against input size, run by hand (never by ctest):
# peak RSS and wall time of `imgbatch transform --engine serial --resize`
# for very long PNGs and a 24 MP image, for two builds side by side (say
# main's and a branch's). Writes a Markdown table to stdout.
#
#   tests/bench/bench_resize_mem.sh BEFORE_IMGBATCH AFTER_IMGBATCH
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench-resize), RUNS
# (default 3), ONLY (an extended regex: only the inputs it matches). The
# builds run interleaved, RUNS times each; the median wall time, the
# median CPU time (user + system, which a busy machine disturbs less) and
# the largest peak RSS are reported.
#
# Inputs, made by tests/cli/long_png.py (smooth triangle waves, a few
# hundred KB each): 60,000,000x1, 20,000,000x1 and 1x20,000,000 RGB PNGs
# to 50x50, and a 6000x4000 image to 64x64, as PNG (decoded whole, all
# of the reduction in the resampler) and as JPEG q92 (shrink-on-load
# first). Each command, per input and build:
#   /usr/bin/time -f '%e %U %S %M' IMGBATCH transform -q --engine serial \
#       -o OUT --resize SIZE INPUT
set -euo pipefail

[ $# = 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BEFORE=$1
AFTER=$2
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench-resize}
RUNS=${RUNS:-3}
for b in "$BEFORE" "$AFTER"; do
    [ -x "$b" ] || { echo "no imgbatch at $b" >&2; exit 2; }
done
BEFORE=$(realpath "$BEFORE")
AFTER=$(realpath "$AFTER")
mkdir -p "$BENCH_DIR/in"
cd "$BENCH_DIR"

make_inputs() {
    local gen="$ROOT/tests/cli/long_png.py"
    [ -f in/w60m.png ] || python3 "$gen" in/w60m.png 60000000 1
    [ -f in/w20m.png ] || python3 "$gen" in/w20m.png 20000000 1
    [ -f in/t20m.png ] || python3 "$gen" in/t20m.png 1 20000000
    [ -f in/p24mp.png ] || python3 "$gen" in/p24mp.png 6000 4000 3 5
    [ -f in/p24mp.jpg ] || convert in/p24mp.png -quality 92 in/p24mp.jpg
}

# once BIN INPUT SIZE LOG: appends "wall cpu rss_kb" (or "failed") to LOG
# for one run of BIN
once() {
    local bin=$1 input=$2 size=$3 log=$4
    rm -rf out
    if /usr/bin/time -f '%e %U %S %M' -o time.txt "$bin" transform -q \
        --engine serial -o out --resize "$size" "$input" \
        >/dev/null 2>err.txt; then
        awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' time.txt >>"$log"
    else
        echo failed >>"$log"
    fi
}

# median COLUMN LOG
median() {
    cut -d' ' -f"$1" "$2" | sort -g | sed -n "$(( (RUNS + 1) / 2 ))p"
}

# summary LOG: "wall cpu max_rss_kb", or "failed" if any run failed
summary() {
    if grep -q failed "$1"; then
        echo failed
        return
    fi
    echo "$(median 1 "$1") $(median 2 "$1") $(cut -d' ' -f3 "$1" |
        sort -g | tail -1)"
}

mb() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k / 1024 }'; }

make_inputs
echo "| input | --resize | before: wall | CPU | peak RSS |" \
    "after: wall | CPU | peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
while read -r input size label; do
    [[ -z "${ONLY:-}" || "$input" =~ $ONLY ]] || continue
    : >before.log
    : >after.log
    # interleaved, so a busy moment on the machine hits both builds
    for i in $(seq "$RUNS"); do
        once "$BEFORE" "in/$input" "$size" before.log
        once "$AFTER" "in/$input" "$size" after.log
    done
    b=$(summary before.log)
    a=$(summary after.log)
    row="| $label | $size |"
    for r in "$b" "$a"; do
        if [ "$r" = failed ]; then
            row="$row failed | - | - |"
        else
            set -- $r
            row="$row $1 s | $2 s | $(mb "$3") |"
        fi
    done
    echo "$row"
done <<'CASES'
w60m.png 50x50 60,000,000x1 PNG
w20m.png 50x50 20,000,000x1 PNG
t20m.png 50x50 1x20,000,000 PNG
p24mp.png 64x64 6000x4000 PNG
p24mp.jpg 64x64 6000x4000 JPEG q92
CASES
