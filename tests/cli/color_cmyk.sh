#!/usr/bin/env bash
# A CMYK or YCCK JPEG with a CMYK profile is converted to sRGB through that
# profile (lcms2), Adobe-inverted or not, and no output of any format
# carries the CMYK profile, whatever --keep says. Without a usable profile
# (none, broken, an RGB one) the naive formula stays. Reference:
# ImageMagick's own -profile conversion of the CMYK pixels, before JPEG.
# The check can fail: the naive formula is ~16 dB off the reference.
# The press profile is ghostscript's (libgs-common, scripts/deps.sh).
. "$IB_TESTS/cli/lib.sh"

cmyk_icc=/usr/share/color/icc/ghostscript/default_cmyk.icc
[ -f "$cmyk_icc" ] || fail "no $cmyk_icc: install libgs-common (scripts/deps.sh)"
bin=$(dirname "$IB_GEN")
psnr() { compare -metric PSNR "$1" "$2" null: 2>&1 || true; }
at_least() { [ "$2" = inf ] || awk -v a="$2" -v b="$1" 'BEGIN { exit !(a + 0 >= b) }'; }
# has_icc FILE: an ICC profile anywhere in FILE (every profile has "acsp"
# at byte 36), whatever the container: JPEG APP2, PNG iCCP (compressed,
# so ImageMagick is asked), WebP ICCP, AVIF colr
has_icc() {
    grep -qa acsp "$1" && return 0
    [ "$(identify -format '%[profile:icc]' "$1" 2>/dev/null)" != "" ]
}

mkdir -p "$T/in"
"$bin/ib-icc" srgb "$T/srgb.icc"
# saturated colours and dark shades, where ink and the formula part most
convert -size 192x128 gradient:red-lime -rotate 90 -resize 192x128! \
    \( -size 192x128 gradient:blue-yellow \) -compose blend \
    -define compose:args=50 -composite \
    \( -size 192x128 gradient:white-black \) -compose multiply -composite \
    -depth 8 -profile "$T/srgb.icc" "$T/src.png"
# the press's CMYK for it: what a prepress tool would have stored
convert "$T/src.png" -intent perceptual -profile "$cmyk_icc" -depth 8 \
    "cmyk:$T/src.cmyk"
convert -size 192x128 -depth 8 "cmyk:$T/src.cmyk" -profile "$cmyk_icc" \
    -intent perceptual -profile "$T/srgb.icc" -strip "$T/ref.png"
mk() { "$bin/ib-cmyk" 192 128 "$T/src.cmyk" "$T/in/$1.jpg" "$2" ${3:+"$3"}; }
mk adobe adobe "$cmyk_icc"   # Photoshop's: inverted, Adobe marker
mk ycck ycck "$cmyk_icc"     # the same stored as YCCK
mk plain plain "$cmyk_icc"   # not inverted, no Adobe marker
mk none adobe                # no profile: the formula
has_icc "$T/in/adobe.jpg" || fail "the test input has no profile"

expect_exit 0 "$IMGBATCH" transform -q --format png -o "$T/png" "$T/in"
for m in adobe ycck plain; do
    got=$(psnr "$T/png/$m.png" "$T/ref.png")
    echo "# $m with its profile: $got dB"
    at_least 40 "$got" || fail "$m: PSNR $got dB against ImageMagick's sRGB"
    has_icc "$T/png/$m.png" && fail "$m.png carries a profile"
done
naive=$(psnr "$T/png/none.png" "$T/ref.png")
echo "# the formula (no profile): $naive dB"
at_least 25 "$naive" && fail "the sample is too easy: the formula gets $naive dB"
ok "CMYK, YCCK and uninverted CMYK JPEGs convert through their profile"

