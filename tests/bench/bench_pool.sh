#!/usr/bin/env bash
# Pool benchmark, run by hand (never by ctest): how the two parallel
# engines scale with workers on real photographs, what dispatching one job
# costs, how much memory a worker needs, and where a thumbnail's time goes.
# Writes a Markdown section to stdout, raw timings to $BENCH_DIR/pool-*,
# and plots to $DOCS.
#
#   tests/bench/bench_pool.sh [IMGBATCH]
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench; the corpus is
# $BENCH_DIR/corpus, built by bench_transform.sh), RUNS (default 3),
# BENCH_POOL (the bench_pool binary: cmake -DIMGBATCH_BENCH=ON),
# DOCS (default docs/ of this repository).
#
# Workload "thumbnail": imgbatch transform --resize 1024x1024 --format jpeg
# --quality 85 over the whole corpus, with --engine serial, --procs
# 1/2/4/8 and --engine omp --threads 1/2/4/8. Every configuration is a
# separate process, so the two engines can be interleaved freely: each
# round runs every configuration once, RUNS rounds, medians reported.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMGBATCH=${1:-${IMGBATCH:-$ROOT/build/cmd/imgbatch}}
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench}
RUNS=${RUNS:-3}
BENCH_POOL=${BENCH_POOL:-$(dirname "$(dirname "$IMGBATCH")")/pool/bench_pool}
DOCS=${DOCS:-$ROOT/docs}
CORPUS=$BENCH_DIR/corpus
[ -x "$IMGBATCH" ] || { echo "no imgbatch at $IMGBATCH (build first)" >&2; exit 2; }
[ -f "$CORPUS/.done" ] || {
    echo "no corpus in $CORPUS: run tests/bench/bench_transform.sh (or" \
         "bench_all.sh) first" >&2
    exit 2
}
mkdir -p "$DOCS"
OUT=$BENCH_DIR/pool-out

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
N=$(ls "$CORPUS"/*.jpg | wc -l)

# thumb ENGINE-ARGS...: seconds for one thumbnail pass over the corpus
thumb() {
    rm -rf "$OUT"
    local t0 t1
    t0=$(now)
    "$IMGBATCH" transform -q --force -o "$OUT" --format jpeg --quality 85 \
        "$@" "$CORPUS"
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

# cpu ENGINE-ARGS...: CPU seconds (user + system) of one pass; unlike
# wall time, barely moved by other jobs on a shared machine
cpu() {
    rm -rf "$OUT"
    /usr/bin/time -f '%U %S' -o "$BENCH_DIR/pool-cpu" "$IMGBATCH" transform \
        -q --force -o "$OUT" --format jpeg --quality 85 "$@" "$CORPUS"
    awk '{print $1 + $2}' "$BENCH_DIR/pool-cpu"
}

CONFIGS=("serial 1" "procs 1" "omp 1" "procs 2" "omp 2" "procs 4" "omp 4"
         "procs 8" "omp 8")
args() {
    case "$1" in
    serial) echo "--engine serial" ;;
    procs) echo "--engine procs --procs $2" ;;
    omp) echo "--engine omp --threads $2" ;;
    esac
}
for c in "${CONFIGS[@]}"; do : >"$BENCH_DIR/pool-t-${c// /-}"; done
thumb --engine serial --resize 1024x1024 >/dev/null   # warm the page cache
for ((r = 0; r < RUNS; r++)); do
    for c in "${CONFIGS[@]}"; do
        # shellcheck disable=SC2046
        thumb $(args $c) --resize 1024x1024 >>"$BENCH_DIR/pool-t-${c// /-}"
    done
done
rate() { echo "$N / $(median <"$BENCH_DIR/pool-t-$1")" | bc -l; }

echo "### Thumbnail throughput against workers"
echo
echo "$N real photographs ($CORPUS), fit 1024x1024, JPEG q85; median of"
echo "$RUNS interleaved rounds (each round runs every row once)."
echo
echo "| engine | workers | median s | images/s | vs serial |"
echo "|---|---:|---:|---:|---:|"
serial=$(rate serial-1)
: >"$BENCH_DIR/pool.dat"
for c in "${CONFIGS[@]}"; do
    set -- $c
    r=$(rate "$1-$2")
    printf '| %s | %s | %.2f | %.1f | %.2fx |\n' "$1" "$2" \
        "$(median <"$BENCH_DIR/pool-t-$1-$2")" "$r" "$(echo "$r / $serial" | bc -l)"
done
for w in 1 2 4 8; do
    printf '%s %.3f %.3f %.3f\n' "$w" "$(rate procs-$w)" "$(rate omp-$w)" \
        "$serial" >>"$BENCH_DIR/pool.dat"
done
echo
for e in procs omp; do
    printf -- '- %s: 2 workers over 1: **%.2fx**\n' "$e" \
        "$(echo "$(rate $e-2) / $(rate $e-1)" | bc -l)"
done
echo
gnuplot <<GP
set terminal pngcairo size 720,420 noenhanced
set output "$DOCS/bench-pool.png"
set title "thumbnail (fit 1024x1024, q85), $N photos, $(nproc) CPUs"
set xlabel "workers"
set ylabel "images/s"
set logscale x 2
set xtics (1, 2, 4, 8)
set xrange [0.8:10]
set yrange [0:*]
set key bottom right
set grid
plot "$BENCH_DIR/pool.dat" using 1:2 with linespoints lw 2 title "--engine procs", \
     "" using 1:3 with linespoints lw 2 title "--engine omp", \
     "" using 1:4 with lines dt 2 title "--engine serial"
GP
echo "![thumbnail throughput against workers](bench-pool.png)"
echo

# Where a thumbnail's time goes, measured from outside with invocations
# that stop after each stage: "--crop 16x16+0+0" decodes (the crop is not
# a shrink, so at full size) and encodes 16x16 pixels, next to nothing.
# CPU time of one process, not wall time: stages are differences of two
# invocations, and wall time on a busy machine would swamp them.
echo "### Where a thumbnail's time goes"
echo
STAGES=("dec|--crop 16x16+0+0"
        "dec_rs_full|--no-shrink-on-load --resize 1024x1024 --crop 16x16+0+0"
        "all_full|--no-shrink-on-load --resize 1024x1024"
        "dec_rs|--resize 1024x1024 --crop 16x16+0+0"
        "all|--resize 1024x1024")
for s in "${STAGES[@]}"; do : >"$BENCH_DIR/pool-s-${s%%|*}"; done
for ((r = 0; r < RUNS; r++)); do
    for s in "${STAGES[@]}"; do
        # shellcheck disable=SC2086
        cpu --engine serial ${s#*|} >>"$BENCH_DIR/pool-s-${s%%|*}"
    done
done
ms() { echo "1000 * $(median <"$BENCH_DIR/pool-s-$1") / $N" | bc -l; }
dec=$(ms dec) rsf=$(ms dec_rs_full) allf=$(ms all_full) rs=$(ms dec_rs)
all=$(ms all)
echo "One process (--engine serial), CPU ms (user + system) per image,"
echo "median of $RUNS interleaved rounds; a stage is the difference between"
echo "two invocations:"
echo
echo "| invocation | CPU ms/image |"
echo "|---|---:|"
for s in "${STAGES[@]}"; do
    printf '| `%s` | %.1f |\n' "${s#*|}" "$(ms "${s%%|*}")"
done
echo
echo "| pipeline | decode | resize | encode 1024 px | total |"
echo "|---|---:|---:|---:|---:|"
printf '| full-size decode (`--no-shrink-on-load`) | %.1f | %.1f | %.1f | %.1f |\n' \
    "$dec" "$(echo "$rsf - $dec" | bc -l)" "$(echo "$allf - $rsf" | bc -l)" "$allf"
printf '| shrink-on-load (default) | %.1f (decode + resize) | | %.1f | %.1f |\n' \
    "$rs" "$(echo "$all - $rs" | bc -l)" "$all"
echo
printf '"full-size decode" %.2f %.2f %.2f\n' "$dec" "$(echo "$rsf - $dec" | bc -l)" \
    "$(echo "$allf - $rsf" | bc -l)" >"$BENCH_DIR/pool-stages.dat"
printf '"shrink-on-load" %.2f 0 %.2f\n' "$rs" "$(echo "$all - $rs" | bc -l)" \
    >>"$BENCH_DIR/pool-stages.dat"
gnuplot <<GP
set terminal pngcairo size 720,380 noenhanced
set output "$DOCS/bench-stages.png"
set title "thumbnail: CPU ms per image by stage, one process"
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.6
set ylabel "CPU ms per image"
set yrange [0:*]
set key below
set xrange [-0.6:1.6]
set grid y
plot "$BENCH_DIR/pool-stages.dat" using 2:xtic(1) title "decode (shrink-on-load: decode + resize)", \
     "" using 3 title "resize", "" using 4 title "encode"
GP
echo "![thumbnail time by stage](bench-stages.png)"
echo

echo "### Dispatch overhead and memory"
echo
if [ -x "$BENCH_POOL" ]; then
    echo "\`bench_pool 10000 5\` (empty tasks, best of 5):"
    echo
    echo '```'
    "$BENCH_POOL" 10000 5
    echo '```'
else
    echo "(bench_pool not built: configure with -DIMGBATCH_BENCH=ON.)"
fi
echo
# GNU time's maximum RSS covers the process and the children it reaped:
# with --procs 1 that is the larger of the parent and its one worker.
big=$(ls -S "$CORPUS"/*.jpg | head -1)
rss() { rm -rf "$OUT"; /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
echo "Peak RSS (GNU time, MiB), thumbnail of the largest file"
echo "($(basename "$big"), $(identify -format '%wx%h' "$big")) and of the whole corpus:"
echo
echo "| command | one file | corpus |"
echo "|---|---:|---:|"
for a in "--engine serial" "--procs 1" "--procs 2" "--engine omp --threads 2"; do
    # shellcheck disable=SC2086
    k1=$(rss "$IMGBATCH" transform -q -o "$OUT" $a --resize 1024x1024 "$big")
    # shellcheck disable=SC2086
    k2=$(rss "$IMGBATCH" transform -q -o "$OUT" $a --resize 1024x1024 "$CORPUS")
    printf '| `imgbatch transform %s` | %d | %d |\n' "$a" $((k1 / 1024)) $((k2 / 1024))
done
echo
echo "(--procs N: the largest single process, parent or worker; each worker"
echo "holds about that much at its peak, so N workers need up to N times it.)"
rm -rf "$OUT"
