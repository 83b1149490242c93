#!/usr/bin/env bash
# EXIF orientation 1..8: all come out upright by default (the same picture
# as orientation 1); with --no-auto-orient the stored pixels are kept.
. "$(dirname "$0")/lib.sh"

gen "$T/in"
expect_exit 0 "$IMGBATCH" transform -o "$T/up" --format png "$T"/in/orient-?.jpg
ref="$T/up/orient-1.png"
for o in 2 3 4 5 6 7 8; do
    f="$T/up/orient-$o.png"
    [ "$(dims "$f")" = "$(dims "$ref")" ] || fail "orient-$o not upright"
    # normalised RMSE against orientation 1: only JPEG noise may differ
    e=$({ compare -metric RMSE "$f" "$ref" null: 2>&1 || true; } | sed 's/.*(\(.*\))/\1/')
    python3 -c "import sys; sys.exit(0 if float('$e') < 0.03 else 1)" ||
        fail "orient-$o differs from orient-1 (nrmse $e)"
done
ok "orientations 1..8 come out upright"

expect_exit 0 "$IMGBATCH" transform -o "$T/raw" --no-auto-orient \
    --format png "$T/in/orient-1.jpg" "$T/in/orient-6.jpg"
read -r w1 h1 <<<"$(dims "$T/raw/orient-1.png")"
[ "$(dims "$T/raw/orient-6.png")" = "$h1 $w1" ] ||
    fail "--no-auto-orient rotated orient-6"
ok "--no-auto-orient keeps stored pixels"
