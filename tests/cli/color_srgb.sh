#!/usr/bin/env bash
# --strip on a photo whose ICC profile is not sRGB (Display P3, Adobe RGB)
# converts its pixels to sRGB before dropping the profile, so it looks the
# same without it. Reference: ImageMagick's own -profile conversion. The
# check can fail: unconverted, the same pixels are ~23 dB off.
. "$IB_TESTS/cli/lib.sh"

icc=$(dirname "$IB_GEN")/ib-icc
psnr() { compare -metric PSNR "$1" "$2" null: 2>&1 || true; }
at_least() { [ "$2" = inf ] || awk -v a="$2" -v b="$1" 'BEGIN { exit !(a + 0 >= b) }'; }

mkdir -p "$T/in"
for p in p3 adobergb srgb; do "$icc" $p "$T/$p.icc"; done
# saturated colours, where the gamuts differ most, tagged sRGB first
convert -size 256x256 gradient:red-lime -rotate 90 \
    \( -size 256x256 gradient:blue-yellow \) -compose blend \
    -define compose:args=50 -composite -depth 8 -profile "$T/srgb.icc" \
    "$T/src.png"
for p in p3 adobergb; do
    # the same colours expressed in p's space, p's profile embedded
    convert "$T/src.png" -profile "$T/$p.icc" "$T/in/$p.png"
    convert "$T/src.png" -profile "$T/$p.icc" -quality 95 "$T/in/$p-j.jpg"
    convert "$T/in/$p.png" -profile "$T/srgb.icc" -strip "$T/ref-$p.png"
    convert "$T/in/$p-j.jpg" -profile "$T/srgb.icc" -strip "$T/ref-$p-j.png"
done

expect_exit 0 "$IMGBATCH" transform -q --strip --format png -o "$T/out" \
    "$T/in"
for p in p3 adobergb p3-j adobergb-j; do
    out=$T/out/$p.png
    [ -f "$out" ] || fail "no $out"
    identify -verbose "$out" | grep -qi 'icc' && fail "$out kept a profile"
    got=$(psnr "$out" "$T/ref-$p.png")
    at_least 40 "$got" || fail "$p: PSNR $got dB against ImageMagick's sRGB"
done
base=$(psnr "$T/in/p3.png" "$T/ref-p3.png")
at_least 35 "$base" && fail "the P3 sample is too close to sRGB ($base dB)"
ok "--strip converts Display P3 and Adobe RGB to sRGB (PNG and JPEG in)"

# without --strip the profile is kept and the pixels untouched
expect_exit 0 "$IMGBATCH" transform -q --format png -o "$T/keep" "$T/in/p3.png"
convert "$T/keep/p3.png" "$T/keep-icc.icc"
cmp -s "$T/keep-icc.icc" "$T/p3.icc" || fail "the P3 profile was not kept"
got=$(psnr "$T/keep/p3.png" "$T/in/p3.png")
[ "$got" = inf ] || fail "kept profile but pixels changed ($got dB)"
ok "without --strip the source profile is kept as it is"

# WebP and AVIF carry the profile too
expect_exit 0 "$IMGBATCH" transform -q --format webp -o "$T/w" "$T/in/p3.png"
convert "$T/w/p3.webp" "$T/w.icc"
cmp -s "$T/w.icc" "$T/p3.icc" || fail "WebP lost the profile"
ok "WebP keeps the profile"
