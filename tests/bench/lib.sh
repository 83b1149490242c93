# Shared by the transform benchmarks (sourced; ROOT and BENCH_DIR set):
# the tools' installation, the corpus of real photographs (see
# bench_transform.sh for what it holds), and small helpers.
# shellcheck shell=bash

install_tools() {
    [ "${NO_INSTALL:-}" = 1 ] && return
    local want=(libvips-tools imagemagick graphicsmagick hyperfine gnuplot
                mate-backgrounds plasma-workspace-wallpapers lomiri-wallpapers)
    local missing=()
    for p in "${want[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    apt-get update -qq
    # a package this release lacks is left out, not fatal
    local avail=()
    for p in "${missing[@]}"; do
        apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]' &&
            avail+=("$p")
    done
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${avail[@]}" \
        >/dev/null
}

install_sharp() {
    [ "${NO_INSTALL:-}" = 1 ] && return
    command -v npm >/dev/null || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    }
    bash "$ROOT/tests/bench/sharp/install.sh" >/dev/null
}
SHARP="node $ROOT/tests/bench/sharp/batch.js"

build_corpus() {
    local c=$BENCH_DIR/corpus
    [ -f "$c/.done" ] && return
    rm -rf "$c"
    mkdir -p "$c"
    local i=0
    # the largest file of each wallpaper (packages ship several sizes of
    # one picture), at least 1 MP
    while IFS= read -r f; do
        local wh
        wh=$(identify -format '%w %h' "$f[0]" 2>/dev/null) || continue
        set -- $wh
        [ $(($1 * $2)) -ge 1000000 ] || continue
        i=$((i + 1))
        case "$f" in
        *.jpg|*.jpeg|*.JPG) cp "$f" "$c/w$(printf %03d $i).jpg" ;;
        *) convert "$f[0]" -quality 92 "$c/w$(printf %03d $i).jpg" ;;
        esac
    done < <(find /usr/share/backgrounds /usr/share/wallpapers \
                  /usr/share/lomiri* -type f \
                  \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) \
                  -size +300k 2>/dev/null |
             while IFS= read -r f; do
                 # plasma ships one picture in several sizes per folder
                 # (NAME/contents/images/WxH.jpg): keep the biggest
                 k=$f
                 case "$f" in */contents/images*/*) k=$(dirname "$f") ;; esac
                 echo "$(stat -c %s "$f") $k $f"
             done | sort -k2,2 -k1,1nr | awk '!seen[$2]++ {print $3}')
    # camera sizes: 2x2 tiles of the centre of a photograph (the right two
    # mirrored, so no seam jumps), 4000x3000 (12 MP) and 6000x4000 (24 MP).
    # vips, not ImageMagick: Debian's ImageMagick policy caps the area.
    local k=0 t=$BENCH_DIR/tile
    for f in $(ls -S "$c"/w*.jpg); do
        local W=4000 H=3000
        [ $((k % 2)) = 1 ] && W=6000 H=4000
        local hw=$((W / 2)) hh=$((H / 2)) sw sh
        sw=$(vipsheader -f width "$f")
        sh=$(vipsheader -f height "$f")
        [ "$sw" -ge $hw ] && [ "$sh" -ge $hh ] || continue
        k=$((k + 1))
        vips crop "$f" "$t-a.v" $(((sw - hw) / 2)) $(((sh - hh) / 2)) $hw $hh
        vips flip "$t-a.v" "$t-b.v" horizontal
        vips arrayjoin "$t-a.v $t-b.v $t-a.v $t-b.v" \
            "$c/cam$k-${W}x$H.jpg[Q=92]" --across 2
        rm -f "$t"-?.v
        [ $k = 6 ] && break
    done
    touch "$c/.done"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }


# mean_psnr WORK GEOM PATTERN FILE...: the mean PSNR in dB (2 decimals),
# over the FILEs, of each one's output against ImageMagick's Lanczos
# resize of it to GEOM (say '1024x1024>'; cached in WORK/ref-*.png).
# PATTERN is the output's path with %s for the source's name without
# .jpg; vips decodes it (JPEG, PNG, WebP, AVIF alike).
mean_psnr() {
    local work=$1 geom=$2 pat=$3 sum=0 n=0 f b ref p
    shift 3
    for f in "$@"; do
        b=$(basename "$f" .jpg)
        ref=$work/ref-$(printf '%s' "$geom" | tr -c 'A-Za-z0-9' _)-$b.png
        [ -f "$ref" ] ||
            convert "$f" -auto-orient -filter Lanczos -resize "$geom" "$ref"
        # shellcheck disable=SC2059
        vips copy "$(printf "$pat" "$b")" "$work/cmp.png" 2>/dev/null
        p=$(compare -metric PSNR "$ref" "$work/cmp.png" null: 2>&1 || true)
        sum=$(echo "$sum + $p" | bc -l)
        n=$((n + 1))
    done
    printf '%.2f' "$(echo "$sum / $n" | bc -l)"
}
