#!/usr/bin/env bash
# The JPEG encoder controls through the CLI, read back by ImageMagick and
# by the file's own markers: --jpeg-subsample sets the sampling factors,
# --progressive writes SOF2, optimised Huffman tables (the default up to
# 8 MP) are smaller than --no-jpeg-optimize's with identical pixels;
# changing a setting redoes the output on a rerun and a setting that
# changes no byte does not; bad values are usage errors.
. "$(dirname "$0")/lib.sh"

# markers FILE: the JPEG's marker codes up to the first scan, in hex
# ("d8 e0 db c0 c4 da"), by walking the segments as a decoder does
markers() {
    python3 - "$1" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
assert d[:2] == b"\xff\xd8", "no SOI"
out, i = ["d8"], 2
while i < len(d):
    assert d[i] == 0xFF, "no marker at %d" % i
    m = d[i + 1]
    out.append("%02x" % m)
    if m == 0xDA:
        break
    i += 2 + int.from_bytes(d[i + 2:i + 4], "big")
print(" ".join(out))
PY
}
sampling() { identify -format '%[jpeg:sampling-factor]' "$1"; }
ae() { compare -metric AE "$1" "$2" null: 2>&1 || true; }

mkdir -p "$T/in"
# photo-like pictures, seeded so runs agree; PNG sources, so no JPEG
# decoder's upsampling stands between the settings and the pixels
convert -size 640x480 -seed 11 plasma:fractal -depth 8 "$T/in/photo.png"
convert "$T/in/photo.png" -colorspace gray -type grayscale "$T/in/grey.png"

# enc OUT ARGS...: transform in/ to OUT as JPEG with ARGS
enc() {
    local out=$1
    shift
    rm -rf "$out"
    expect_exit 0 "$IMGBATCH" transform -q -o "$out" --format jpeg "$@" \
        "$T/in"
}

enc "$T/def"
[ "$(sampling "$T/def/photo.jpg")" = "2x2,1x1,1x1" ] ||
    fail "default sampling $(sampling "$T/def/photo.jpg"), want 4:2:0"
for m in 444:1x1,1x1,1x1 422:2x1,1x1,1x1 420:2x2,1x1,1x1; do
    enc "$T/s${m%:*}" --jpeg-subsample "${m%:*}"
    got=$(sampling "$T/s${m%:*}/photo.jpg")
    [ "$got" = "${m#*:}" ] || fail "--jpeg-subsample ${m%:*}: $got"
done
cmp -s "$T/s420/photo.jpg" "$T/def/photo.jpg" || fail "420 is not the default"
enc "$T/colon" --jpeg-subsample 4:4:4
cmp -s "$T/colon/photo.jpg" "$T/s444/photo.jpg" || fail "4:4:4 is not 444"
[ "$(identify -format '%[channels]' "$T/s444/grey.jpg")" = gray ] ||
    fail "a grey input's 4:4:4 output is not one grey component"
# 4:4:4 keeps what 4:2:0 averages away: nearer the source, and bigger
declare -A e
for s in 444 422 420; do
    e[$s]=$(compare -metric RMSE "$T/in/photo.png" "$T/s$s/photo.jpg" \
        null: 2>&1 | sed 's/ .*//') || true
done
awk -v a="${e[444]}" -v b="${e[422]}" -v c="${e[420]}" \
    'BEGIN { exit !(a < b && b < c) }' ||
    fail "RMSE 444 ${e[444]}, 422 ${e[422]}, 420 ${e[420]}: not in order"
[ "$(stat -c %s "$T/s444/photo.jpg")" -gt "$(stat -c %s "$T/s420/photo.jpg")" ] ||
    fail "4:4:4 is not bigger than 4:2:0"
ok "--jpeg-subsample: 444 1x1, 422 2x1, 420 2x2 (the default); error 444 < 422 < 420"

