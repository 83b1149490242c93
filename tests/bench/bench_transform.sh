#!/usr/bin/env bash
# Transform benchmark, run by hand (never by ctest): imgbatch against
# sharp (the first anchor: npm sharp, libvips 8.18, installed into
# tests/bench/sharp by its install.sh), vipsthumbnail, ImageMagick and
# GraphicsMagick on real photographs, on the
# same cores in the same run. Writes a Markdown report to stdout and keeps
# raw timings in $BENCH_DIR.
#
#   tests/bench/bench_transform.sh [IMGBATCH]       (as root: installs tools)
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench), RUNS (default 5),
# PROCS (default 2), NO_INSTALL=1 to skip apt-get.
#
# Corpus: every JPEG in Debian's wallpaper packages (mate-backgrounds,
# plasma-workspace-wallpapers, lomiri-wallpapers; PNGs among them are
# re-encoded as JPEG q92, never rescaled), plus camera-sized 12 and 24 MP
# images made by tiling and cropping those photographs (never rescaling),
# so shrink-on-load meets the sizes it meets in real batches.
#
# Workload "thumbnail": fit inside 1024x1024, JPEG q85, PROCS processes:
#   imgbatch transform --procs P --resize 1024x1024 --format jpeg
#   sharp: tests/bench/sharp/batch.js thumb, P images in flight (fit inside,
#       no enlargement, JPEG q85 4:2:0, EXIF rotation applied)
#   vipsthumbnail -s 1024x1024 -o OUT/%s.jpg[Q=85], P processes over
#       interleaved shares of the list
#   convert/mogrify and gm mogrify -resize 1024x1024 -quality 85 under
#       xargs -P P
# The tools run interleaved (A B C D A B C D ...), RUNS rounds; the median
# of each is reported, as images/s and as ratios to sharp and vipsthumbnail.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMGBATCH=${1:-${IMGBATCH:-$ROOT/build/cmd/imgbatch}}
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench}
RUNS=${RUNS:-5}
PROCS=${PROCS:-2}
[ -x "$IMGBATCH" ] || { echo "no imgbatch at $IMGBATCH (build first)" >&2; exit 2; }
IMGBATCH=$(cd "$(dirname "$IMGBATCH")" && pwd)/$(basename "$IMGBATCH")

. "$ROOT/tests/bench/lib.sh"   # install_tools, install_sharp, build_corpus

# run_tool NAME: one timed run of tool NAME over $LIST into a fresh folder
run_tool() {
    local out=$BENCH_DIR/out-$1
    rm -rf "$out"
    mkdir -p "$out"
    local t0 t1
    t0=$(now)
    case "$1" in
    imgbatch)
        "$IMGBATCH" transform -q --procs "$PROCS" -o "$out" \
            --resize 1024x1024 --format jpeg --quality 85 "${FILES[@]}" ;;
    sharp)
        $SHARP thumb "$out" "$PROCS" "${FILES[@]}" ;;
    vipsthumbnail)
        for ((p = 0; p < PROCS; p++)); do
            vipsthumbnail -s 1024x1024 -o "$out/%s.jpg[Q=85]" \
                $(share $p) &
        done
        wait ;;
    imagemagick)
        printf '%s\n' "${FILES[@]}" | xargs -P "$PROCS" -n 4 \
            mogrify -path "$out" -resize 1024x1024 -quality 85 -format jpg ;;
    graphicsmagick)
        # gm appends the input's path to -output-directory: relative names
        (cd "$BENCH_DIR/corpus" && printf '%s\n' "${FILES[@]##*/}" |
            xargs -P "$PROCS" -n 4 gm mogrify -output-directory "$out" \
                -resize 1024x1024 -quality 85 -format jpg) ;;
    esac
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

