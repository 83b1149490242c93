#!/usr/bin/env bash
# The thumbnail workload alone, run by hand (never by ctest): one or more
# imgbatch builds against sharp on the corpus of bench_transform.sh, fit
# 1024x1024, JPEG q85, PROCS processes (sharp: PROCS images in flight),
# interleaved (A B S A B S ...), RUNS rounds. Reports the median wall
# time, the median CPU time (user + system, children included, which a
# busy machine disturbs less than wall time) and the largest peak RSS of
# one process, and each as a ratio to sharp in the same run.
#
#   tests/bench/bench_thumb.sh IMGBATCH...      (after bench_transform.sh
#                                                made the corpus)
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench; the corpus is
# BENCH_DIR/corpus), RUNS (default 7), PROCS (default 2), NO_SHARP=1 to
# leave sharp out.
set -euo pipefail

[ $# -ge 1 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench}
RUNS=${RUNS:-7}
PROCS=${PROCS:-2}
BINS=()
for b in "$@"; do
    [ -x "$b" ] || { echo "no imgbatch at $b" >&2; exit 2; }
    BINS+=("$(realpath "$b")")
done
mapfile -t FILES < <(ls "$BENCH_DIR"/corpus/*.jpg 2>/dev/null)
[ ${#FILES[@]} -gt 0 ] ||
    { echo "no corpus in $BENCH_DIR/corpus (run bench_transform.sh)" >&2; exit 2; }
TOOLS=()
for ((i = 0; i < ${#BINS[@]}; i++)); do TOOLS+=("imgbatch$i"); done
[ "${NO_SHARP:-}" = 1 ] || TOOLS+=(sharp)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# once TOOL: appends "wall cpu rss_kb" to $BENCH_DIR/thumb-TOOL
once() {
    local t=$1 out=$BENCH_DIR/out-thumb
    rm -rf "$out"
    mkdir -p "$out"
    case "$t" in
    sharp)
        /usr/bin/time -f '%e %U %S %M' -o "$BENCH_DIR/time.txt" \
            node "$ROOT/tests/bench/sharp/batch.js" thumb "$out" "$PROCS" \
            "${FILES[@]}" ;;
    imgbatch*)
        /usr/bin/time -f '%e %U %S %M' -o "$BENCH_DIR/time.txt" \
            "${BINS[${t#imgbatch}]}" transform -q --procs "$PROCS" -o "$out" \
            --resize 1024x1024 --format jpeg --quality 85 "${FILES[@]}" ;;
    esac
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$BENCH_DIR/time.txt" \
        >>"$BENCH_DIR/thumb-$t"
}

for t in "${TOOLS[@]}"; do : >"$BENCH_DIR/thumb-$t"; done
once "${TOOLS[0]}"   # warm the page cache
: >"$BENCH_DIR/thumb-${TOOLS[0]}"
for ((r = 0; r < RUNS; r++)); do
    for t in "${TOOLS[@]}"; do once "$t"; done
done

echo "Thumbnail: ${#FILES[@]} JPEGs, fit 1024x1024, JPEG q85, $PROCS in flight;"
echo "median of $RUNS interleaved runs; load average at the end:"
echo "$(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| tool | wall s | CPU s | peak RSS MiB | sharp / tool, wall | sharp / tool, CPU |"
echo "|---|---:|---:|---:|---:|---:|"
sw=; sc=
if [ "${NO_SHARP:-}" != 1 ]; then
    sw=$(cut -d' ' -f1 "$BENCH_DIR/thumb-sharp" | median)
    sc=$(cut -d' ' -f2 "$BENCH_DIR/thumb-sharp" | median)
fi
for t in "${TOOLS[@]}"; do
    w=$(cut -d' ' -f1 "$BENCH_DIR/thumb-$t" | median)
    c=$(cut -d' ' -f2 "$BENCH_DIR/thumb-$t" | median)
    m=$(cut -d' ' -f3 "$BENCH_DIR/thumb-$t" | sort -n | tail -1)
    name=$t
    [ "$t" = sharp ] || name="imgbatch ${BINS[${t#imgbatch}]}"
    if [ -n "$sw" ]; then
        printf '| %s | %.2f | %.2f | %d | %.2fx | %.2fx |\n' "$name" "$w" "$c" \
            $((m / 1024)) "$(echo "$sw / $w" | bc -l)" "$(echo "$sc / $c" | bc -l)"
    else
        printf '| %s | %.2f | %.2f | %d | - | - |\n' "$name" "$w" "$c" $((m / 1024))
    fi
done
echo
echo "Raw runs (wall cpu rss_kb) in $BENCH_DIR/thumb-*."
