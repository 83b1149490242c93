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
