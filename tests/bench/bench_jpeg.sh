#!/usr/bin/env bash
# JPEG encoder settings on the thumbnail workload, run by hand (never by
# ctest): what optimised Huffman tables, progressive scans and 4:2:2/4:4:4
# chroma cost and save, on the real-photo corpus bench_transform.sh builds
# (built here the same way when missing). Writes Markdown to stdout.
#
#   tests/bench/bench_jpeg.sh [BUILD]
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench), RUNS (default 5),
# PROCS (default 2).
#
# 1. The encoder alone (bench_jpeg.c): each photograph fitted into
#    1024x1024 once, then encoded at q85 with each setting, RUNS times;
#    bytes and the sum of per-image median encode times.
# 2. The whole workload, as users run it, RUNS interleaved rounds:
#      imgbatch transform -q --procs P -o OUT --resize 1024x1024 \
#          --format jpeg --quality 85 [SETTING] CORPUS/*.jpg
#    medians of wall time and of CPU time (user + sys, all processes),
#    and the bytes written.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
IMGBATCH=$BUILD/cmd/imgbatch
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench}
RUNS=${RUNS:-5}
PROCS=${PROCS:-2}
[ -x "$IMGBATCH" ] || { echo "no imgbatch at $IMGBATCH (build first)" >&2; exit 2; }

# the corpus exactly as bench_transform.sh makes it: its function, reused
if [ ! -f "$BENCH_DIR/corpus/.done" ]; then
    eval "$(sed -n '/^build_corpus() {/,/^}/p' "$ROOT/tests/bench/bench_transform.sh")"
    build_corpus
fi
FILES=("$BENCH_DIR"/corpus/*.jpg)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -I"$ROOT" "$ROOT/tests/bench/bench_jpeg.c" \
    "$BUILD/transform/libib_transform.a" -ljpeg -lpng -lz -ldeflate -lwebp \
    -lwebpmux -lwebpdemux -lavif -llcms2 -lm -o "$tmp/bench_jpeg"

echo "### JPEG encoder alone: ${#FILES[@]} thumbnails (fit 1024x1024), q85, median of $RUNS"
echo
"$tmp/bench_jpeg" "$RUNS" "${FILES[@]}"
echo

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# the default first: fitted tables, as every thumbnail is under 8 MP
settings=("" "--no-jpeg-optimize" "--progressive" "--jpeg-subsample 444")
for ((r = 0; r < RUNS; r++)); do
    for i in "${!settings[@]}"; do
        out=$tmp/out-$i
        rm -rf "$out"
        # shellcheck disable=SC2086
        /usr/bin/time -f '%e %U %S' -o "$tmp/t" "$IMGBATCH" transform -q \
            --procs "$PROCS" -o "$out" --resize 1024x1024 --format jpeg \
            --quality 85 ${settings[$i]} "${FILES[@]}"
        read -r wall user sys <"$tmp/t"
        echo "$wall" >>"$tmp/wall-$i"
        echo "$user $sys" | awk '{print $1 + $2}' >>"$tmp/cpu-$i"
        find "$out" -name '*.jpg' -printf '%s\n' |
            awk '{s += $1} END {print s}' >"$tmp/bytes-$i"
    done
done
echo "### Thumbnail workload: ${#FILES[@]} photographs, fit 1024x1024, q85, $PROCS processes, median of $RUNS interleaved"
echo
echo "| setting | output bytes | vs default | wall s | CPU s | CPU vs default |"
echo "|---|---:|---:|---:|---:|---:|"
b0=$(cat "$tmp/bytes-0")
c0=$(median <"$tmp/cpu-0")
for i in "${!settings[@]}"; do
    b=$(cat "$tmp/bytes-$i")
    c=$(median <"$tmp/cpu-$i")
    w=$(median <"$tmp/wall-$i")
    awk -v s="${settings[$i]}" -v b="$b" -v b0="$b0" -v w="$w" -v c="$c" \
        -v c0="$c0" 'BEGIN { if (s == "") s = "(default)"; else s = "`" s "`"
                      printf "| %s | %d | %+.1f%% | %.2f | %.2f | %+.1f%% |\n",
                      s, b, 100 * (b / b0 - 1), w, c, 100 * (c / c0 - 1) }'
done
