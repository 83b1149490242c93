#!/usr/bin/env bash
# The raw YCbCr path (transform/planes.c) against the RGB path: a JPEG that
# becomes a JPEG through geometry ops alone is read and written as planes;
# IMGBATCH_NO_RAW=1 forces the RGB path. Both must give the same output
# size and agree within 40 dB PSNR, for every transform here, on the
# synthetic JPEGs (4:2:0, 4:4:4, progressive, arithmetic, ICC, grey, EXIF
# orientations 1..8) and on photo-like ones made here at odd sizes in
# 4:2:0, 4:2:2, 4:4:0, 4:4:4 and grey, large enough for shrink-on-load.
# Inputs or ops the raw path does not take give the same bytes either way.
# Metadata (--keep), renditions and --jpeg-subsample come out as the RGB
# path's. A truncated or corrupt JPEG fails alone with a clear reason, and
# a large one transforms in bounded memory.
. "$IB_TESTS/cli/lib.sh"

gen "$T/gen"
mkdir -p "$T/in"
cp "$T"/gen/jpeg-{420,444,prog,arith,icc,grey}.jpg "$T"/gen/orient-?.jpg \
    "$T/in/"
# smooth random colour fields, as photographs are at thumbnail scale: a
# plasma of an eighth the size (fixed seed), enlarged; W x H are odd
make() {
    convert -seed "$1" -size "$2" plasma:red-blue -resize "$3!" \
        -sampling-factor "$4" -quality 92 $5 "$T/in/$6.jpg"
}
make 1 125x83 1001x667 4:2:0 "" p420
make 2 125x88 999x701 4:2:2 "" p422
make 3 100x150 803x1203 4:4:4 "" p444
make 4 80x60 641x479 4:4:0 "" p440
make 5 150x100 1203x803 4:2:0 -interlace\ JPEG p420prog
make 6 97x69 777x555 4:2:0 -colorspace\ gray grey

# (At thumbnails of a few dozen pixels from such fields the two paths
# still differ by JPEG q85's own noise only, but that alone reaches 40 dB:
# both are then ~31 dB from a lossless reference, the raw path the nearer.)

# psnr A B: ImageMagick's PSNR of B against A ("inf" when equal)
psnr() { compare -metric PSNR "$1" "$2" null: 2>&1 || true; }

