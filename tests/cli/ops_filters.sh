#!/usr/bin/env bash
# Resampling filters, blur, sharpen and grayscale against ImageMagick;
# alpha: colour under transparent pixels never reaches opaque ones.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/in"
# smooth, and rough (no blur: detail at the pixel level)
convert -seed 31 -size 301x203 plasma:fractal -blur 0x1 -depth 8 \
    "$T/in/smooth.png"
convert -seed 32 -size 203x157 plasma:fractal -depth 8 "$T/in/rough.png"

# psnr_min OP REF OURS: prints the figure, fails under 35 dB
psnr_min() {
    local p
    p=$(compare -metric PSNR "$3" "$2" null: 2>&1 || true)
    echo "# $1: $p dB"
    python3 -c "import sys; sys.exit(0 if float('$p') >= 35 else 1)" ||
        fail "$1: PSNR $p dB < 35"
}

# check OURS-ARGS -- IM-ARGS: both images, PSNR against ImageMagick
check() {
    local ours=() theirs=() f
    while [ "$1" != "--" ]; do ours+=("$1"); shift; done
    shift
    theirs=("$@")
    rm -rf "$T/o"
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" "${ours[@]}" "$T/in"
    for f in smooth rough; do
        convert "$T/in/$f.png" "${theirs[@]}" "$T/ref.png"
        [ "$(dims "$T/o/$f.png")" = "$(dims "$T/ref.png")" ] ||
            fail "${ours[*]} $f: size differs from ImageMagick's"
        psnr_min "${ours[*]} $f" "$T/ref.png" "$T/o/$f.png"
    done
}

for f in lanczos3:Lanczos mitchell:Mitchell bilinear:Triangle box:Box; do
    check --filter "${f%%:*}" --resize 97x97 -- -filter "${f#*:}" -resize 97x97
    check --filter "${f%%:*}" --resize 450x450 --upscale -- \
        -filter "${f#*:}" -resize 450x450
done
ok "every filter within 35 dB of ImageMagick, down and up"

for s in 0.7 2 3 5 20; do
    check --blur "$s" -- -blur "0x$s"
done
ok "blur within 35 dB of ImageMagick, exact and recursive"

check --sharpen 1.5 -- -unsharp 0x1.5+1+0
check --sharpen 2,2.5 -- -unsharp 0x2+2.5+0
check --sharpen 6,0.8 -- -unsharp 0x6+0.8+0
ok "sharpen within 35 dB of ImageMagick's unsharp mask"

# grayscale: Rec. 601 luma, within one level; alpha kept
convert "$T/in/rough.png" -alpha set -channel A -fx 'j/h' +channel \
    "$T/in/alpha.png"
rm -rf "$T/o"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" --grayscale "$T/in"
for f in smooth rough alpha; do
    convert "$T/in/$f.png" -grayscale Rec601Luma -depth 8 "$T/ref.png"
    ae=$(compare -metric AE -fuzz 0.5% "$T/o/$f.png" "$T/ref.png" null: 2>&1 ||
        true)
    [ "$ae" = 0 ] || fail "grayscale $f: $ae pixels off by more than 1"
done
[ "$(identify -format '%[channels]' "$T/o/rough.png")" = gray ] ||
    fail "RGB did not become one channel"
[ "$(identify -format '%[channels]' "$T/o/alpha.png")" = graya ] ||
    fail "alpha was not kept"
ok "grayscale within 1 of ImageMagick's Rec601Luma, alpha kept"

# transparent pure red beside opaque blue: after resize, blur and sharpen
# the opaque half must stay pure blue (no red bled in)
convert -size 64x40 xc:blue -alpha set \
    \( -size 32x40 xc:'rgba(255,0,0,0)' \) -geometry +32+0 \
    -compose copy -composite "$T/a.png"
[ "$(convert "$T/a.png" -alpha off -format '%[pixel:p{40,5}]' info:)" = \
  "srgb(255,0,0)" ] || fail "the test image lost its red under alpha"
for op in "--resize 33x21" "--resize 50x50!" "--blur 1.5" "--blur 9" \
          "--sharpen 2"; do
    rm -rf "$T/o"
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" $op "$T/a.png"
    w=$(identify -format '%w' "$T/o/a.png")
    # the left half, opaque in the input
    got=$(convert "$T/o/a.png" -crop "$((w / 2))x1000+0+0" -alpha off \
        -format '%[fx:maxima.r*255] %[fx:minima.b*255]' info:)
    [ "$got" = "0 255" ] || fail "$op: red bled into opaque pixels ($got)"
done
ok "transparent colour does not bleed into opaque pixels"
