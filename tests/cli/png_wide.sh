#!/usr/bin/env bash
# PNG outputs over libpng's default limit of 1,000,000 pixels a side are
# written, as the decoder reads them, instead of failing with libpng's
# "Invalid IHDR data".
. "$(dirname "$0")/lib.sh"

# ihdr FILE: "W H" from the PNG header (ImageMagick refuses such widths)
ihdr() {
    python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read(24)
assert d[:8] == b"\x89PNG\r\n\x1a\n" and d[12:16] == b"IHDR"
print("%d %d" % struct.unpack(">II", d[16:24]))' "$1"
}

mkdir -p "$T/in"
python3 "$IB_TESTS/cli/long_png.py" "$T/in/wide.png" 1500000 2 3
python3 "$IB_TESTS/cli/long_png.py" "$T/in/tall.png" 2 1500000 4

for engine in serial procs; do
    rm -rf "$T/o"
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" --engine "$engine" \
        --format png "$T/in"
    [ "$(ihdr "$T/o/wide.png")" = "1500000 2" ] ||
        fail "wide: $(ihdr "$T/o/wide.png")"
    [ "$(ihdr "$T/o/tall.png")" = "2 1500000" ] ||
        fail "tall: $(ihdr "$T/o/tall.png")"
done
ok "1,500,000-pixel-wide and -tall PNGs are written"

# the written pixels are the input's: a second pass gives the same bytes
expect_exit 0 "$IMGBATCH" transform -q -o "$T/o2" --format png "$T/o"
cmp -s "$T/o/wide.png" "$T/o2/wide.png" || fail "wide: second pass differs"
cmp -s "$T/o/tall.png" "$T/o2/tall.png" || fail "tall: second pass differs"
ok "wide and tall PNG outputs read back"

# made wide by an op: the tall one turned a quarter
rm -rf "$T/o"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" --rotate 90 \
    --format png "$T/in/tall.png"
[ "$(ihdr "$T/o/tall.png")" = "1500000 2" ] || fail "rotated tall"
ok "rotated to 1,500,000 x 2"
