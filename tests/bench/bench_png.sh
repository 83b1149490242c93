#!/usr/bin/env bash
# PNG benchmark, run by hand (never by ctest): PNG in, fit 1024x1024, PNG
# level 6 out, imgbatch against sharp (the first anchor; installed into
# tests/bench/sharp by its install.sh) and vipsthumbnail, on the same cores
# in the same run. Writes a Markdown report to stdout and keeps raw timings
# and outputs in $BENCH_DIR.
#
#   tests/bench/bench_png.sh [IMGBATCH]             (as root: installs tools)
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench-png), RUNS (default 5),
# PROCS (default 2), NO_INSTALL=1 to skip apt-get and npm, BASE=path of a
# second imgbatch binary (say, a build of the previous commit) measured in
# the same interleaved rounds, whose outputs are also compared pixel for
# pixel with the first's. VIPS=0 leaves vipsthumbnail out.
#
# Corpus: 29 PNGs of 2-10 MP made from the pictures of Debian's wallpaper
# packages (the largest file of each picture, as tests/bench/
# bench_transform.sh picks them): of those of 2 MP or more, sorted by area,
# 29 evenly spaced ranks; PNGs are copied, JPEGs converted to PNG at their
# size, and pictures over 10 MP centre-cropped to 10 MP (never rescaled).
# ICC profiles, alpha and grey+alpha come with the files that have them.
#
# Workload: fit inside 1024x1024, PNG level 6 with adaptive filtering,
# PROCS processes:
#   imgbatch transform --procs P --resize 1024x1024 --format png
#   sharp: batch.js thumbpng, P images in flight (compressionLevel 6,
#       adaptiveFiltering)
#   vipsthumbnail -s 1024x1024 -o OUT/%s.png[compression=6,filter=all],
#       P processes over interleaved shares of the list
# The tools run interleaved (A B C A B C ...), RUNS rounds; the median of
# each is reported with its total output bytes, its median CPU time (user
# + system of the tool and its children, which a busy machine disturbs
# less than wall time) and its largest peak RSS (of one process: a
# worker, or sharp's one process).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMGBATCH=${1:-${IMGBATCH:-$ROOT/build/cmd/imgbatch}}
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench-png}
RUNS=${RUNS:-5}
PROCS=${PROCS:-2}
BASE=${BASE:-}
[ -x "$IMGBATCH" ] || { echo "no imgbatch at $IMGBATCH (build first)" >&2; exit 2; }
abspath() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
IMGBATCH=$(abspath "$IMGBATCH")
[ -z "$BASE" ] || BASE=$(abspath "$BASE")

