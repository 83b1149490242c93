#!/usr/bin/env bash
# --keep: which metadata outputs carry. Default icc only; exif comes with
# its orientation reset to 1 once the pixels are upright; xmp as it was;
# the same for JPEG, PNG, WebP and AVIF outputs. ImageMagick reads them
# back from JPEG, the test's own container parser from every output
# (AVIF through imgbatch's own round trip to JPEG).
. "$IB_TESTS/cli/lib.sh"

mkdir -p "$T/in"
convert -size 300x200 gradient:red-blue -depth 8 -quality 90 "$T/plain.jpg"
# a JPEG stored sideways (EXIF orientation 6) with an Artist and an XMP
# packet, made by hand so the test needs no EXIF tool
python3 - "$T/plain.jpg" "$T/in/photo.jpg" <<'PY'
import struct, sys
jpg = open(sys.argv[1], "rb").read()
artist = b"imgbatch-artist\0"
entries = [(0x0112, 3, 1, struct.pack("<HH", 6, 0)),
           (0x013B, 2, len(artist), struct.pack("<I", 8 + 2 + 2 * 12 + 4))]
ifd = struct.pack("<H", len(entries))
for tag, typ, count, val in entries:
    ifd += struct.pack("<HHI", tag, typ, count) + val
ifd += struct.pack("<I", 0)
tiff = b"II*\0" + struct.pack("<I", 8) + ifd + artist
exif = b"Exif\0\0" + tiff
xmp = (b"http://ns.adobe.com/xap/1.0/\0"
       b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
       b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:source='
       b'"imgbatch-xmp-mark"/></rdf:RDF></x:xmpmeta>')
app1 = lambda d: b"\xff\xe1" + struct.pack(">H", len(d) + 2) + d
open(sys.argv[2], "wb").write(jpg[:2] + app1(exif) + app1(xmp) + jpg[2:])
PY
# meta_of FILE: "ORIENTATION/ARTIST/XMP" read from FILE's container by a
# parser of this test's own (JPEG APP1, PNG eXIf/iTXt, WebP EXIF/XMP
# chunks): ImageMagick 6 reads EXIF from JPEG only. "//0" when none.
meta_of() {
    python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
exif = xmp = b""
if d[:2] == b"\xff\xd8":
    i = 2
    while i + 4 <= len(d) and d[i] == 0xFF and d[i + 1] not in (0xDA, 0xD9):
        n = struct.unpack(">H", d[i + 2:i + 4])[0]
        seg = d[i + 4:i + 2 + n]
        if d[i + 1] == 0xE1 and seg[:6] == b"Exif\0\0":
            exif = seg[6:]
        elif d[i + 1] == 0xE1 and seg.startswith(b"http://ns.adobe.com/xap/1.0/\0"):
            xmp = seg[29:]
        i += 2 + n
elif d[:8] == b"\x89PNG\r\n\x1a\n":
    i = 8
    while i + 8 <= len(d):
        n = struct.unpack(">I", d[i:i + 4])[0]
        t, body = d[i + 4:i + 8], d[i + 8:i + 8 + n]
        if t == b"eXIf":
            exif = body
        elif t == b"iTXt" and body.startswith(b"XML:com.adobe.xmp\0"):
            xmp = body[22:]
        i += 12 + n
elif d[:4] == b"RIFF" and d[8:12] == b"WEBP":
    i = 12
    while i + 8 <= len(d):
        t, n = d[i:i + 4], struct.unpack("<I", d[i + 4:i + 8])[0]
        if t == b"EXIF":
            exif = d[i + 8:i + 8 + n]
        elif t == b"XMP ":
            xmp = d[i + 8:i + 8 + n]
        i += 8 + n + (n & 1)
orient = artist = ""
if exif[:4] in (b"II*\0", b"MM\0*"):
    e = "<" if exif[:2] == b"II" else ">"
    ifd = struct.unpack(e + "I", exif[4:8])[0]
    for k in range(struct.unpack(e + "H", exif[ifd:ifd + 2])[0]):
        tag, typ, cnt, val = struct.unpack(e + "HHI4s", exif[ifd + 2 + 12 * k:ifd + 14 + 12 * k])
        if tag == 0x0112:
            orient = str(struct.unpack(e + "H", val[:2])[0])
        elif tag == 0x013B:
            off = struct.unpack(e + "I", val)[0] if cnt > 4 else None
            raw = exif[off:off + cnt] if off is not None else val[:cnt]
            artist = raw.rstrip(b"\0").decode()
print("%s/%s/%d" % (orient, artist, b"imgbatch-xmp-mark" in xmp))
PY
}
[ "$(identify -format '%[EXIF:Orientation]/%[EXIF:Artist]' "$T/in/photo.jpg")" = 6/imgbatch-artist ] ||
    fail "ImageMagick does not read the test input's EXIF"
