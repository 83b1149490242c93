#!/usr/bin/env bash
# --crop, --rotate, --flip, --flop: pixel-exact against ImageMagick on PNG,
# for odd sizes, 1x1, 10000x1, 1x10000, grey, RGB and RGBA; ops chain in
# command-line order; bad values are usage errors naming the option.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/in"
convert -seed 21 -size 37x23 plasma:fractal -depth 8 "$T/in/rgb.png"
convert -seed 22 -size 23x37 plasma:fractal -alpha set -channel A \
    -fx 'i/w' +channel -depth 8 "$T/in/rgba.png"
convert -seed 23 -size 31x17 plasma:fractal -colorspace Gray -depth 8 \
    "$T/in/grey.png"
convert -size 1x1 xc:'#123456' "$T/in/one.png"
convert -size 10000x1 gradient:red-blue -depth 8 "$T/in/row.png"
convert -size 1x10000 gradient:red-blue -depth 8 "$T/in/col.png"

# same OURS-ARGS -- IM-ARGS: every input in $SRC through both, compared
# exactly
SRC=$T/in
same() {
    local ours=() theirs=()
    while [ "$1" != "--" ]; do ours+=("$1"); shift; done
    shift
    theirs=("$@")
    rm -rf "$T/o"
    expect_exit 0 "$IMGBATCH" transform -q -o "$T/o" "${ours[@]}" "$SRC"
    for f in "$SRC"/*.png; do
        local b
        b=$(basename "$f")
        convert "$f" "${theirs[@]}" +repage "$T/ref.png"
        [ "$(dims "$T/o/$b")" = "$(dims "$T/ref.png")" ] ||
            fail "${ours[*]} $b: size $(dims "$T/o/$b"), want" \
                "$(dims "$T/ref.png")"
        ae=$(compare -metric AE "$T/o/$b" "$T/ref.png" null: 2>&1 ||
            true)
        [ "$ae" = 0 ] || fail "${ours[*]} $b: $ae pixels differ"
    done
}

same --rotate 90 -- -rotate 90
same --rotate 180 -- -rotate 180
same --rotate 270 -- -rotate 270
same --flip -- -flip
same --flop -- -flop
ok "rotate, flip, flop match ImageMagick exactly"

same --crop 10x5+0+0 -- -crop 10x5+0+0
same --crop 1x1+0+0 -- -crop 1x1+0+0
mkdir -p "$T/big"
cp "$T/in/rgb.png" "$T/in/rgba.png" "$T/in/grey.png" "$T/big/"
SRC=$T/big
same --crop 10x5+3+4 -- -crop 10x5+3+4
same --crop 5000x5000+0+0 -- -crop 5000x5000+0+0
# crosses the right and bottom edges: clamped
same --crop 30x30+0+0 -- -crop 30x30+0+0
ok "crop matches ImageMagick exactly, clamped at the edges"

mkdir -p "$T/r" "$T/c"
cp "$T/in/row.png" "$T/r/"
cp "$T/in/col.png" "$T/c/"
SRC=$T/c
same --crop 50x50+0+9990 -- -crop 50x50+0+9990
SRC=$T/r
same --crop 20x7+9000+0 -- -crop 20x7+9000+0
SRC=$T/big
# order matters, and each order matches ImageMagick in the same order
same --rotate 90 --crop 8x6+2+1 -- -rotate 90 +repage -crop 8x6+2+1
cp -r "$T/o" "$T/rc"
same --crop 8x6+2+1 --rotate 90 -- -crop 8x6+2+1 +repage -rotate 90
! cmp -s "$T/rc/rgb.png" "$T/o/rgb.png" || fail "rotate+crop == crop+rotate"
SRC=$T/in
same --flip --rotate 270 --flop -- -flip -rotate 270 -flop
ok "ops apply in command-line order"

# a region outside the image fails that item (exit 1), not the batch
rm -rf "$T/o"
expect_exit 1 "$IMGBATCH" transform -q -o "$T/o" --crop 4x4+30+0 \
    "$T/in/rgb.png" "$T/in/rgba.png"
assert_grep "outside the 23x37 image" "$T/stderr"
[ "$(dims "$T/o/rgb.png")" = "4 4" ] || fail "the other item was not done"
[ ! -e "$T/o/rgba.png" ] || fail "output written for an empty crop"
ok "a crop outside the image is an item error"

# bad values: exit 2 before any file is touched, naming the option
for bad in "--crop 0x0+0+0" "--crop 10x10" "--crop 10x10+-1+0" \
           "--rotate 45" "--rotate -90" "--blur -1" "--blur 0" \
           "--blur abc" "--sharpen x" "--sharpen 1,y" "--sharpen 1,-2" \
           "--resize 0x0"; do
    set -- $bad
    rm -rf "$T/o"
    expect_exit 2 "$IMGBATCH" transform -o "$T/o" "$1" "$2" "$T/in/rgb.png"
    assert_grep "$1" "$T/stderr"
    [ ! -e "$T/o/rgb.png" ] || fail "$bad: a file was written"
done
ok "bad values are usage errors naming the option"
