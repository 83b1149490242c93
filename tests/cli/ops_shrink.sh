#!/usr/bin/env bash
# Shrink-on-load: a JPEG shrunk by the first op is decoded at a DCT scale;
# the output has the size a full decode gives and stays within 35 dB of it.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/in"
# photo-like: smooth shapes plus sensor-like noise; sizes not multiples
# of 8, so the scaled decode's aspect differs a little; one EXIF-rotated
convert -seed 41 -size 2403x1601 plasma:fractal -blur 0x1.5 \
    -attenuate 0.4 +noise Gaussian -quality 92 "$T/in/a.jpg"
convert -seed 42 -size 1600x2400 plasma:fractal -blur 0x1.5 \
    -attenuate 0.4 +noise Gaussian -quality 92 "$T/b.jpg"
# ImageMagick writes no EXIF: add an APP1 with Orientation 6 (rotate 90)
python3 - "$T/b.jpg" "$T/in/b.jpg" <<'PY'
import struct, sys
tiff = b"II*\0" + struct.pack("<IH", 8, 1) + \
    struct.pack("<HHII", 0x0112, 3, 1, 6) + struct.pack("<I", 0)
app1 = b"Exif\0\0" + tiff
jpg = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(jpg[:2] + b"\xff\xe1" +
                              struct.pack(">H", len(app1) + 2) + app1 + jpg[2:])
PY
[ "$(identify -format '%[orientation]' "$T/in/b.jpg")" = RightTop ] ||
    fail "could not tag b.jpg"

for r in 300x300 500 x200 '301x199!' '256x256^' 512x512; do
    rm -rf "$T/s" "$T/f"
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/s" --resize "$r" \
        --format png "$T/in"
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/f" --no-shrink-on-load \
        --resize "$r" --format png "$T/in"
    for f in a b; do
        [ "$(dims "$T/s/$f.png")" = "$(dims "$T/f/$f.png")" ] ||
            fail "$f --resize $r: $(dims "$T/s/$f.png") shrunk," \
                "$(dims "$T/f/$f.png") full"
        p=$(compare -metric PSNR "$T/s/$f.png" "$T/f/$f.png" null: 2>&1 ||
            true)
        echo "# shrink-on-load $f --resize $r vs full decode: $p dB"
        # inf would mean no shrink happened: every case here shrinks by 2+
        [ "$p" != inf ] || fail "$f --resize $r: no shrink-on-load"
        python3 -c "import sys; sys.exit(0 if float('$p') >= 35 else 1)" ||
            fail "$f --resize $r: $p dB < 35"
    done
done
# the EXIF-rotated one is upright either way
[ "$(dims "$T/s/b.png")" = "512 341" ] ||
    fail "b.jpg not upright: $(dims "$T/s/b.png")"
ok "shrink-on-load: same sizes as a full decode, within 35 dB of it"