# baseline by default (SOF0), progressive on request (SOF2)
m=$(markers "$T/def/photo.jpg")
[[ " $m " == *" c0 "* && " $m " != *" c2 "* ]] || fail "default markers: $m"
enc "$T/prog" --progressive
m=$(markers "$T/prog/photo.jpg")
[[ " $m " == *" c2 "* && " $m " != *" c0 "* ]] || fail "progressive markers: $m"
[ "$(identify -format '%[interlace]' "$T/prog/photo.jpg")" = JPEG ] ||
    fail "ImageMagick does not see a progressive JPEG"
[ "$(ae "$T/prog/photo.jpg" "$T/def/photo.jpg")" = 0 ] ||
    fail "progressive changed the pixels"
ok "baseline by default (SOF0), --progressive writes SOF2, same pixels"

# optimised tables: smaller, same pixels, for colour and grey
enc "$T/std" --no-jpeg-optimize
for f in photo grey; do
    a=$(stat -c %s "$T/def/$f.jpg")
    b=$(stat -c %s "$T/std/$f.jpg")
    [ "$a" -lt "$b" ] || fail "$f: optimised $a bytes, standard $b"
    [ "$(ae "$T/def/$f.jpg" "$T/std/$f.jpg")" = 0 ] ||
        fail "$f: optimised tables changed the pixels"
    echo "# $f: optimised $a bytes, standard tables $b"
done
enc "$T/opt" --jpeg-optimize
cmp -s "$T/opt/photo.jpg" "$T/def/photo.jpg" ||
    fail "--jpeg-optimize is not the default at 640x480"
# libjpeg optimises every progressive file's tables
enc "$T/progstd" --progressive --no-jpeg-optimize
cmp -s "$T/progstd/photo.jpg" "$T/prog/photo.jpg" ||
    fail "--no-jpeg-optimize changed a progressive output"
ok "optimised Huffman tables by default: smaller than --no-jpeg-optimize, same pixels"

# above 8 MP (2^23 pixels) the default keeps the standard tables, sparing
# the whole-image coefficient buffer; --jpeg-optimize fits them anyway
mkdir -p "$T/big"
python3 "$IB_TESTS/cli/long_png.py" "$T/big/b.png" 2897 2896 3   # 2^23 + 1087
python3 "$IB_TESTS/cli/long_png.py" "$T/big/s.png" 2896 2896 3   # 2^23 - 1600
for a in "" --jpeg-optimize --no-jpeg-optimize; do
    rm -rf "$T/bo$a"
    # shellcheck disable=SC2086
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/bo$a" --format jpeg $a "$T/big"
done
cmp -s "$T/bo/b.jpg" "$T/bo--no-jpeg-optimize/b.jpg" ||
    fail "over 8 MP: the default did not keep the standard tables"
cmp -s "$T/bo/s.jpg" "$T/bo--jpeg-optimize/s.jpg" ||
    fail "at 8 MP: the default did not fit the tables"
for f in b s; do
    [ "$(stat -c %s "$T/bo--jpeg-optimize/$f.jpg")" -lt \
      "$(stat -c %s "$T/bo--no-jpeg-optimize/$f.jpg")" ] ||
        fail "$f: --jpeg-optimize is not smaller"
done
ok "the default fits tables up to 8 MP (2^23 pixels), not above; --jpeg-optimize at any size"