n=0
while IFS= read -r ops; do
    n=$((n + 1))
    rm -rf "$T/raw" "$T/rgb"
    # shellcheck disable=SC2086
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/raw" $ops "$T/in"
    # shellcheck disable=SC2086
    expect_exit 0 env IMGBATCH_NO_RAW=1 "$IMGBATCH" transform -q -o "$T/rgb" \
        $ops "$T/in"
    a=$(cd "$T/raw" && identify -format '%f %w %h\n' *.jpg)
    b=$(cd "$T/rgb" && identify -format '%f %w %h\n' *.jpg)
    [ "$a" = "$b" ] || fail "$ops: sizes differ: $a // $b"
    [ "$(echo "$a" | wc -l)" = "$(ls "$T/in" | wc -l)" ] ||
        fail "$ops: outputs missing"
    differ=0
    for f in "$T"/in/*.jpg; do
        b=$(basename "$f")
        p=$(psnr "$T/rgb/$b" "$T/raw/$b")
        awk -v p="$p" 'BEGIN { exit !(p == "inf" || p + 0 >= 40) }' ||
            fail "$ops: $b raw vs RGB is $p dB"
        cmp -s "$T/raw/$b" "$T/rgb/$b" || differ=$((differ + 1))
    done
    # the colour inputs went through planes: not the RGB path's bytes
    # (but grey out of RGB is Y again, often to the byte)
    case "$ops" in --grayscale*) continue ;; esac
    [ "$differ" -ge 10 ] || fail "$ops: only $differ outputs took the raw path"
done <<'OPS'
--resize 200x200
--resize 300x300 --crop 101x77+13+9
--resize 333 --flip --flop
--rotate 90 --resize 151x
--resize 120x120^
--resize 160x90!
--filter mitchell --resize 99x
--crop 500x300+7+5 --resize 123 --rotate 270
--grayscale --resize 150
--quality 90
OPS
ok "$n transforms: same size and >= 40 dB through planes and through RGB"

# the raw path's 4:2:0 output, from every input sampling
for b in p422 p444 p440 jpeg-444; do
    s=$(identify -format '%[jpeg:sampling-factor]' "$T/raw/$b.jpg")
    [ "$s" = "2x2,1x1,1x1" ] || fail "$b written as $s"
done
[ "$(identify -format '%[colorspace]' "$T/raw/grey.jpg")" = Gray ] ||
    fail "grey input not written grey"
ok "outputs are 4:2:0 (or grey), as the RGB path writes them"

# not for the raw path: PNG output, a colour op, CMYK, YCCK: same bytes
cp "$T"/gen/jpeg-{cmyk,ycck}.jpg "$T/in/"
for ops in "--format png --resize 100" "--blur 1 --resize 100" \
           "--resize 100" "--size 100,50 --format jpeg,png"; do
    rm -rf "$T/raw" "$T/rgb"
    # shellcheck disable=SC2086
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/raw" $ops "$T/in"
    # shellcheck disable=SC2086
    expect_exit 0 env IMGBATCH_NO_RAW=1 "$IMGBATCH" transform -q -o "$T/rgb" \
        $ops "$T/in"
    for b in $(ls "$T/rgb"); do
        case "$ops $b" in
        "--resize 100 jpeg-cmyk.jpg" | "--resize 100 jpeg-ycck.jpg") ;;
        "--resize 100 "*) continue ;;
        esac
        cmp -s "$T/raw/$b" "$T/rgb/$b" || fail "$ops: $b differs"
    done
done
rm -f "$T"/in/jpeg-{cmyk,ycck}.jpg
ok "PNG output, colour ops, CMYK and YCCK stay on the RGB path"

# renditions, samplings, metadata: the same sizes, markers and >= 40 dB
# m.jpg: stored sideways (EXIF orientation 6) with an XMP packet and the
# ICC profile of jpeg-icc.jpg, made by hand so the test needs no EXIF tool
python3 - "$T/in/p420.jpg" "$T/gen/jpeg-icc.jpg" "$T/in/m.jpg" <<'PY'
import struct, sys
jpg = open(sys.argv[1], "rb").read()
icc = open(sys.argv[2], "rb").read()
i = 2
app2 = []
while icc[i] == 0xFF and icc[i + 1] != 0xDA:
    n = struct.unpack(">H", icc[i + 2:i + 4])[0]
    if icc[i + 1] == 0xE2:
        app2.append(icc[i:i + 2 + n])
    i += 2 + n
ifd = struct.pack("<HHHIHH", 1, 0x0112, 3, 1, 6, 0) + struct.pack("<I", 0)
exif = b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd
xmp = (b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x="
       b'"adobe:ns:meta/"/>')
app1 = lambda d: b"\xff\xe1" + struct.pack(">H", len(d) + 2) + d
open(sys.argv[3], "wb").write(jpg[:2] + app1(exif) + app1(xmp) +
                              b"".join(app2) + jpg[2:])
PY
# apps FILE: the APP segments of a JPEG, hashed
apps() {
    python3 - "$1" <<'PY'
import hashlib, struct, sys
d = open(sys.argv[1], "rb").read()
i, out = 2, b""
while d[i] == 0xFF and d[i + 1] != 0xDA:
    n = struct.unpack(">H", d[i + 2:i + 4])[0]
    if 0xE0 <= d[i + 1] <= 0xEF:
        out += d[i:i + 2 + n]
    i += 2 + n
print(hashlib.md5(out).hexdigest(), len(out))
PY
}
[ "$(identify -format %w "$T/in/m.jpg")" = 1001 ] || fail "m.jpg not made"
# (sizes of 100 px and up: at 64 px from these colour fields the two paths
# are 39-40 dB apart, JPEG q85's own noise, both ~31 dB from a lossless
# reference and the raw path the nearer)
for opts in "--size 300,150x150,100 --keep all" \
            "--width 200,100 --jpeg-subsample 444 --keep exif,icc" \
            "--resize 250 --jpeg-subsample 422 --progressive" \
            "--rotate 270 --size 90 --strip"; do
    rm -rf "$T/raw" "$T/rgb"
    # shellcheck disable=SC2086
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/raw" $opts "$T/in"
    # shellcheck disable=SC2086
    expect_exit 0 env IMGBATCH_NO_RAW=1 "$IMGBATCH" transform -q \
        -o "$T/rgb" $opts "$T/in"
    a=$(cd "$T/raw" && identify -format \
        '%f %w %h %[jpeg:sampling-factor] %[interlace]\n' \
        *.jpg)
    b=$(cd "$T/rgb" && identify -format \
        '%f %w %h %[jpeg:sampling-factor] %[interlace]\n' \
        *.jpg)
    [ "$a" = "$b" ] || fail "$opts: outputs differ: $a // $b"
    for f in "$T"/rgb/*.jpg; do
        n=$(basename "$f")
        p=$(psnr "$f" "$T/raw/$n")
        awk -v p="$p" 'BEGIN { exit !(p == "inf" || p + 0 >= 40) }' ||
            fail "$opts: $n raw vs RGB is $p dB"
        [ "$(apps "$f")" = "$(apps "$T/raw/$n")" ] ||
            fail "$opts: $n: APP markers differ"
    done
done
rm -f "$T/in/m.jpg"
ok "renditions, samplings, --keep and --strip: as the RGB path"

# hostile: truncated, corrupt mid-scan, garbage, huge dimensions; each
# fails alone with its reason, the good file beside them is written
mkdir -p "$T/bad"
cp "$T/in/p420.jpg" "$T/bad/good.jpg"
sz=$(stat -c %s "$T/in/p420.jpg")
head -c $((sz / 2)) "$T/in/p420.jpg" >"$T/bad/half.jpg"
python3 - "$T/in/p420prog.jpg" "$T/bad/corrupt.jpg" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
sos = b.index(b'\xff\xda')
# smash a run of entropy-coded bytes well inside the first scan
for i in range(sos + 400, sos + 900):
    b[i] = 0xff if i % 7 == 0 else (b[i] * 31 + 7) & 0xfe
open(sys.argv[2], 'wb').write(b)
PY
cp "$T/gen/truncated.jpg" "$T/gen/garbage.jpg" "$T/gen/huge-dims.jpg" \
    "$T/bad/"
rm -rf "$T/o"
expect_exit 1 "$IMGBATCH" transform -q -o "$T/o" --report "$T/r.jsonl" \
    --resize 200x200 "$T/bad"
[ "$(dims "$T/o/good.jpg")" = "200 133" ] || fail "good.jpg not written"
for b in half corrupt truncated garbage huge-dims; do
    [ ! -e "$T/o/$b.jpg" ] || fail "$b.jpg written"
done
assert_grep "half.jpg.*truncated JPEG data" "$T/stderr"
assert_grep "corrupt.jpg.*\(corrupt JPEG\|truncated\)" "$T/stderr"
assert_grep "huge-dims.jpg.*pixel limit" "$T/stderr"
json_check "$T/r.jsonl" \
    "sum(i['status'] == 'ok' for i in items) == 1 and len(items) == 6"
ok "truncated and corrupt JPEGs fail alone on the raw path"

# bounded memory: a 24 MP 4:2:0 JPEG cropped first (so no shrink-on-load:
# the planes are decoded whole, 36 MB; RGB would be 72 MB) under a cap
# of 200 MB of address space (under_limit: none under ASan)
convert -seed 7 -size 1500x1000 plasma:green-yellow -blur 0x2 \
    -scale 400% -sampling-factor 4:2:0 -quality 90 "$T/big.jpg"
for env in IMGBATCH_NO_RAW=0 IMGBATCH_NO_RAW=1; do
    rm -rf "$T/o"
    expect_exit 0 env $env bash -c \
        "$(declare -f under_limit); under_limit 200000 \"\$@\"" - \
        "$IMGBATCH" transform -q --engine serial -o "$T/o" \
        --crop 5990x3990+5+5 --resize 300 "$T/big.jpg"
    [ "$(dims "$T/o/big.jpg")" = "300 200" ] || fail "big: $env"
done
ok "24 MP through planes and RGB under ulimit -v 200 MB"

# sampling factors no encoder default gives (4:1:1, 1x4, 3x1 luma, chroma
# with factors above 1, baseline and progressive) at odd sizes, through
# mirrors, a quarter turn, crops and renditions: as the RGB path
mkdir -p "$T/sf"
for s in 4x1,1x1,1x1 1x4,1x1,1x1 3x1,1x1,1x1 2x2,2x1,1x1 1x2,2x1,1x1 \
         2x1,1x2,1x1; do
    n=$(echo "$s" | tr ',x' '_-')
    convert -seed 9 -size 60x40 plasma:red-blue -resize 301x203! \
        -sampling-factor "$s" -quality 90 "$T/sf/b$n.jpg"
    convert -seed 9 -size 60x40 plasma:red-blue -resize 203x301! \
        -sampling-factor "$s" -interlace JPEG -quality 90 "$T/sf/p$n.jpg"
done
[ "$(identify -format %[jpeg:sampling-factor] "$T/sf/b4-1_1-1_1-1.jpg")" \
    = 4x1,1x1,1x1 ] || fail "4x1 input not made"
for opts in "--resize 150 --rotate 90" \
            "--flop --crop 200x150+33+17 --jpeg-subsample 444" \
            "--size 120,90x200 --flip" "--rotate 270 --jpeg-subsample 422"; do
    rm -rf "$T/raw" "$T/rgb"
    # shellcheck disable=SC2086
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/raw" $opts "$T/sf"
    # shellcheck disable=SC2086
    expect_exit 0 env IMGBATCH_NO_RAW=1 "$IMGBATCH" transform -q \
        -o "$T/rgb" $opts "$T/sf"
    a=$(cd "$T/raw" && identify -format '%f %w %h %[jpeg:sampling-factor]\n' \
        *.jpg)
    b=$(cd "$T/rgb" && identify -format '%f %w %h %[jpeg:sampling-factor]\n' \
        *.jpg)
    [ "$a" = "$b" ] || fail "$opts: outputs differ: $a // $b"
    for f in "$T"/rgb/*.jpg; do
        n=$(basename "$f")
        p=$(psnr "$f" "$T/raw/$n")
        awk -v p="$p" 'BEGIN { exit !(p == "inf" || p + 0 >= 40) }' ||
            fail "$opts: $n raw vs RGB is $p dB"
    done
done
ok "4:1:1, 1x4, 3x1 and chroma factors above 1: as the RGB path"

# under 16 pixels a side, the RGB path: a chroma plane of a few samples
# is what Lanczos overshoots, so tiny inputs give the RGB path's bytes
mkdir -p "$T/tiny"
for d in 3x5 1x7 15x40 40x15; do
    convert -seed 4 -size 60x40 plasma:red-blue -resize "$d!" \
        -sampling-factor 2x2 -quality 90 "$T/tiny/t$d.jpg"
done
convert -seed 4 -size 60x40 plasma:red-blue -resize '16x16!' \
    -sampling-factor 2x2 -quality 90 "$T/tiny/big16.jpg"
for opts in "--jpeg-subsample 444" "--rotate 90"; do
    rm -rf "$T/raw" "$T/rgb"
    # shellcheck disable=SC2086
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/raw" $opts "$T/tiny"
    # shellcheck disable=SC2086
    expect_exit 0 env IMGBATCH_NO_RAW=1 "$IMGBATCH" transform -q \
        -o "$T/rgb" $opts "$T/tiny"
    for d in 3x5 1x7 15x40 40x15; do
        cmp -s "$T/raw/t$d.jpg" "$T/rgb/t$d.jpg" ||
            fail "$opts: $d went the raw path"
    done
    # 16x16 is the raw path's: same size, not the same bytes
    [ "$(identify -format '%w %h' "$T/raw/big16.jpg")" = \
      "$(identify -format '%w %h' "$T/rgb/big16.jpg")" ] ||
        fail "$opts: 16x16 sizes differ"
    ! cmp -s "$T/raw/big16.jpg" "$T/rgb/big16.jpg" ||
        fail "$opts: 16x16 did not take the raw path"
done
ok "inputs under 16 pixels a side take the RGB path"
