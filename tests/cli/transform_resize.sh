#!/usr/bin/env bash
# --resize geometry in every form, checked against ImageMagick's geometry,
# and the Lanczos-3 result against ImageMagick's (PSNR).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/in"
convert -seed 3 -size 401x233 plasma:fractal -blur 0x2 "$T/in/wide.png"
convert -seed 4 -size 97x311 plasma:fractal -blur 0x2 "$T/in/tall.png"
convert -size 1x1 xc:red "$T/in/one.png"
convert -size 1000x1 gradient: "$T/in/row.png"
convert -size 1x1000 gradient: "$T/in/col.png"

# imgbatch form | ImageMagick equivalent (no upscaling: the '>' flag,
# except for WxH!, which is exact either way)
while IFS='|' read -r ours theirs; do
    for f in wide tall one row col; do
        rm -rf "$T/o"
        expect_exit 0 "$IMGBATCH" transform -o "$T/o" --resize "$ours" \
            "$T/in/$f.png"
        want=$(convert "$T/in/$f.png" $theirs -format '%w %h' info:)
        got=$(dims "$T/o/$f.png")
        [ "$got" = "$want" ] || fail "$f --resize $ours: $got, want $want"
    done
done <<'FORMS'
100x100|-resize 100x100>
100|-resize 100x>
x50|-resize x50>
50x50!|-resize 50x50!
3x7!|-resize 3x7!
FORMS
# cover: where both sides reach the box (smaller images are never padded)
for f in wide tall; do
    rm -rf "$T/o"
    expect_exit 0 "$IMGBATCH" transform -o "$T/o" --resize '64x64^' "$T/in/$f.png"
    [ "$(dims "$T/o/$f.png")" = "64 64" ] || fail "$f cover"
    rm -rf "$T/o"
    expect_exit 0 "$IMGBATCH" transform -o "$T/o" --resize '90x40^' "$T/in/$f.png"
    want=$(convert "$T/in/$f.png" -resize '90x40^' -gravity center -extent 90x40 -format '%w %h' info:)
    [ "$(dims "$T/o/$f.png")" = "$want" ] || fail "$f cover 90x40"
done
ok "geometry of every --resize form matches ImageMagick's"

rm -rf "$T/o"
expect_exit 0 "$IMGBATCH" transform -o "$T/o" --resize 800x800 --upscale \
    "$T/in/wide.png"
[ "$(dims "$T/o/wide.png")" = "$(convert "$T/in/wide.png" -resize 800x800 -format '%w %h' info:)" ] ||
    fail "--upscale"
rm -rf "$T/o"
expect_exit 0 "$IMGBATCH" transform -o "$T/o" --resize 800x800 "$T/in/wide.png"
[ "$(dims "$T/o/wide.png")" = "401 233" ] || fail "upscaled without --upscale"
ok "never upscales unless --upscale"

for f in wide tall; do
    rm -rf "$T/o"
    expect_exit 0 "$IMGBATCH" transform -o "$T/o" --resize 120x120 \
        "$T/in/$f.png"
    convert "$T/in/$f.png" -filter Lanczos -resize 120x120 "$T/ref.png"
    psnr=$(compare -metric PSNR "$T/o/$f.png" "$T/ref.png" null: 2>&1 || true)
    echo "# lanczos3 $f vs ImageMagick: PSNR $psnr dB"
    python3 -c "import sys; sys.exit(0 if float('$psnr') >= 35 else 1)" ||
        fail "PSNR $psnr < 35 for $f"
done
ok "Lanczos-3 within 35 dB PSNR of ImageMagick"

# Colour under partial alpha is written to the precision its alpha can
# show (premultiplied to 8 bits, as libvips does): faint pixels carry no
# colour noise, and composited on black or white the output is what
# ImageMagick's own resize gives, within 40 dB.
convert -size 400x300 -seed 5 plasma:fractal "$T/faint-rgb.ppm"
convert -size 400x300 -seed 9 xc: +noise Random -channel R -separate \
    -evaluate divide 40 "$T/faint-a.pgm"    # alpha 0..6 of 255
convert "$T/faint-rgb.ppm" "$T/faint-a.pgm" -compose copy_opacity \
    -composite -define png:color-type=6 "PNG32:$T/in/faint.png"
rm -rf "$T/o"
expect_exit 0 "$IMGBATCH" transform -o "$T/o" --resize 160x160 \
    "$T/in/faint.png"
bad=$(convert "$T/o/faint.png" -depth 8 txt:- | tr -c '0-9\n' ' ' |
    awk 'NR > 1 { a = $6; for (i = 3; i <= 5; i++) {
            c = $i
            if (a == 0) { if (c != 0) n++; continue }
            p = int(c * a / 255 + 0.5); if (p > a) p = a
            if (c != int((p * 255 + int(a / 2)) / a)) n++ } }
         END { print n + 0 }')
[ "$bad" = 0 ] || fail "$bad channel values under partial alpha carry more precision than their alpha shows"
for bg in black white; do
    convert "$T/o/faint.png" -background $bg -flatten "$T/flat-o.png"
    convert "$T/in/faint.png" -filter Lanczos -resize 160x160 \
        -background $bg -flatten "$T/flat-ref.png"
    psnr=$(compare -metric PSNR "$T/flat-o.png" "$T/flat-ref.png" null: 2>&1 || true)
    echo "# faint alpha on $bg vs ImageMagick: PSNR $psnr dB"
    python3 -c "import sys; sys.exit(0 if '$psnr' == 'inf' or float('$psnr') >= 40 else 1)" ||
        fail "faint alpha on $bg: PSNR $psnr < 40"
done
ok "colour under partial alpha kept to the precision its alpha shows"