# Reruns: each setting changed alone redoes the output; the same bytes
# spelled another way do not. go WANT ARGS...: transform, one item, whose
# status must be WANT (any: ok or skipped)
go() {
    local want=$1 got
    shift
    expect_exit 0 "$IMGBATCH" transform -o "$T/re" --format jpeg \
        "$T/in/photo.png" --report "$T/rep" "$@"
    got=$(grep -v '^{"summary"' "$T/rep" |
          sed -n 's/.*"status":"\([^"]*\)".*/\1/p')
    [ "$want" = any ] && [[ $got == ok || $got == skipped ]] && return
    [ "$got" = "$want" ] || fail "transform $*: status '$got', want $want"
}
# BEFORE | AFTER | ok (redone) or skipped | 1 if the bytes must differ
# (--jpeg-optimize names other bytes than the default at other sizes, so
# it redoes this small image's output, to the same bytes)
rows=(
    "|--no-jpeg-optimize|ok|1"
    "--no-jpeg-optimize||ok|1"
    "|--jpeg-subsample 444|ok|1"
    "--jpeg-subsample 444|--jpeg-subsample 422|ok|1"
    "--jpeg-subsample 422||ok|1"
    "|--progressive|ok|1"
    "|--jpeg-optimize|ok|0"
    "--no-jpeg-optimize|--jpeg-optimize|ok|1"
    "|--jpeg-subsample 420|skipped|0"
    "--jpeg-subsample 444|--jpeg-subsample 4:4:4|skipped|0"
    "--progressive|--progressive --no-jpeg-optimize|skipped|0"
    "--progressive|--progressive --jpeg-optimize|skipped|0"
)
for row in "${rows[@]}"; do
    IFS='|' read -r before after want bytes <<<"$row"
    # shellcheck disable=SC2086
    {
        go any $before
        go skipped $before
        cp "$T/re/photo.jpg" "$T/before.jpg"
        go "$want" $after
        go skipped $after
    }
    if [ "$bytes" = 1 ]; then
        ! cmp -s "$T/before.jpg" "$T/re/photo.jpg" ||
            fail "'$after' after '$before' redid the same bytes"
    else
        cmp -s "$T/before.jpg" "$T/re/photo.jpg" ||
            fail "'$after' after '$before' changed the bytes"
    fi
done
# a PNG's recipe has no JPEG settings
go any --format png
go skipped --format png
go skipped --format png --jpeg-subsample 444 --no-jpeg-optimize --progressive
ok "transform: each JPEG setting changed redoes the output, the same bytes do not"

# run records recipes in its journal: one change through it too
start_server
cp "$T/in/photo.png" "$T/srv/"
echo "$BASE/file/photo.png" >"$T/urls"
run_expect 0 "$T/urls" -o "$T/run" --format jpeg
run_expect 0 "$T/urls" -o "$T/run" --format jpeg --report "$T/rep"
json_check "$T/rep" "items[0]['status'] == 'unchanged'"
run_expect 0 "$T/urls" -o "$T/run" --format jpeg --report "$T/rep" \
    --jpeg-subsample 444
json_check "$T/rep" "items[0]['status'] == 'ok'"
[ "$(sampling "$T/run/photo.jpg")" = "1x1,1x1,1x1" ] || fail "run: not 4:4:4"
run_expect 0 "$T/urls" -o "$T/run" --format jpeg --report "$T/rep" \
    --jpeg-subsample 4:4:4
json_check "$T/rep" "items[0]['status'] == 'unchanged'"
ok "run: --jpeg-subsample changed redoes the output, respelled does not"

# bad values: usage errors (exit 2) naming the option, nothing written
for bad in 411 4:1:1 "" 444x 0 4:2 jpeg=444; do
    expect_exit 2 "$IMGBATCH" transform -o "$T/bad" --jpeg-subsample "$bad" \
        "$T/in"
    assert_grep "invalid --jpeg-subsample '$bad'" "$T/stderr"
done
expect_exit 2 "$IMGBATCH" transform -o "$T/bad" --jpeg-optimize=no "$T/in"
expect_exit 2 "$IMGBATCH" run "$T/urls" -o "$T/bad" --jpeg-subsample 440
assert_grep "invalid --jpeg-subsample '440'" "$T/stderr"
[ ! -e "$T/bad" ] || [ -z "$(find "$T/bad" -name '*.jpg')" ] ||
    fail "a usage error wrote outputs"
ok "bad --jpeg-subsample values and --jpeg-optimize=no are usage errors (exit 2)"
