#!/usr/bin/env bash
# The PNG encoder (transform/png_write.c): lossless round trips through the
# CLI for every colour type and level, ICC kept or stripped, and output
# size at level 6 against libpng + zlib's, with ImageMagick as the
# independent decoder and the libpng reference.
. "$(dirname "$0")/lib.sh"

# colour type byte of a PNG's IHDR: 0 grey, 2 RGB, 4 grey+alpha, 6 RGBA
ctype() { od -An -tu1 -j25 -N1 "$1" | tr -d ' '; }
has_iccp() { grep -q iCCP "$1"; }

mkdir -p "$T/in"
# photo-like pictures: plasma fractal noise, seeded so runs agree
convert -size 640x480 -seed 7 plasma:fractal -depth 8 "$T/plasma.ppm"
convert -size 640x480 gradient:white-black "$T/alpha.pgm"
convert "$T/plasma.ppm" -define png:color-type=2 "PNG24:$T/in/rgb.png"
convert "$T/plasma.ppm" "$T/alpha.pgm" -compose copy_opacity -composite \
    -define png:color-type=6 "PNG32:$T/in/rgba.png"
convert "$T/plasma.ppm" -colorspace gray -define png:color-type=0 \
    "PNG8:$T/in/grey.png" 2>/dev/null ||
    convert "$T/plasma.ppm" -colorspace gray -type grayscale "$T/in/grey.png"
convert "$T/plasma.ppm" -colorspace gray "$T/alpha.pgm" \
    -compose copy_opacity -composite -type grayscalealpha \
    -define png:color-type=4 "$T/in/greyalpha.png"
for f in rgb:2 rgba:6 grey:0 greyalpha:4; do
    [ "$(ctype "$T/in/${f%:*}.png")" = "${f#*:}" ] ||
        fail "test input ${f%:*}.png has colour type $(ctype "$T/in/${f%:*}.png")"
done

for level in 0 1 6 9; do
    rm -rf "$T/o"
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" --format png \
        --png-level "$level" "$T/in"
    for f in rgb:2 rgba:6 grey:0 greyalpha:4; do
        n=${f%:*}
        [ "$(ctype "$T/o/$n.png")" = "${f#*:}" ] ||
            fail "level $level: $n.png written as colour type $(ctype "$T/o/$n.png")"
        ae=$(compare -metric AE "$T/in/$n.png" "$T/o/$n.png" null: 2>&1) ||
            true
        [ "$ae" = 0 ] || fail "level $level: $n.png pixels differ ($ae)"
    done
done
ok "RGB, RGBA, grey and grey+alpha come back pixel for pixel at levels 0, 1, 6, 9"

# level 0 stores, level 9 compresses at least as well as 6
rm -rf "$T/o0" "$T/o6" "$T/o9"
for l in 0 6 9; do
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/o$l" --format png \
        --png-level $l "$T/in/rgb.png"
done
s0=$(stat -c %s "$T/o0/rgb.png")
s6=$(stat -c %s "$T/o6/rgb.png")
s9=$(stat -c %s "$T/o9/rgb.png")
[ "$s0" -ge $((640 * 480 * 3)) ] || fail "level 0 is $s0 bytes: not stored"
[ "$s6" -lt "$s0" ] && [ "$s9" -le "$s6" ] ||
    fail "sizes at levels 0, 6, 9: $s0 $s6 $s9"
ok "level 0 stores ($s0 bytes), 6 compresses ($s6), 9 no worse ($s9)"

# an over-range level is a usage error
expect_exit 2 "$IMGBATCH" transform -q -o "$T/o" --format png \
    --png-level 10 "$T/in/rgb.png"
ok "--png-level 10 is refused"

# size at level 6 against libpng + zlib level 6 with adaptive filtering
# (ImageMagick's PNG writer; -strip: no extra chunks either side)
for n in rgb rgba grey; do
    convert "$T/in/$n.png" -strip -define png:compression-level=6 \
        -define png:compression-filter=5 -define png:compression-strategy=1 \
        "$T/ref-$n.png"
    ref=$(stat -c %s "$T/ref-$n.png")
    ours=$(stat -c %s "$T/o6/$n.png" 2>/dev/null || true)
    if [ -z "$ours" ]; then
        expect_exit 0 "$IMGBATCH" transform -q -o "$T/o6" --format png \
            "$T/in/$n.png"
        ours=$(stat -c %s "$T/o6/$n.png")
    fi
    [ $((ours * 100)) -le $((ref * 103)) ] ||
        fail "$n: $ours bytes at level 6, libpng + zlib $ref: over 3% more"
    ok "$n at level 6: $ours bytes, libpng + zlib $ref"
done

# ICC: carried by default, dropped by --strip; the profile's bytes survive
gen "$T/g"
rm -rf "$T/o"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" --format png \
    "$T/g/png-icc.png"
has_iccp "$T/o/png-icc.png" || fail "ICC profile not carried"
convert "$T/g/png-icc.png" "$T/icc-in.icc"
convert "$T/o/png-icc.png" "$T/icc-out.icc"
cmp -s "$T/icc-in.icc" "$T/icc-out.icc" || fail "ICC profile changed"
ae=$(compare -metric AE "$T/g/png-icc.png" "$T/o/png-icc.png" null: 2>&1) ||
    true
[ "$ae" = 0 ] || fail "png-icc.png pixels differ ($ae)"
rm -rf "$T/o"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" --format png --strip \
    "$T/g/png-icc.png"
! has_iccp "$T/o/png-icc.png" || fail "--strip kept the ICC profile"
ok "ICC profile carried byte for byte, and dropped by --strip"

# 16-bit and palette inputs come out as valid 8-bit PNGs
rm -rf "$T/o"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" --format png \
    "$T/g/png-rgb16.png" "$T/g/png-p4-trns.png" "$T/g/png-ga16.png"
for n in png-rgb16 png-p4-trns png-ga16; do
    [ "$(identify -format %z "$T/o/$n.png")" = 8 ] ||
        fail "$n: not 8-bit"
done
ae=$(compare -metric AE "$T/g/png-p4-trns.png" "$T/o/png-p4-trns.png" \
     null: 2>&1) || true
[ "$ae" = 0 ] || fail "palette with tRNS: pixels differ ($ae)"
ok "16-bit and palette inputs written as 8-bit; palette pixels kept"