# share P: every PROCS-th file from P, so the processes get similar mixes
share() { local i; for ((i = $1; i < ${#FILES[@]}; i += PROCS)); do echo "${FILES[$i]}"; done; }

# op_run TOOL ARGS: imgbatch op vs a vips command per file under xargs
op_time() {
    local out=$BENCH_DIR/out-op
    rm -rf "$out"
    mkdir -p "$out"
    local t0 t1
    t0=$(now)
    if [ "$1" = imgbatch ]; then
        shift
        "$IMGBATCH" transform -q --procs "$PROCS" -o "$out" --format jpeg \
            --quality 85 "$@" "${OPFILES[@]}"
    elif [ "$1" = sharp ]; then
        $SHARP "$2" "$out" "$PROCS" "${OPFILES[@]}"
    else
        shift
        printf '%s\n' "${OPFILES[@]}" | xargs -P "$PROCS" -I{} sh -c \
            "vips $1 \"\$0\" \"$out/\$(basename \"\$0\")[Q=85]\" $2" {}
    fi
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

install_tools
install_sharp
mkdir -p "$BENCH_DIR"
build_corpus
mapfile -t FILES < <(ls "$BENCH_DIR"/corpus/*.jpg)
N=${#FILES[@]}
MP=$(for f in "${FILES[@]}"; do identify -format '%w %h\n' "$f"; done |
     awk '{s+=$1*$2} END {printf "%.0f", s/1e6}')

echo "## Transform operations: benchmark of $(date -u +%F)"
echo
echo "Machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2}'), $(nproc) cores online, $(free -g | awk '/Mem:/ {print $2}') GiB;"
echo "$(uname -sr); imgbatch $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'),"
echo "$(vips --version), $(convert -version | head -1 | cut -d' ' -f2-3),"
echo "GraphicsMagick $(gm version | head -1 | awk '{print $2}'),"
echo "sharp $(cd "$ROOT/tests/bench/sharp" && node -p "const s=require('sharp').versions; s.sharp + ' (libvips ' + s.vips + ')'")."
echo
echo "Corpus: $N JPEGs, $MP MP in all ($(du -sh "$BENCH_DIR/corpus" | cut -f1))."
echo
echo "### Thumbnail: fit in 1024x1024, JPEG q85, $PROCS processes, median of $RUNS interleaved runs"
echo
TOOLS=(imgbatch sharp vipsthumbnail imagemagick graphicsmagick)
command -v gm >/dev/null || TOOLS=(imgbatch sharp vipsthumbnail imagemagick)
for t in "${TOOLS[@]}"; do : >"$BENCH_DIR/t-$t"; done
run_tool imgbatch >/dev/null      # warm the page cache
for ((r = 0; r < RUNS; r++)); do
    for t in "${TOOLS[@]}"; do
        run_tool "$t" >>"$BENCH_DIR/t-$t"
    done
done
vips_s=$(median <"$BENCH_DIR/t-vipsthumbnail")
sharp_s=$(median <"$BENCH_DIR/t-sharp")
echo "| tool | median s | images/s | vs sharp | vs vipsthumbnail |"
echo "|---|---:|---:|---:|---:|"
for t in "${TOOLS[@]}"; do
    s=$(median <"$BENCH_DIR/t-$t")
    printf '| %s | %.2f | %.1f | %.2fx | %.2fx |\n' "$t" "$s" \
        "$(echo "$N / $s" | bc -l)" "$(echo "$sharp_s / $s" | bc -l)" \
        "$(echo "$vips_s / $s" | bc -l)"
done
echo
echo "(ratio > 1: faster than sharp / vipsthumbnail.)"
echo

# Each op alone on the camera-sized images, against the nearest vips op.
mapfile -t OPFILES < <(ls "$BENCH_DIR"/corpus/cam*.jpg)
echo "### Each op alone: ${#OPFILES[@]} camera-sized images (12 and 24 MP), $PROCS processes, median of 3"
echo
echo "| op | imgbatch s | sharp s | sharp / imgbatch | vips s | vips command | vips / imgbatch |"
echo "|---|---:|---:|---:|---:|---|---:|"
while IFS='|' read -r label ours sop vop vargs; do
    : >"$BENCH_DIR/o-a"
    : >"$BENCH_DIR/o-b"
    : >"$BENCH_DIR/o-s"
    for r in 1 2 3; do
        # shellcheck disable=SC2086
        op_time imgbatch $ours >>"$BENCH_DIR/o-a"
        [ "$sop" = - ] || op_time sharp "$sop" >>"$BENCH_DIR/o-s"
        op_time vips "$vop" "$vargs" >>"$BENCH_DIR/o-b"
    done
    a=$(median <"$BENCH_DIR/o-a")
    b=$(median <"$BENCH_DIR/o-b")
    if [ "$sop" = - ]; then
        sh_s=-; sh_r=-
    else
        sh_s=$(printf %.2f "$(median <"$BENCH_DIR/o-s")")
        sh_r=$(printf %.2fx "$(echo "$sh_s / $a" | bc -l)")
    fi
    printf '| %s | %.2f | %s | %s | %.2f | `vips %s IN OUT %s` | %.2fx |\n' \
        "$label" "$a" "$sh_s" "$sh_r" "$b" "$vop" "$vargs" \
        "$(echo "$b / $a" | bc -l)"
done <<'OPS'
blur 2|--blur 2|blur2|gaussblur|2
blur 3|--blur 3|blur3|gaussblur|3
blur 20|--blur 20|blur20|gaussblur|20
sharpen 2|--sharpen 2|-|sharpen|--sigma 2
rotate 90|--rotate 90|-|rot|d90
grayscale|--grayscale|-|colourspace|b-w
OPS
echo
echo "(vips sharpen works on L* in LAB with a different mask; it is the"
echo "nearest op, not the same one. All outputs are JPEG q85.)"
echo

# Peak memory of one worker: the serial engine runs in-process.
big=$(ls -S "$BENCH_DIR"/corpus/cam*6000x4000*.jpg | head -1)
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
echo "### Peak RSS, one 24 MP JPEG ($(identify -format '%wx%h' "$big"); decoded RGB $((6000 * 4000 * 3 / 1048576)) MiB)"
echo
echo "| command | peak RSS MiB |"
echo "|---|---:|"
for ops in "--resize 1024x1024" "--resize 1024x1024 --no-shrink-on-load" \
           "--blur 2" "--blur 20" "--sharpen 2" "--rotate 90"; do
    rm -rf "$BENCH_DIR/out-rss"
    # shellcheck disable=SC2086
    k=$(rss "$IMGBATCH" transform -q --engine serial -o "$BENCH_DIR/out-rss" \
        $ops --format jpeg "$big")
    printf '| imgbatch %s | %d |\n' "$ops" $((k / 1024))
done
rm -rf "$BENCH_DIR/out-rss"
mkdir -p "$BENCH_DIR/out-rss"
k=$(rss vipsthumbnail -s 1024x1024 -o "$BENCH_DIR/out-rss/%s.jpg[Q=85]" "$big")
printf '| vipsthumbnail -s 1024x1024 | %d |\n' $((k / 1024))
k=$(rss vips gaussblur "$big" "$BENCH_DIR/out-rss/b.jpg" 20)
printf '| vips gaussblur 20 | %d |\n' $((k / 1024))
k=$(rss $SHARP thumb "$BENCH_DIR/out-rss" 1 "$big")
printf '| sharp thumb (1 in flight) | %d |\n' $((k / 1024))
k=$(rss $SHARP blur20 "$BENCH_DIR/out-rss" 1 "$big")
printf '| sharp blur 20 (1 in flight) | %d |\n' $((k / 1024))
