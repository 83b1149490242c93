#!/usr/bin/env bash
# AVIF-only benchmark, run by hand (never by ctest): LIMIT photos of the
# real-photo corpus (tests/bench/lib.sh) to AVIF fitted in 1024x1024,
# quality 50, 8 bits, 4:2:0, metadata stripped:
#   imgbatch transform --procs P --keep none --resize 1024x1024
#       --format avif --quality avif=50      (libavif + libaom, speed 9)
#   sharp, P images in flight (libvips threads as sharp sets them), at
#       avif({quality: 50, effort: 0, chromaSubsampling: '4:2:0',
#       tune: 'psnr'}): libvips hands libheif's aom encoder "speed" =
#       9 - effort, so effort 0 is aom cpu-used 9, imgbatch's speed; libaom's
#       own default tune is PSNR, which libavif keeps
#   sharp at its default effort 4 (cpu-used 5), otherwise the same
#   sharp's avif() defaults: effort 4, 4:4:4, tune auto
# Interleaved runs, medians of wall and CPU (user + system of every
# process of a run: the shared machine's other load disturbs it less);
# output bytes, and the mean PSNR of the decoded AVIFs (vips, libheif)
# against ImageMagick's Lanczos resize of the same photos. Markdown out.
#
#   tests/bench/bench_avif_sharp.sh [IMGBATCH]
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench; the corpus is
# BENCH_DIR/corpus, the work files BENCH_DIR/avif-sharp), RUNS (default 5),
# PROCS (default 2), LIMIT (default 12: every (N/LIMIT)th photo in name
# order, so camera sizes and wallpapers both come in), NO_INSTALL=1 to
# skip apt-get and npm.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMGBATCH=${1:-${IMGBATCH:-$ROOT/build/cmd/imgbatch}}
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench}
RUNS=${RUNS:-5}
PROCS=${PROCS:-2}
LIMIT=${LIMIT:-12}
[ -x "$IMGBATCH" ] || { echo "no imgbatch at $IMGBATCH (build first)" >&2; exit 2; }
IMGBATCH=$(cd "$(dirname "$IMGBATCH")" && pwd)/$(basename "$IMGBATCH")
. "$ROOT/tests/bench/lib.sh"
W=$BENCH_DIR/avif-sharp

# tool name -> sharp's op (tests/bench/sharp/batch.js), "" for imgbatch
declare -A OP=(
    [imgbatch]=""
    [sharp-e0]="avif:50:0:420:psnr"
    [sharp-e4]="avif:50:4:420:psnr"
    [sharp-default]="avif:50:4:444:auto"
)
declare -A WHAT=(
    [imgbatch]="libaom speed 9, q50, 4:2:0"
    [sharp-e0]="effort 0 (cpu-used 9), q50, 4:2:0, tune psnr"
    [sharp-e4]="effort 4 (cpu-used 5), q50, 4:2:0, tune psnr"
    [sharp-default]="avif() defaults: effort 4, q50, 4:4:4, tune auto"
)
TOOLS=(imgbatch sharp-e0 sharp-e4 sharp-default)

# run_tool NAME: one run into a fresh folder; prints "wall_s cpu_s"
run_tool() {
    local out=$W/out-$1
    rm -rf "$out"
    mkdir -p "$out"
    if [ "$1" = imgbatch ]; then
        /usr/bin/time -f '%e %U %S' -o "$W/time" "$IMGBATCH" transform -q \
            --procs "$PROCS" --keep none --resize 1024x1024 --format avif \
            --quality avif=50 -o "$out" "${FILES[@]}"
    else
        /usr/bin/time -f '%e %U %S' -o "$W/time" $SHARP "${OP[$1]}" "$out" \
            "$PROCS" "${FILES[@]}"
    fi
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$W/time"
}

install_tools
install_sharp
mkdir -p "$W"
build_corpus
mapfile -t ALL < <(ls "$BENCH_DIR"/corpus/*.jpg)
step=$(( ${#ALL[@]} / LIMIT ))
[ "$step" -ge 1 ] || step=1
FILES=()
for ((i = 0; i < ${#ALL[@]} && ${#FILES[@]} < LIMIT; i += step)); do
    FILES+=("${ALL[$i]}")
done
N=${#FILES[@]}
MP=$(for f in "${FILES[@]}"; do identify -format '%w %h\n' "$f"; done |
     awk '{s += $1 * $2} END {printf "%.0f", s / 1e6}')

echo "### AVIF: $N photos ($MP MP) to AVIF fitted in 1024x1024, $PROCS in parallel, median of $RUNS interleaved runs"
echo
echo "imgbatch $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
     "(libavif $(dpkg-query -W -f '${Version}' libavif15 2>/dev/null || echo '?')," \
     "libaom $(dpkg-query -W -f '${Version}' libaom3 2>/dev/null || echo '?')),"
echo "sharp $(cd "$ROOT/tests/bench/sharp" && node -p "const s=require('sharp'); s.versions.sharp + ' (libvips ' + s.versions.vips + ', libheif ' + s.versions.heif + ', libaom ' + s.versions.aom + '; concurrency ' + s.concurrency() + ')'")."
echo "Photos: $(for f in "${FILES[@]}"; do basename "$f" .jpg; done | paste -sd' ')."
echo
for t in "${TOOLS[@]}"; do : >"$W/rt-$t"; done
run_tool imgbatch >/dev/null   # warm the page cache
for ((r = 0; r < RUNS; r++)); do
    for t in "${TOOLS[@]}"; do
        run_tool "$t" >>"$W/rt-$t"
    done
done
wall() { awk '{print $1}' "$W/rt-$1" | median; }
cpu() { awk '{print $2}' "$W/rt-$1" | median; }
ref_s=$(wall sharp-e0)
ref_c=$(cpu sharp-e0)
echo "| tool | settings | median wall s | images/s | vs sharp e0 (wall) | CPU s | vs sharp e0 (CPU) | output KB | PSNR dB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for t in "${TOOLS[@]}"; do
    s=$(wall "$t")
    c=$(cpu "$t")
    kb=$(find "$W/out-$t" -name '*.avif' -printf '%s\n' |
         awk '{s += $1} END {printf "%.0f", s / 1e3}')
    printf '| %s | %s | %.2f | %.2f | %.2fx | %.2f | %.2fx | %s | %s |\n' \
        "$t" "${WHAT[$t]}" "$s" "$(echo "$N / $s" | bc -l)" \
        "$(echo "$ref_s / $s" | bc -l)" "$c" "$(echo "$ref_c / $c" | bc -l)" \
        "$kb" "$(mean_psnr "$W" '1024x1024>' "$W/out-$t/%s.avif" "${FILES[@]}")"
done
echo
echo "(vs sharp e0 > 1: faster than sharp at matched speed. PSNR: mean over the photos, in dB, of the AVIF decoded by vips against ImageMagick's Lanczos resize.)"
