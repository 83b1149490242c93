#!/bin/bash
# Benchmark of imgbatch run (by hand, not ctest), one build or several
# (say, before and after a change) interleaved in the same rounds:
#   1. latency-bound downloads (server delay MS, default 50) of N photo-like
#      JPEGs (default 150) + the thumbnail transform (fit 1024x1024, q85):
#      fetch alone, transform alone, run, and run's unchanged rerun;
#      target run <= 1.15 x max(fetch, transform)
#   2. SMALL (default 10000) small images: the first run, then the
#      unchanged rerun (all 304, nothing decoded)
# usage: tests/bench/bench_run.sh BUILD_DIR...
#   (env: N MS CONC SMALL; ROUNDS, default 1; the median of each figure)
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
BUILDS=("$@")
for b in "${BUILDS[@]}"; do
    [ -x "$b/cmd/imgbatch" ] || { echo "no $b/cmd/imgbatch" >&2; exit 2; }
done
HERE=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-150} MS=${MS:-50} CONC=${CONC:-4} SMALL=${SMALL:-10000}
ROUNDS=${ROUNDS:-1}
T=$(mktemp -d "${TMPDIR:-/tmp}/ib-bench-run.XXXXXX")
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/srv"

now() { date +%s.%N; }
# timed NAME K CMD...: runs CMD, appends its wall seconds to $T/t-NAME-K
timed() {
    local name=$1 k=$2 t0
    shift 2
    t0=$(now)
    "$@"
    echo "$(now) - $t0" | bc -l >>"$T/t-$name-$k"
}
median() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%.2f", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# 12 distinct 2000x1500 photo-like JPEGs, copied to N names; SMALL small
for i in $(seq 0 11); do
    convert -size 2000x1500 -seed "$i" plasma:fractal -blur 0x1 \
        -quality 90 "$T/base$i.jpg"
done
for i in $(seq 1 "$N"); do cp "$T/base$((i % 12)).jpg" "$T/srv/p$i.jpg"; done
convert -size 64x48 -seed 1 plasma:fractal "$T/small.jpg"
for i in $(seq 1 "$SMALL"); do echo "$T/srv/s$i.jpg"; done |
    xargs -n 500 cp "$T/small.jpg" 2>/dev/null ||
    for i in $(seq 1 "$SMALL"); do cp "$T/small.jpg" "$T/srv/s$i.jpg"; done
python3 "$HERE/server.py" "$T/port" "$T/srv" &
PID=$!
while [ ! -s "$T/port" ]; do sleep 0.05; done
BASE="http://127.0.0.1:$(cat "$T/port")"
for i in $(seq 1 "$N"); do echo "$BASE/file/p$i.jpg?ms=$MS"; done >"$T/urls"
for i in $(seq 1 "$SMALL"); do echo "$BASE/file/s$i.jpg"; done >"$T/surls"
OPS=(--resize 1024x1024 --quality 85)

for ((r = 1; r <= ROUNDS; r++)); do
    for ((k = 0; k < ${#BUILDS[@]}; k++)); do
        ib=${BUILDS[k]}/cmd/imgbatch
        rm -rf "$T/dl" "$T/tout" "$T/rout" "$T/sout"
        timed fetch "$k" "$ib" fetch "$T/urls" -o "$T/dl" -c "$CONC" -q
        timed transform "$k" "$ib" transform "$T/dl" -o "$T/tout" "${OPS[@]}" -q
        timed run "$k" "$ib" run "$T/urls" -o "$T/rout" -c "$CONC" \
            "${OPS[@]}" -q --report "$T/report"
        timed rerun "$k" "$ib" run "$T/urls" -o "$T/rout" -c "$CONC" \
            "${OPS[@]}" -q --report "$T/report2"
        timed small "$k" "$ib" run "$T/surls" -o "$T/sout" --resize 32x32 -q
        timed smallrerun "$k" "$ib" run "$T/surls" -o "$T/sout" \
            --resize 32x32 -q --report "$T/sr"
    done
done

echo "$N JPEGs 2000x1500 at a $MS ms delay, -c $CONC; $SMALL small JPEGs;"
echo "median of $ROUNDS interleaved round(s), wall seconds"
echo
echo "| build | fetch | transform | run | run / max(fetch, transform) | unchanged rerun | $SMALL small: first run | unchanged rerun |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for ((k = 0; k < ${#BUILDS[@]}; k++)); do
    f=$(median "$T/t-fetch-$k") x=$(median "$T/t-transform-$k")
    r=$(median "$T/t-run-$k")
    ratio=$(python3 -c "print($r / max($f, $x))")
    printf '| %s | %s | %s | %s | %.2f | %s | %s | %s |\n' "${BUILDS[k]}" \
        "$f" "$x" "$r" "$ratio" "$(median "$T/t-rerun-$k")" \
        "$(median "$T/t-small-$k")" "$(median "$T/t-smallrerun-$k")"
done