install_tools() {
    [ "${NO_INSTALL:-}" = 1 ] && return
    local want=(libvips-tools imagemagick mate-backgrounds
                plasma-workspace-wallpapers lomiri-wallpapers nodejs npm)
    local missing=()
    for p in "${want[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    command -v npm >/dev/null || true
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        # a package this release lacks (or node from elsewhere) is left out
        local avail=()
        for p in "${missing[@]}"; do
            case "$p" in nodejs|npm) command -v "$p" >/dev/null && continue ;; esac
            apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]' &&
                avail+=("$p")
        done
        [ ${#avail[@]} -eq 0 ] ||
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                "${avail[@]}" >/dev/null
    fi
    bash "$ROOT/tests/bench/sharp/install.sh" >/dev/null
}
SHARP="node $ROOT/tests/bench/sharp/batch.js"

# the largest file of each wallpaper picture, "AREA PATH" lines by area
pictures() {
    # a folder this release lacks is not an error
    { find /usr/share/backgrounds /usr/share/wallpapers /usr/share/lomiri* \
         -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) \
         -size +300k 2>/dev/null || true; } |
    while IFS= read -r f; do
        # plasma ships one picture in several sizes per folder
        # (NAME/contents/images/WxH.jpg): keep the biggest
        k=$f
        case "$f" in */contents/images*/*) k=$(dirname "$f") ;; esac
        echo "$(stat -c %s "$f") $k $f"
    done | sort -k2,2 -k1,1nr | awk '!seen[$2]++ {print $3}' |
    while IFS= read -r f; do
        vipsheader -f width "$f" >/dev/null 2>&1 || continue
        echo "$(($(vipsheader -f width "$f" 2>/dev/null) * $(vipsheader -f height "$f" 2>/dev/null))) $f"
    done | sort -n -k1,1 -k2,2
}

build_corpus() {
    local c=$BENCH_DIR/corpus
    [ -f "$c/.done" ] && return
    rm -rf "$c"
    mkdir -p "$c"
    local list=$BENCH_DIR/pictures
    pictures | awk '$1 >= 2000000' >"$list"
    local n i k=0
    n=$(wc -l <"$list")
    [ "$n" -ge 29 ] || { echo "only $n pictures of 2 MP or more" >&2; exit 2; }
    for ((i = 0; i < 29; i++)); do
        local line area f w h out
        line=$(sed -n "$((1 + i * (n - 1) / 28))p" "$list")
        area=${line%% *}
        f=${line#* }
        k=$((k + 1))
        out=$c/p$(printf %02d $k).png
        w=$(vipsheader -f width "$f")
        h=$(vipsheader -f height "$f")
        if [ "$area" -gt 10000000 ]; then
            # centre crop to 10 MP keeping the aspect ratio
            local cw ch
            cw=$(awk -v w="$w" -v h="$h" 'BEGIN {printf "%d", w * sqrt(1e7 / (w * h))}')
            ch=$(awk -v w="$w" -v h="$h" 'BEGIN {printf "%d", h * sqrt(1e7 / (w * h))}')
            vips crop "$f" "$out" $(((w - cw) / 2)) $(((h - ch) / 2)) "$cw" "$ch"
        elif [ "${f##*.}" = png ]; then
            cp "$f" "$out"
        else
            vips copy "$f" "$out"
        fi
    done
    touch "$c/.done"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# share P: every PROCS-th file from P, so the processes get similar mixes
share() { local i; for ((i = $1; i < ${#FILES[@]}; i += PROCS)); do echo "${FILES[$i]}"; done; }

# run_tool NAME: one timed run of tool NAME over FILES into out-NAME;
# prints "wall cpu rss_kb"
run_tool() {
    local out=$BENCH_DIR/out-$1
    rm -rf "$out"
    mkdir -p "$out"
    /usr/bin/time -f '%e %U %S %M' -o "$BENCH_DIR/time.txt" \
        bash -c "$(declare -f run_cmd share); $(declare -p FILES); \
                 IMGBATCH=$(printf %q "$IMGBATCH") BASE=$(printf %q "$BASE") \
                 PROCS=$PROCS SHARP=$(printf %q "$SHARP") \
                 run_cmd $1 $(printf %q "$out")"
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$BENCH_DIR/time.txt"
}

# run_cmd NAME OUT: tool NAME over FILES into OUT
run_cmd() {
    local out=$2
    case "$1" in
    imgbatch|base)
        local bin=$IMGBATCH
        [ "$1" = base ] && bin=$BASE
        "$bin" transform -q --procs "$PROCS" -o "$out" \
            --resize 1024x1024 --format png "${FILES[@]}" ;;
    sharp)
        $SHARP thumbpng "$out" "$PROCS" "${FILES[@]}" ;;
    vipsthumbnail)
        for ((p = 0; p < PROCS; p++)); do
            vipsthumbnail -s 1024x1024 \
                -o "$out/%s.png[compression=6,filter=all]" $(share $p) &
        done
        wait ;;
    esac
}

bytes() { du -cb "$BENCH_DIR/out-$1"/*.png | tail -1 | cut -f1; }

install_tools
mkdir -p "$BENCH_DIR"
build_corpus
mapfile -t FILES < <(ls "$BENCH_DIR"/corpus/*.png)
N=${#FILES[@]}
MP=$(for f in "${FILES[@]}"; do vipsheader -f width "$f"; vipsheader -f height "$f"; done |
     paste - - | awk '{s+=$1*$2} END {printf "%.0f", s/1e6}')

echo "## PNG: benchmark of $(date -u +%F)"
echo
echo "Machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2}'), $(nproc) cores online;"
echo "$(uname -sr); imgbatch $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'),"
echo "$(vips --version),"
echo "sharp $(cd "$ROOT/tests/bench/sharp" && node -p "const s=require('sharp').versions; s.sharp + ' (libvips ' + s.vips + ')'")."
echo
echo "Corpus: $N PNGs, $MP MP in all ($(du -sh "$BENCH_DIR/corpus" | cut -f1))."
echo
echo "### PNG thumbnail: fit in 1024x1024, PNG level 6, $PROCS processes, median of $RUNS interleaved runs"
echo
TOOLS=(imgbatch sharp)
[ -z "$BASE" ] || TOOLS=(base imgbatch sharp)
[ "${VIPS:-1}" = 0 ] || TOOLS+=(vipsthumbnail)
for t in "${TOOLS[@]}"; do : >"$BENCH_DIR/t-$t"; done
run_tool imgbatch >/dev/null      # warm the page cache
for ((r = 0; r < RUNS; r++)); do
    for t in "${TOOLS[@]}"; do
        run_tool "$t" >>"$BENCH_DIR/t-$t"
    done
done
col() { awk -v c="$1" '{print $c}' "$BENCH_DIR/t-$2"; }
sharp_s=$(col 1 sharp | median)
sharp_c=$(col 2 sharp | median)
sharp_b=$(bytes sharp)
echo "| tool | median wall s | vs sharp (wall) | median CPU s | vs sharp (CPU) | peak RSS MiB | output bytes | bytes vs sharp |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for t in "${TOOLS[@]}"; do
    s=$(col 1 "$t" | median)
    c=$(col 2 "$t" | median)
    m=$(col 3 "$t" | sort -n | tail -1)
    b=$(bytes "$t")
    name=$t
    [ "$t" = base ] && name="imgbatch (BASE)"
    printf '| %s | %.2f | %.2fx | %.2f | %.2fx | %.0f | %d | %+.1f%% |\n' \
        "$name" "$s" "$(echo "$sharp_s / $s" | bc -l)" "$c" \
        "$(echo "$sharp_c / $c" | bc -l)" "$(echo "$m / 1024" | bc -l)" \
        "$b" "$(echo "($b - $sharp_b) * 100 / $sharp_b" | bc -l)"
done
echo
echo "(vs sharp > 1: faster than sharp. CPU: user + system of every process"
echo "of a run. Raw runs, \"wall cpu rss_kb\", in $BENCH_DIR/t-*.)"
if [ -n "$BASE" ]; then
    # PNG is lossless: both builds must give the same pixels
    diff=0
    for f in "$BENCH_DIR"/out-base/*.png; do
        ae=$(compare -metric AE "$f" "$BENCH_DIR/out-imgbatch/${f##*/}" \
             null: 2>&1 || true)
        [ "$ae" = 0 ] || { diff=$((diff + 1)); echo "differs: ${f##*/} ($ae)" >&2; }
    done
    echo
    echo "Pixels of BASE and imgbatch outputs: $((N - diff)) of $N identical" \
         "(compare -metric AE = 0)."
fi
