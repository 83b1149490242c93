#!/usr/bin/env bash
# WebP and AVIF, in and out, through the CLI: every round trip decoded by
# ImageMagick (an independent decoder) and compared by PSNR; alpha kept;
# lossless WebP exact; hostile WebP/AVIF files fail alone with a clear
# line while the good ones in the same batch are written.
. "$IB_TESTS/cli/lib.sh"

# psnr A B: PSNR in dB as ImageMagick computes it ("inf" exact), over
# the pixels as shown on white: colour under full transparency is free
psnr() {
    convert "$1" -background white -alpha remove "$T/psnr-a.png"
    convert "$2" -background white -alpha remove "$T/psnr-b.png"
    compare -metric PSNR "$T/psnr-a.png" "$T/psnr-b.png" null: 2>&1 || true
}
# as_png FILE OUT: FILE decoded by ImageMagick to a PNG. Its AVIF reader
# (libheif 1.15 in IM 6) hands back YCbCr labelled as such, which
# -colorspace sRGB finishes, and drops the alpha plane: AVIF with alpha is
# decoded by imgbatch itself (the round trip), the rest by ImageMagick.
as_png() {
    case $1 in
    */alpha.avif) "$IMGBATCH" transform -q --format png -o "$T/rt" "$1" &&
                  mv "$T/rt/alpha.png" "$2" ;;
    *.avif) convert "$1" -colorspace sRGB "$2" ;;
    *) convert "$1" "$2" ;;
    esac
}
at_least() {   # at_least DB VALUE: VALUE is inf or >= DB
    [ "$2" = inf ] || awk -v a="$2" -v b="$1" 'BEGIN { exit !(a + 0 >= b) }'
}

in=$T/in
mkdir -p "$in"
convert -size 320x200 gradient:red-blue -swirl 90 -depth 8 "$in/photo.png"
convert -size 320x200 xc:none -fill 'rgba(0,160,0,0.6)' \
    -draw 'circle 160,100 160,20' "$in/alpha.png"
convert -size 200x120 gradient:white-black -depth 8 "$in/grey.png"

# 1. encode: every input to WebP (lossy, lossless) and AVIF
for fmt in webp avif; do
    expect_exit 0 "$IMGBATCH" transform -q --format "$fmt" --quality 90 \
        -o "$T/$fmt" "$in"
    for f in photo alpha grey; do
        out=$T/$fmt/$f.$fmt
        [ -f "$out" ] || fail "no $out"
        case $fmt in   # by magic bytes: ImageMagick calls AVIF "HEIC"
        webp) [ "$(head -c 4 "$out")$(head -c 12 "$out" | tail -c 4)" = RIFFWEBP ] ;;
        avif) [ "$(head -c 12 "$out" | tail -c 8)" = ftypavif ] ;;
        esac || fail "$out is not $fmt"
        [ "$(dims "$out")" = "$(dims "$in/$f.png")" ] || fail "$out size"
        as_png "$out" "$T/check.png"
        p=$(psnr "$in/$f.png" "$T/check.png")
        at_least 30 "$p" || fail "$out: PSNR $p dB against its source"
    done
    # alpha survived
    as_png "$T/$fmt/alpha.$fmt" "$T/check.png"
    convert "$T/check.png" -alpha extract "$T/a-$fmt.png"
    convert "$in/alpha.png" -alpha extract "$T/a-src.png"
    p=$(psnr "$T/a-src.png" "$T/a-$fmt.png")
    at_least 30 "$p" || fail "$fmt alpha: PSNR $p dB"
    ok "$fmt: photo, alpha and grey encoded, decoded by ImageMagick"
done

expect_exit 0 "$IMGBATCH" transform -q --format webp --lossless \
    -o "$T/lossless" "$in"
for f in photo alpha grey; do
    p=$(psnr "$in/$f.png" "$T/lossless/$f.webp")
    [ "$p" = inf ] || fail "lossless $f: PSNR $p, want exact"
done
ok "lossless WebP is exact"

# 2. decode: WebP and AVIF inputs (made by ImageMagick) to PNG
mkdir -p "$T/in2"
convert "$in/photo.png" -quality 90 "$T/in2/p.webp"
convert "$in/alpha.png" -define webp:lossless=true "$T/in2/a.webp"
convert "$in/photo.png" -quality 90 "$T/in2/pa.avif"
expect_exit 0 "$IMGBATCH" transform -q --format png -o "$T/dec" "$T/in2"
for f in p.webp a.webp pa.avif; do
    out=$T/dec/${f%.*}.png
    [ -f "$out" ] || fail "no output for $f"
    as_png "$T/in2/$f" "$T/check.png"
    p=$(psnr "$T/check.png" "$out")
    at_least 38 "$p" || fail "$f: PSNR $p dB against ImageMagick's decode"
done
ok "WebP and AVIF inputs decode as ImageMagick decodes them"

# 3. hostile WebP/AVIF beside a good file: each fails alone, named
h=$T/hostile
mkdir -p "$h"
cp "$T/in2/p.webp" "$h/good.webp"
head -c 100 "$T/in2/p.webp" >"$h/cut.webp"
head -c 200 "$T/in2/pa.avif" >"$h/cut.avif"
printf 'RIFF\0\0\0\0WEBPVP8 ' >"$h/stub.webp"
# a lossless WebP whose header says 16384 x 16384: the 14-bit width-1 and
# height-1 fields after the 0x2f signature set to all ones
convert -size 8x8 xc:red -define webp:lossless=true "$T/small.webp"
python3 - "$T/small.webp" "$h/huge.webp" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
at = b.index(b"VP8L") + 8
assert b[at] == 0x2F
b[at + 1:at + 5] = bytes([0xFF, 0xFF, 0xFF, 0x0F | (b[at + 4] & 0xF0)])
open(sys.argv[2], "wb").write(b)
PY
expect_exit 1 "$IMGBATCH" transform --format png --max-pixels 1000000 \
    --report "$T/h.jsonl" -o "$T/hout" "$h"
[ -f "$T/hout/good.png" ] || fail "the good file was not written"
for f in cut.webp cut.avif stub.webp huge.webp; do
    grep -q "'[^']*$f'" "$T/stderr" || fail "no error line for $f"
    [ ! -e "$T/hout/${f%.*}.png" ] || fail "$f left an output"
done
[ "$(grep -c . "$T/stderr")" -ge 4 ] || fail "errors not one line each"
assert_grep 'huge.webp.*16384x16384\|huge.webp.*pixels' "$T/stderr"
ok "hostile WebP/AVIF fail alone with a clear line"
