#!/usr/bin/env bash
# Blur and sharpen benchmark, run by hand (never by ctest): imgbatch (and
# optionally a BASE build, say of the previous commit) against sharp (the
# first anchor; tests/bench/sharp/install.sh), vips and ImageMagick on
# camera-sized JPEGs, on the same cores in the same run. Markdown to stdout.
#
#   tests/bench/bench_blur.sh [IMGBATCH]
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench-blur), RUNS (default
# 5), PROCS (default 2), BASE=path of a second imgbatch binary, IM=0 to
# leave ImageMagick out (it takes minutes per round at sigma 20).
#
# Corpus: 2 x 12 MP (4000x3000) and 2 x 24 MP (6000x4000) JPEGs made by
# tiling and cropping the largest wallpaper JPEGs (never rescaling), as
# tests/bench/bench_transform.sh makes its camera-sized images.
#
# Per op, all images, PROCS at a time, JPEG q85 out:
#   imgbatch transform --procs P --format jpeg --quality 85 --blur S
#   sharp: batch.js blurS, P images in flight
#   vips gaussblur IN OUT[Q=85] S, and convert IN -blur 0xS -quality 85
#       OUT (-unsharp 0x2+1+0 for sharpen), under xargs -P P
# Tools interleaved (A B C D A B C D ...), RUNS rounds, medians.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMGBATCH=${1:-${IMGBATCH:-$ROOT/build/cmd/imgbatch}}
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench-blur}
RUNS=${RUNS:-5}
PROCS=${PROCS:-2}
BASE=${BASE:-}
SHARP="node $ROOT/tests/bench/sharp/batch.js"
[ -x "$IMGBATCH" ] || { echo "no imgbatch at $IMGBATCH" >&2; exit 2; }
bash "$ROOT/tests/bench/sharp/install.sh" >/dev/null