# every format, every --keep: sRGB pixels, never the CMYK profile; lossy
# outputs are held to less, still far above the formula
for keep in icc none all; do
    for fmt in jpeg png webp avif; do
        out=$T/k-$keep-$fmt
        expect_exit 0 "$IMGBATCH" transform -q --keep $keep --format $fmt \
            -o "$out" "$T/in/adobe.jpg"
        f=$(ls "$out"/adobe.*)
        has_icc "$f" && fail "--keep $keep, $fmt: the output carries a profile"
        [ $fmt = avif ] && continue   # ImageMagick 6 does not read AVIF
        got=$(psnr "$f" "$T/ref.png")
        at_least 33 "$got" || fail "--keep $keep, $fmt: PSNR $got dB"
    done
done
# AVIF read back by imgbatch, through its own round trip
expect_exit 0 "$IMGBATCH" transform -q --format png -o "$T/back" \
    "$T/k-icc-avif/adobe.avif"
got=$(psnr "$T/back/adobe.png" "$T/ref.png")
at_least 33 "$got" || fail "avif: PSNR $got dB after a round trip"
ok "no output format carries the CMYK profile, with any --keep"

# a profile that cannot serve: the formula, as without one, and no profile
head -c 2000 "$cmyk_icc" >"$T/cut.icc"            # header says CMYK
mk cut adobe "$T/cut.icc"
mk rgb adobe "$T/srgb.icc"                        # not a CMYK profile
expect_exit 0 "$IMGBATCH" transform -q --format png -o "$T/bad" \
    "$T/in/cut.jpg" "$T/in/rgb.jpg"
for m in cut rgb; do
    got=$(psnr "$T/bad/$m.png" "$T/png/none.png")
    [ "$got" = inf ] || fail "$m: not the formula's pixels ($got dB off)"
    has_icc "$T/bad/$m.png" && fail "$m.png carries a profile"
done
expect_exit 0 "$IMGBATCH" transform -q --format jpeg -o "$T/badj" \
    "$T/in/rgb.jpg"
has_icc "$T/badj/rgb.jpg" && fail "the RGB profile of CMYK pixels was kept"
ok "a broken or non-CMYK profile falls back to the formula, and is dropped"

# shrink-on-load: the DCT-scaled decode converts the same way
expect_exit 0 "$IMGBATCH" transform -q --resize 96 --format png \
    -o "$T/half" "$T/in/adobe.jpg"
convert "$T/ref.png" -resize 96 "$T/ref-half.png"
got=$(psnr "$T/half/adobe.png" "$T/ref-half.png")
at_least 35 "$got" || fail "shrunk on load: PSNR $got dB"
ok "a CMYK JPEG shrunk on load converts through its profile too"

# an RGB WebP that some tool tagged with a CMYK profile: nothing may pass
# it on (it would make a viewer read RGB as ink)
expect_exit 0 "$IMGBATCH" transform -q --keep none --format webp -o "$T/w" \
    "$T/src.png"
python3 - "$T/w/src.webp" "$cmyk_icc" "$T/in2.webp" <<'PY'
import struct, sys
webp = open(sys.argv[1], "rb").read()
icc = open(sys.argv[2], "rb").read()
assert webp[12:16] == b"VP8 ", webp[12:16]
w, h = struct.unpack("<HH", webp[26:30])
w &= 0x3FFF; h &= 0x3FFF
chunk = lambda t, d: t + struct.pack("<I", len(d)) + d + b"\0" * (len(d) & 1)
vp8x = bytes([0x20, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + \
    (h - 1).to_bytes(3, "little")
body = b"WEBP" + chunk(b"VP8X", vp8x) + chunk(b"ICCP", icc) + webp[12:]
open(sys.argv[3], "wb").write(b"RIFF" + struct.pack("<I", len(body)) + body)
PY
mkdir -p "$T/in2" && mv "$T/in2.webp" "$T/in2/tagged.webp"
has_icc "$T/in2/tagged.webp" || fail "the tagged WebP has no profile"
for fmt in jpeg webp avif; do
    expect_exit 0 "$IMGBATCH" transform -q --keep icc --format $fmt \
        -o "$T/t-$fmt" "$T/in2"
    has_icc "$(ls "$T/t-$fmt"/tagged.*)" && fail "$fmt kept a CMYK profile"
done
ok "a CMYK profile on RGB pixels is never passed on"
