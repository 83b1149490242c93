#!/usr/bin/env bash
# tests/bench/bench_avif.sh [BUILD]: AVIF encoders and speeds libavif offers
# in Debian 12, on 1024 px thumbnails of the wallpapers in
# /usr/share/backgrounds, at imgbatch's default AVIF quality (50): median
# of RUNS (3) encodes per image. Prints bytes, ms and PSNR per choice.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
libs="$build/transform/libib_transform.a -ljpeg -lpng -lz -ldeflate -lwebp
      -lwebpmux -lwebpdemux -lavif -llcms2 -lm"
choices="AOM:6 AOM:8 AOM:9 RAV1E:8 RAV1E:10 SVT:10"
for c in $choices; do
    # avif.c again, with this encoder and speed; the rest from the build
    cc -O2 -I"$here" -DAVIF_ENCODER=AVIF_CODEC_CHOICE_${c%:*} \
        -DAVIF_SPEED=${c#*:} "$here/tests/bench/bench_avif.c" \
        "$here/transform/avif.c" $libs -o "$tmp/b-${c/:/-}" \
        -Wl,--allow-multiple-definition
done
printf '%-28s %-9s %8s %7s %6s\n' image choice bytes ms psnr
for img in /usr/share/backgrounds/{Kleiber_by_Lukas_Baubkus,Dragonfly_by_Bolly,Wine_by_Jakkub_Mede}.jpg; do
    for c in $choices; do
        for r in $(seq "$runs"); do "$tmp/b-${c/:/-}" "$img" 50 2>/dev/null; done |
            sort -n -k2 | sed -n "$(( (runs + 1) / 2 ))p" |
            { read -r bytes ms psnr
              printf '%-28s %-9s %8s %7s %6s\n' "$(basename "$img" .jpg | cut -c1-28)" \
                  "$c" "$bytes" "$ms" "$psnr"; }
    done
done