mkdir -p "$BENCH_DIR/corpus"
if [ ! -f "$BENCH_DIR/corpus/.done" ]; then
    mapfile -t big < <(find /usr/share/wallpapers /usr/share/backgrounds \
        -iname '*.jpg' -size +1M 2>/dev/null | xargs ls -S | head -4)
    [ ${#big[@]} -ge 4 ] || { echo "need 4 wallpaper JPEGs" >&2; exit 2; }
    for i in 0 1 2 3; do
        if [ $i -lt 2 ]; then w=4000 h=3000; else w=6000 h=4000; fi
        vips replicate "${big[$i]}" "$BENCH_DIR/rep.v" 3 3
        vips crop "$BENCH_DIR/rep.v" "$BENCH_DIR/corpus/cam$i-${w}x$h.jpg[Q=92]" \
            0 0 $w $h
        rm -f "$BENCH_DIR/rep.v"
    done
    touch "$BENCH_DIR/corpus/.done"
fi
mapfile -t FILES < <(ls "$BENCH_DIR"/corpus/*.jpg)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

# one_run TOOL OP SIGMA: seconds for all FILES
one_run() {
    local out=$BENCH_DIR/out t0 t1 bin
    rm -rf "$out"
    mkdir -p "$out"
    t0=$(now)
    case "$1" in
    imgbatch|base)
        bin=$IMGBATCH
        [ "$1" = base ] && bin=$BASE
        "$bin" transform -q --procs "$PROCS" -o "$out" --format jpeg \
            --quality 85 "--$2" "$3" "${FILES[@]}" ;;
    sharp)
        $SHARP "blur$3" "$out" "$PROCS" "${FILES[@]}" ;;
    vips)
        printf '%s\n' "${FILES[@]}" | xargs -P "$PROCS" -I{} sh -c \
            "vips gaussblur \"\$0\" \"$out/\$(basename \"\$0\")[Q=85]\" $3" {} ;;
    imagemagick)
        local f=-blur
        [ "$2" = sharpen ] && f=-unsharp
        local a=0x$3
        [ "$2" = sharpen ] && a=0x$3+1+0
        printf '%s\n' "${FILES[@]}" | xargs -P "$PROCS" -I{} sh -c \
            "convert \"\$0\" $f $a -quality 85 \"$out/\$(basename \"\$0\")\"" {} ;;
    esac
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

echo "## Blur and sharpen: benchmark of $(date -u +%F)"
echo
echo "$(nproc) cores online; imgbatch $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'),"
echo "$(vips --version), $(convert -version | head -1 | cut -d' ' -f2-3),"
echo "sharp $(cd "$ROOT/tests/bench/sharp" && node -p "const s=require('sharp').versions; s.sharp + ' (libvips ' + s.vips + ')'")."
echo "Corpus: ${#FILES[@]} JPEGs, 2 x 12 MP and 2 x 24 MP; $PROCS at a time; median of $RUNS interleaved runs."
echo
TOOLS=(imgbatch sharp vips imagemagick)
[ "${IM:-1}" = 1 ] || TOOLS=(imgbatch sharp vips)
[ -z "$BASE" ] || TOOLS=(base "${TOOLS[@]}")
printf '| op |'
for t in "${TOOLS[@]}"; do printf ' %s s |' "$t"; done
printf ' imgbatch vs sharp |'
[ -z "$BASE" ] || printf ' BASE vs sharp |'
printf ' imgbatch vs vips | imgbatch vs ImageMagick |\n|---|'
for t in "${TOOLS[@]}"; do printf -- '---:|'; done
printf -- '---:|---:|---:|'
[ -z "$BASE" ] || printf -- '---:|'
echo
for spec in "blur 2" "blur 3" "blur 20" "sharpen 2"; do
    read -r op s <<<"$spec"
    for t in "${TOOLS[@]}"; do : >"$BENCH_DIR/t-$t"; done
    for ((r = 0; r < RUNS; r++)); do
        for t in "${TOOLS[@]}"; do
            # sharp's batch.js has no unsharp mask; vips sharpen is not one
            if [ "$op" = sharpen ] && { [ "$t" = sharp ] || [ "$t" = vips ]; }; then
                continue
            fi
            one_run "$t" "$op" "$s" >>"$BENCH_DIR/t-$t"
        done
    done
    declare -A m=()
    for t in "${TOOLS[@]}"; do
        m[$t]=$(median <"$BENCH_DIR/t-$t")
    done
    ratio() { [ -n "${m[$1]}" ] && [ -n "${m[$2]}" ] &&
        printf '%.2fx' "$(echo "${m[$1]} / ${m[$2]}" | bc -l)" || printf -- -; }
    printf '| %s |' "$spec"
    for t in "${TOOLS[@]}"; do
        [ -n "${m[$t]}" ] && printf ' %.2f |' "${m[$t]}" || printf ' - |'
    done
    printf ' %s |' "$(ratio sharp imgbatch)"
    [ -z "$BASE" ] || printf ' %s |' "$(ratio sharp base)"
    printf ' %s | %s |\n' "$(ratio vips imgbatch)" "$(ratio imagemagick imgbatch)"
    unset m
done
echo
echo "(X vs Y = Y's time / X's time: above 1, X is faster.)"
echo

big=$(ls "$BENCH_DIR"/corpus/*6000x4000*.jpg | head -1)
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
echo "### Peak RSS, one 24 MP JPEG (decoded RGB 69 MiB)"
echo
echo "| command | peak RSS MiB |"
echo "|---|---:|"
for spec in "--blur 2" "--blur 20" "--sharpen 2"; do
    for t in "${TOOLS[@]}"; do
        case $t in base) bin=$BASE ;; imgbatch) bin=$IMGBATCH ;; *) continue ;; esac
        rm -rf "$BENCH_DIR/out-rss"
        # shellcheck disable=SC2086
        k=$(rss "$bin" transform -q --engine serial -o "$BENCH_DIR/out-rss" \
            --format jpeg $spec "$big")
        printf '| %s %s | %d |\n' "$t" "$spec" $((k / 1024))
    done
done
mkdir -p "$BENCH_DIR/out-rss"
for s in 2 20; do
    k=$(rss vips gaussblur "$big" "$BENCH_DIR/out-rss/b.jpg[Q=85]" $s)
    printf '| vips gaussblur %s | %d |\n' $s $((k / 1024))
    k=$(rss $SHARP blur$s "$BENCH_DIR/out-rss" 1 "$big")
    printf '| sharp blur%s (1 in flight) | %d |\n' $s $((k / 1024))
done
