#!/usr/bin/env bash
# --resize WxH! is exactly WxH, as ImageMagick's "!", with or without
# --upscale: an axis smaller than the box is enlarged, the other shrunk.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/in"
convert -seed 5 -size 37x23 plasma:fractal "$T/in/a.png"
convert -size 1x1 xc:red "$T/in/one.png"

for up in "" --upscale; do
    for case in "a 30x30! 30 30" "a 40x10! 40 10" "a 5x50! 5 50" \
                "a 37x23! 37 23" "one 3x2! 3 2"; do
        set -- $case
        rm -rf "$T/o"
        expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" $up \
            --resize "$2" "$T/in/$1.png"
        got=$(dims "$T/o/$1.png")
        [ "$got" = "$3 $4" ] ||
            fail "$1 --resize $2 ${up:-(no --upscale)}: $got, want $3 $4"
    done
done
ok "--resize WxH! is exact with and without --upscale"

# the enlarged axis is resampled, not left as a copy of the input
rm -rf "$T/o"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" --resize '30x30!' \
    "$T/in/a.png"
convert "$T/in/a.png" -filter Lanczos -resize '30x30!' "$T/ref.png"
psnr=$(compare -metric PSNR "$T/o/a.png" "$T/ref.png" null: 2>&1 || true)
echo "# 37x23 -> 30x30! vs ImageMagick: PSNR $psnr dB"
python3 -c "import sys; sys.exit(0 if float('$psnr') >= 30 else 1)" ||
    fail "PSNR $psnr < 30"
ok "--resize WxH! resamples like ImageMagick's"
