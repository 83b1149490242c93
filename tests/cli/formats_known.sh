#!/usr/bin/env bash
# Formats imgbatch recognises but cannot read yet fail by name ("GIF is
# not supported"), not as an unknown signature; text that merely starts
# like one ("BM...") is still unknown. Inside a folder such files are
# skipped and counted as not images, as any other file. WebP and AVIF,
# once in that list, are read.
. "$IB_TESTS/cli/lib.sh"

mkdir -p "$T/in" "$T/dir"
for f in gif tiff webp avif heic bmp; do
    convert -size 8x6 xc:red "$T/in/x.$f" || fail "convert cannot make $f"
done
# by hand: BigTIFF; a HEIF whose major brand is the generic mif1; an AVIF
# that says avif only among its compatible brands
printf 'II+\0\10\0\0\0' >"$T/in/big.tif"
printf '\0\0\0\30ftypmif1\0\0\0\0mif1heic' >"$T/in/generic.heif"
printf '\0\0\0\30ftypmif1\0\0\0\0mif1avif' >"$T/in/compat.avif"
printf 'BMW and Audi, a list\n' >"$T/in/cars.bmp"

expect_exit 1 "$IMGBATCH" transform -o "$T/out" --report "$T/r.jsonl" \
    "$T"/in/*
for pair in x.gif:GIF x.tiff:TIFF x.heic:HEIC x.bmp:BMP big.tif:TIFF \
    generic.heif:HEIC; do
    assert_grep "^imgbatch transform: cannot transform '$T/in/${pair%%:*}': ${pair#*:} is not supported$" "$T/stderr"
done
assert_grep "cannot transform '$T/in/cars.bmp': not a JPEG, PNG, WebP or AVIF image (unknown signature)$" "$T/stderr"
# an AVIF by its brand that is only a header: read as AVIF, fails as one
assert_grep "cannot transform '$T/in/compat.avif': .*AVIF" "$T/stderr"
json_check "$T/r.jsonl" "len(items) == 10 and summary['failed'] == 8 and summary['ok'] == 2"
json_check "$T/r.jsonl" "sorted(i['error'] for i in items if i['input'].endswith('x.gif')) == ['GIF is not supported']"
[ "$(ls "$T/out")" = "$(printf 'x.avif\nx.webp')" ] || fail "outputs: $(ls "$T/out")"
ok "a known format we cannot read fails by name"

cp "$T/in"/x.* "$T/dir/"
convert -size 8x6 xc:blue "$T/dir/y.png"
expect_exit 0 "$IMGBATCH" transform -o "$T/out2" --report "$T/r2.jsonl" \
    "$T/dir"
json_check "$T/r2.jsonl" "len(items) == 3 and summary['ok'] == 3 and summary['not_images'] == 4"
[ "$(dims "$T/out2/y.png")" = "8 6" ] || fail "y.png not made"
ok "inside a folder they are counted as not images"

expect_exit 2 "$IMGBATCH" transform -o "$T/out3" --format gif "$T/dir"
assert_grep "invalid --format 'gif' (jpeg, png, webp, avif or same)" "$T/stderr"
ok "--format names only formats that can be written"
