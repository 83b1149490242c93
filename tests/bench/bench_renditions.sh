#!/usr/bin/env bash
# Renditions benchmark, run by hand (never by ctest): the real-photo corpus
# (tests/bench/lib.sh) to widths {480, 960, 1920} x {WebP q80, JPEG q85},
# six outputs per input:
#   imgbatch transform --procs P --width 480,960,1920 --format webp,jpeg
#       --quality jpeg=85,webp=80                    (one decode per input)
#   sharp: batch.js renditions, one input cloned per output, P images in
#       flight (sharp's idiom; libvips threads as sharp sets them)
#   vipsthumbnail: once per size and format (6 passes over the list), P
#       processes over interleaved shares
# Interleaved runs, medians; output bytes per format, and the PSNR of the
# 960 renditions against an ImageMagick Lanczos reference resize, so that
# speed is compared at equal quality. Markdown to stdout.
#
#   tests/bench/bench_renditions.sh [IMGBATCH]
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench), RUNS (default 5),
# PROCS (default 2), NO_INSTALL=1 to skip apt-get and npm, LIMIT=N to use
# the first N photos only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMGBATCH=${1:-${IMGBATCH:-$ROOT/build/cmd/imgbatch}}
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench}
RUNS=${RUNS:-5}
PROCS=${PROCS:-2}
[ -x "$IMGBATCH" ] || { echo "no imgbatch at $IMGBATCH (build first)" >&2; exit 2; }
IMGBATCH=$(cd "$(dirname "$IMGBATCH")" && pwd)/$(basename "$IMGBATCH")
. "$ROOT/tests/bench/lib.sh"

share() { local i; for ((i = $1; i < ${#FILES[@]}; i += PROCS)); do echo "${FILES[$i]}"; done; }

# run_tool NAME: one run into a fresh folder; prints "wall_s cpu_s" (cpu:
# user + system of every process of the run, which the shared machine's
# other load disturbs less than wall time)
run_tool() {
    local out=$BENCH_DIR/rout-$1
    rm -rf "$out"
    mkdir -p "$out"
    export IMGBATCH PROCS SHARP out
    export -f share
    export FILES_LIST="${FILES[*]}"
    /usr/bin/time -f '%e %U %S' -o "$BENCH_DIR/time" bash -c '
    FILES=($FILES_LIST)
    case "'"$1"'" in
    imgbatch)
        "$IMGBATCH" transform -q --procs "$PROCS" -o "$out" \
            --width 480,960,1920 --format webp,jpeg \
            --quality jpeg=85,webp=80 "${FILES[@]}" ;;
    sharp)
        $SHARP renditions "$out" "$PROCS" "${FILES[@]}" ;;
    vipsthumbnail)
        for w in 480 960 1920; do
            for fmt in "webp[Q=80]" "jpg[Q=85]"; do
                for ((p = 0; p < PROCS; p++)); do
                    vipsthumbnail -s "${w}x1000000>" \
                        -o "$out/%s-${w}w.$fmt" $(share $p) &
                done
                wait
            done
        done ;;
    esac'
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$BENCH_DIR/time"
}

install_tools
install_sharp
mkdir -p "$BENCH_DIR"
build_corpus
mapfile -t FILES < <(ls "$BENCH_DIR"/corpus/*.jpg | head -n "${LIMIT:-100000}")
N=${#FILES[@]}

echo "### Renditions: $N photos to {480, 960, 1920} x {WebP q80, JPEG q85}, $PROCS processes, median of $RUNS interleaved runs"
echo
echo "imgbatch $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(vips --version),"
echo "sharp $(cd "$ROOT/tests/bench/sharp" && node -p "const s=require('sharp').versions; s.sharp + ' (libvips ' + s.vips + ')'")."
echo
TOOLS=(imgbatch sharp vipsthumbnail)
for t in "${TOOLS[@]}"; do : >"$BENCH_DIR/rt-$t"; done
run_tool imgbatch >/dev/null   # warm the page cache
for ((r = 0; r < RUNS; r++)); do
    for t in "${TOOLS[@]}"; do
        run_tool "$t" >>"$BENCH_DIR/rt-$t"
    done
done
wall() { awk '{print $1}' "$BENCH_DIR/rt-$1" | median; }
cpu() { awk '{print $2}' "$BENCH_DIR/rt-$1" | median; }
sharp_s=$(wall sharp)
sharp_c=$(cpu sharp)
echo "| tool | median wall s | inputs/s | vs sharp (wall) | CPU s | vs sharp (CPU) | WebP MB | JPEG MB | PSNR 960 WebP | PSNR 960 JPEG |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for t in "${TOOLS[@]}"; do
    s=$(wall "$t")
    c=$(cpu "$t")
    wb=$(find "$BENCH_DIR/rout-$t" -name '*.webp' -printf '%s\n' | awk '{s+=$1} END {printf "%.2f", s/1e6}')
    jb=$(find "$BENCH_DIR/rout-$t" -name '*.jpg' -printf '%s\n' | awk '{s+=$1} END {printf "%.2f", s/1e6}')
    printf '| %s | %.2f | %.1f | %.2fx | %.2f | %.2fx | %s | %s | %s | %s |\n' "$t" "$s" \
        "$(echo "$N / $s" | bc -l)" "$(echo "$sharp_s / $s" | bc -l)" \
        "$c" "$(echo "$sharp_c / $c" | bc -l)" \
        "$wb" "$jb" "$(mean_psnr "$BENCH_DIR" 960x\> "$BENCH_DIR/rout-$t/%s-960w.webp" "${FILES[@]:0:8}")" \
        "$(mean_psnr "$BENCH_DIR" 960x\> "$BENCH_DIR/rout-$t/%s-960w.jpg" "${FILES[@]:0:8}")"
done
echo
echo "(vs sharp > 1: faster than sharp. PSNR in dB against ImageMagick's Lanczos resize of the same photo.)"