[ "$(meta_of "$T/in/photo.jpg")" = "6/imgbatch-artist/1" ] ||
    fail "the test's own parser does not read the input: $(meta_of "$T/in/photo.jpg")"


# default: no EXIF, no XMP, upright
expect_exit 0 "$IMGBATCH" transform -q -o "$T/def" "$T/in"
[ "$(dims "$T/def/photo.jpg")" = "200 300" ] || fail "not turned upright"
[ "$(meta_of "$T/def/photo.jpg")" = //0 ] || fail "EXIF or XMP kept by default"
ok "by default EXIF and XMP are dropped"

for fmt in jpeg png webp; do
    expect_exit 0 "$IMGBATCH" transform -q --keep exif,xmp --format $fmt \
        -o "$T/k-$fmt" "$T/in"
    out=$(ls "$T/k-$fmt"/photo.*)
    [ "$(dims "$out")" = "200 300" ] || fail "$fmt: not upright"
    [ "$(meta_of "$out")" = "1/imgbatch-artist/1" ] ||
        fail "$fmt: '$(meta_of "$out")', want orientation 1, the artist, XMP"
done
ok "--keep exif,xmp: JPEG, PNG and WebP carry both, orientation reset to 1"

expect_exit 0 "$IMGBATCH" transform -q --keep all --format avif \
    -o "$T/k-avif" "$T/in"
expect_exit 0 "$IMGBATCH" transform -q --keep all --format jpeg \
    -o "$T/back" "$T/k-avif"
[ "$(meta_of "$T/back/photo.jpg")" = "1/imgbatch-artist/1" ] ||
    fail "AVIF: '$(meta_of "$T/back/photo.jpg")' after a round trip"
ok "AVIF carries EXIF and XMP (read back by imgbatch)"

expect_exit 0 "$IMGBATCH" transform -q --keep exif --no-auto-orient \
    -o "$T/raw" "$T/in"
[ "$(dims "$T/raw/photo.jpg")" = "300 200" ] || fail "turned without auto-orient"
[ "$(meta_of "$T/raw/photo.jpg")" = "6/imgbatch-artist/0" ] ||
    fail "want orientation as stored, no XMP: $(meta_of "$T/raw/photo.jpg")"
ok "--no-auto-orient keeps the stored orientation in the copied EXIF"

# a changed --keep redoes the output: the recipe knows it
expect_exit 0 "$IMGBATCH" transform -q --keep exif -o "$T/def" "$T/in"
[ "$(meta_of "$T/def/photo.jpg")" = "1/imgbatch-artist/0" ] ||
    fail "the rerun with --keep exif left the old output"
ok "changing --keep redoes the output"

expect_exit 2 "$IMGBATCH" transform --keep exif,gps -o "$T/x" "$T/in"
assert_grep "invalid --keep 'exif,gps'" "$T/stderr"
expect_exit 2 "$IMGBATCH" transform --keep none,icc -o "$T/x" "$T/in"
ok "a bad --keep is a usage error"
