#!/usr/bin/env bash
# Whole-image ops in bounded memory: --blur and --sharpen work over the
# decoded image itself (a ring of rows or column strips beside it), so a
# 6000x4000 RGB PNG (72 MB decoded) blurs under a `ulimit -v` of 130 MB,
# where holding a second image, as blur did before, needs more than 160 MB.
. "$(dirname "$0")/lib.sh"

# levels FILE: the first channel at three pixels, one decode
levels() {
    convert "$1" -depth 8 -format \
        '%[fx:int(255*p{1000,700}.r+0.5)] %[fx:int(255*p{3001,2002}.r+0.5)] %[fx:int(255*p{5500,3900}.r+0.5)]' \
        info:
}

mkdir -p "$T/in"
python3 "$IB_TESTS/cli/long_png.py" "$T/in/big.png" 6000 4000 3
read -r -a want <<<"$(levels "$T/in/big.png")"

# sigma 2 takes the exact kernel, 8 the recursive filter; JPEG out, as
# the PNG encoder would only add time
while read -r engine op; do
    rm -rf "$T/o"
    # shellcheck disable=SC2086
    expect_exit 0 under_limit 130000 "$IMGBATCH" transform -q \
        --engine "$engine" -o "$T/o" --format jpeg $op "$T/in/big.png"
    [ "$(dims "$T/o/big.jpg")" = "6000 4000" ] ||
        fail "$op $engine: $(dims "$T/o/big.jpg")"
    # the picture is piecewise linear: blurred, it keeps its levels
    read -r -a got <<<"$(levels "$T/o/big.jpg")"
    for i in 0 1 2; do
        d=$((got[i] - want[i]))
        [ "${d#-}" -le 4 ] ||
            fail "$op $engine: level ${got[i]}, not near ${want[i]}"
    done
done <<'RUNS'
serial --blur 2
procs --blur 8
serial --sharpen 2
RUNS
ok "blur and sharpen of 6000x4000 RGB under ulimit -v 130 MB"
