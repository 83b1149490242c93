#!/usr/bin/env bash
# Formats imgbatch recognises but cannot read yet fail by name ("GIF is
# not supported"), not as an unknown signature; text that merely starts
# like one ("BM...") is still unknown. Inside a folder such files are
# skipped and counted as not images, as any other file.
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
for pair in x.gif:GIF x.tiff:TIFF x.webp:WebP x.avif:AVIF x.heic:HEIC \
    x.bmp:BMP big.tif:TIFF generic.heif:HEIC compat.avif:AVIF; do
    assert_grep "^imgbatch transform: cannot transform '$T/in/${pair%%:*}': ${pair#*:} is not supported$" "$T/stderr"
done
assert_grep "cannot transform '$T/in/cars.bmp': not a JPEG or PNG image (unknown signature)$" "$T/stderr"
json_check "$T/r.jsonl" "len(items) == 10 and summary['failed'] == 10"
json_check "$T/r.jsonl" "sorted(i['error'] for i in items if i['input'].endswith('x.webp')) == ['WebP is not supported']"
[ -z "$(ls "$T/out")" ] || fail "an output was written"
ok "a known format we cannot read fails by name"

cp "$T/in"/x.* "$T/dir/"
convert -size 8x6 xc:blue "$T/dir/y.png"
expect_exit 0 "$IMGBATCH" transform -o "$T/out2" --report "$T/r2.jsonl" \
    "$T/dir"
json_check "$T/r2.jsonl" "len(items) == 1 and summary['ok'] == 1 and summary['not_images'] == 6"
[ "$(dims "$T/out2/y.png")" = "8 6" ] || fail "y.png not made"
ok "inside a folder they are counted as not images"

expect_exit 2 "$IMGBATCH" transform -o "$T/out3" --format webp "$T/dir"
assert_grep "invalid --format 'webp' (jpeg, png or same)" "$T/stderr"
ok "--format names only formats that can be written"
