#!/usr/bin/env bash
# Renditions: 3 sizes x 3 formats from one decode, from JPEG, PNG with
# alpha, WebP and AVIF inputs; every output decoded by ImageMagick and
# compared with a reference resize; the report lists each rendition; a
# rerun redoes exactly the renditions whose own recipe changed; names from
# templates, collisions made unique; a broken input fails alone.
. "$IB_TESTS/cli/lib.sh"

psnr() {   # psnr A B: over the pixels as shown on white
    convert "$1" -background white -alpha remove "$T/psnr-a.png"
    convert "$2" -background white -alpha remove "$T/psnr-b.png"
    compare -metric PSNR "$T/psnr-a.png" "$T/psnr-b.png" null: 2>&1 || true
}
at_least() { [ "$2" = inf ] || awk -v a="$2" -v b="$1" 'BEGIN { exit !(a + 0 >= b) }'; }
as_png() {   # ImageMagick's AVIF reader needs -colorspace sRGB (IM 6)
    case $1 in   # and drops alpha: AVIF with alpha decoded by imgbatch
    *alpha*.avif) rm -rf "$T/asp" &&
                  "$IMGBATCH" transform -q --format png -o "$T/asp" "$1" &&
                  mv "$T/asp"/*.png "$2" ;;
    *.avif) convert "$1" -colorspace sRGB "$2" ;;
    *) convert "$1" "$2" ;;
    esac
}
magic() {   # magic FILE: jpeg, png, webp or avif, by the file's bytes
    local b
    b=$(head -c 12 "$1" | od -An -tx1 | tr -d ' \n')
    case $b in
    ffd8ff*) echo jpeg ;;
    89504e47*) echo png ;;
    52494646????????57454250) echo webp ;;
    ????????6674797061766966) echo avif ;;
    *) echo "unknown:$b" ;;
    esac
}
sig() { stat -c '%i %Y' "$1"; }   # inode and mtime: was it rewritten?

in=$T/in
mkdir -p "$in/sub" "$T/src"
convert -seed 3 -size 400x300 plasma:fractal -quality 95 "$in/photo.jpg"
convert -size 400x300 xc:none -fill 'rgba(0,120,200,0.7)' \
    -draw 'circle 200,150 200,20' "$in/sub/alpha.png"
convert -seed 5 -size 400x300 plasma:fractal "$T/src/w.png"
convert -seed 9 -size 400x300 plasma:fractal "$T/src/a.png"
expect_exit 0 "$IMGBATCH" transform -q --format webp --quality 95 \
    -o "$T/webp" "$T/src/w.png"
expect_exit 0 "$IMGBATCH" transform -q --format avif --quality 90 \
    -o "$T/avif" "$T/src/a.png"
cp "$T/webp/w.webp" "$in/w.webp"
cp "$T/avif/a.avif" "$in/a.avif"
# sources as PNG, for the reference resizes
convert "$in/photo.jpg" "$T/src/photo.png"
cp "$in/sub/alpha.png" "$T/src/alpha.png"
as_png "$in/w.webp" "$T/src/w.png"
"$IMGBATCH" transform -q --format png -o "$T/avpng" "$in/a.avif" ||
    fail "avif input to png"
cp "$T/avpng/a.png" "$T/src/a.png"

# 1. 3 sizes x 3 formats, default names {dir}/{stem}-{size}.{ext}
out=$T/out
expect_exit 0 "$IMGBATCH" transform -q --width 60,100,200 \
    --format jpeg,webp,avif -o "$out" --report "$T/r1.jsonl" "$in"
for stem in photo sub/alpha w a; do
    for w in 60 100 200; do
        h=$((w * 3 / 4))
        for ext in jpg webp avif; do
            f=$out/$stem-${w}w.$ext
            [ -f "$f" ] || fail "no $f"
            want=$ext
            [ "$ext" = jpg ] && want=jpeg
            [ "$(magic "$f")" = "$want" ] || fail "$f is $(magic "$f")"
            as_png "$f" "$T/check.png"
            [ "$(dims "$T/check.png")" = "$w $h" ] ||
                fail "$f is $(dims "$T/check.png"), not $w x $h"
            convert "$T/src/$(basename "$stem").png" -resize "${w}x" \
                "$T/ref.png"
            p=$(psnr "$T/ref.png" "$T/check.png")
            at_least 28 "$p" || fail "$f: PSNR $p dB against a reference resize"
        done
    done
done
n=$(find "$out" -type f ! -name '.*' | wc -l)
[ "$n" = 36 ] || fail "$n outputs, not 36"
ok "4 inputs (JPEG, PNG+alpha, WebP, AVIF) x 3 sizes x 3 formats, each right"

# the alpha survived in WebP and AVIF, and was flattened in JPEG
for ext in webp avif; do
    f=$out/sub/alpha-100w.$ext
    if [ "$ext" = avif ]; then
        "$IMGBATCH" transform -q --format png -o "$T/al" "$f" &&
            f2=$T/al/alpha-100w.png
    else
        f2=$f
    fi
    o=$(convert "$f2" -alpha extract -format '%[fx:mean]' info:)
    awk -v m="$o" 'BEGIN { exit !(m > 0.2 && m < 0.8) }' ||
        fail "$ext alpha lost (mean opacity $o)"
done
ok "alpha kept in WebP and AVIF renditions"

# the report: one line per input, every rendition with its size and bytes
json_check "$T/r1.jsonl" "summary['ok'] == 4 and all(len(i['renditions']) == 9 and all(r['status'] == 'ok' for r in i['renditions']) for i in items)"
python3 - "$T/r1.jsonl" <<'PY' || fail "report renditions disagree with the files"
import json, os, sys
for line in open(sys.argv[1]):
    i = json.loads(line)
    if i.get("summary"):
        continue
    for r in i["renditions"]:
        assert os.path.getsize(r["output"]) == r["bytes"], r
        assert r["width"] == int(r["size"][:-1]), r
        ext = r["output"].rsplit(".", 1)[1]
        assert {"jpg": "jpeg"}.get(ext, ext) == r["format"], r
    assert i["width_out"] == 200 and i["height_out"] == 150, i
PY
ok "the report lists each rendition: path, format, size, bytes"

# 2. reruns: nothing changed -> all skipped, nothing rewritten
declare -A before
for f in $(find "$out" -type f ! -name '.*'); do before[$f]=$(sig "$f"); done
sleep 1.1
expect_exit 0 "$IMGBATCH" transform -q --width 60,100,200 \
    --format jpeg,webp,avif -o "$out" --report "$T/r2.jsonl" "$in"
json_check "$T/r2.jsonl" "summary['skipped'] == 4 and summary['ok'] == 0"
for f in "${!before[@]}"; do
    [ "$(sig "$f")" = "${before[$f]}" ] || fail "$f rewritten by a rerun"
done
# the smallest size changed (60 -> 40): only its three renditions per
# input (a larger size may feed smaller ones: changing it redoes them)
expect_exit 0 "$IMGBATCH" transform -q --width 40,100,200 \
    --format jpeg,webp,avif -o "$out" --report "$T/r3.jsonl" "$in"
json_check "$T/r3.jsonl" "summary['ok'] == 4 and all(sorted(r['status'] for r in i['renditions']) == ['ok'] * 3 + ['skipped'] * 6 and all((r['status'] == 'ok') == (r['size'] == '40w') for r in i['renditions']) for i in items)"
for f in "${!before[@]}"; do
    [ "$(sig "$f")" = "${before[$f]}" ] || fail "$f rewritten, its recipe unchanged"
done
[ "$(dims "$out/photo-40w.jpg")" = "40 30" ] || fail "40w size"
# one format's quality changed: only that format's renditions
expect_exit 0 "$IMGBATCH" transform -q --width 40,100,200 \
    --format jpeg,webp,avif --quality webp=60 -o "$out" \
    --report "$T/r4.jsonl" "$in"
json_check "$T/r4.jsonl" "all((r['status'] == 'ok') == r['output'].endswith('.webp') for i in items for r in i['renditions'])"
[ "$(sig "$out/photo-100w.jpg")" = "${before[$out/photo-100w.jpg]}" ] ||
    fail "a JPEG rendition redone by a WebP quality change"
# a deleted rendition is made again, alone
rm "$out/a-100w.avif"
expect_exit 0 "$IMGBATCH" transform -q --width 40,100,200 \
    --format jpeg,webp,avif --quality webp=60 -o "$out" \
    --report "$T/r5.jsonl" "$in"
json_check "$T/r5.jsonl" "summary['ok'] == 1 and summary['skipped'] == 3 and [r['output'].split('/')[-1] for i in items for r in i['renditions'] if r['status'] == 'ok'] == ['a-100w.avif']"
[ -f "$out/a-100w.avif" ] || fail "deleted rendition not made again"
# a new size between others: the sizes it may feed are redone, and every
# output is then byte for byte what a fresh run makes
expect_exit 0 "$IMGBATCH" transform -q --width 40,100,150,200 \
    --format jpeg,webp,avif --quality webp=60 -o "$out" \
    --report "$T/r5b.jsonl" "$in"
json_check "$T/r5b.jsonl" "all((r['status'] == 'ok') == (r['size'] in ('40w', '100w', '150w')) for i in items for r in i['renditions'])"
expect_exit 0 "$IMGBATCH" transform -q --width 40,100,150,200 \
    --format jpeg,webp,avif --quality webp=60 -o "$T/fresh" "$in"
for f in $(cd "$T/fresh" && find . -type f ! -name '.*'); do
    cmp -s "$T/fresh/$f" "$out/$f" || fail "$f differs from a fresh run's"
done
ok "reruns redo exactly the renditions whose recipe changed, and match a fresh run"

# 3. one op chain, run once before the sizes: rotated renditions
expect_exit 0 "$IMGBATCH" transform -q --rotate 90 --size 150,x100 \
    --format png -o "$T/rot" "$in/photo.jpg"
[ "$(dims "$T/rot/photo-150w.png")" = "150 200" ] || fail "rotate then 150w"
[ "$(dims "$T/rot/photo-100h.png")" = "75 100" ] || fail "rotate then 100h"
ok "the op chain runs before the sizes (--rotate 90 --size 150,x100)"

# 4. templates: fields, {dir} at the top, flat names that collide
expect_exit 0 "$IMGBATCH" transform -q --width 64 --format webp,png \
    --name '{format}/{dir}/{stem}_{w}.{ext}' -o "$T/tp" "$in"
for f in webp/photo_64.webp png/photo_64.png webp/sub/alpha_64.webp \
    png/sub/alpha_64.png; do
    [ -f "$T/tp/$f" ] || fail "template: no $f ($(cd "$T/tp" && find . -type f))"
done
mkdir -p "$T/clash/a" "$T/clash/b"
cp "$in/photo.jpg" "$T/clash/a/x.jpg"
convert "$in/photo.jpg" -flip "$T/clash/b/x.jpg"
expect_exit 0 "$IMGBATCH" transform -q --width 50 --name 'flat/{stem}.{ext}' \
    -o "$T/fl" --report "$T/r6.jsonl" "$T/clash"
names=$(cd "$T/fl/flat" && ls)
[ "$(echo "$names" | wc -l)" = 2 ] || fail "flat names: $names"
echo "$names" | grep -qx 'x-[0-9a-f]\{8\}\.jpg' || fail "no hashed name: $names"
cmp -s "$T/fl/flat/$(echo "$names" | head -1)" \
    "$T/fl/flat/$(echo "$names" | tail -1)" && fail "one output overwrote the other"
# the same list again: the same names (deterministic), both skipped
expect_exit 0 "$IMGBATCH" transform -q --width 50 --name 'flat/{stem}.{ext}' \
    -o "$T/fl" --report "$T/r7.jsonl" "$T/clash"
[ "$(cd "$T/fl/flat" && ls)" = "$names" ] || fail "names changed on rerun"
json_check "$T/r7.jsonl" "summary['skipped'] == 2"
# {hash}: the input's content
expect_exit 0 "$IMGBATCH" transform -q --name '{stem}-{hash}.{ext}' \
    -o "$T/hs" "$in/photo.jpg"
h1=$(ls "$T/hs")
convert "$in/photo.jpg" -negate "$T/photo.jpg"
expect_exit 0 "$IMGBATCH" transform -q --name '{stem}-{hash}.{ext}' \
    -o "$T/hs2" "$T/photo.jpg"
h2=$(ls "$T/hs2")
echo "$h1" | grep -qx 'photo-[0-9a-f]\{8\}\.jpg' || fail "{hash}: $h1"
[ "$h1" != "$h2" ] || fail "{hash} did not change with the content"
# one input named twice: its names stay; the second fails, naming them
expect_exit 1 "$IMGBATCH" transform -q --width 50,100 -o "$T/tw" \
    "$in/photo.jpg" "$in/photo.jpg"
[ "$(cd "$T/tw" && ls)" = "$(printf 'photo-100w.jpg\nphoto-50w.jpg')" ] ||
    fail "an input named twice renamed its renditions: $(ls "$T/tw")"
assert_grep "output '$T/tw/photo-50w.jpg' is also made from '$in/photo.jpg'" "$T/stderr"
ok "templates: {format} {dir} {stem} {w} {ext} {hash}; clashes made unique"

# 5. a broken input fails alone, naming itself; the others are made
mkdir -p "$T/bad"
cp "$in/photo.jpg" "$T/bad/good.jpg"
head -c 300 "$in/w.webp" >"$T/bad/cut.webp"
expect_exit 1 "$IMGBATCH" transform -q --width 100,200 --format jpeg,webp \
    -o "$T/bo" --report "$T/r8.jsonl" "$T/bad"
# -q: the failure's one line, and the summary a failed night prints
[ "$(grep -c "cut.webp" "$T/stderr")" = 1 ] || { cat "$T/stderr"; fail "no one line naming cut.webp"; }
[ "$(grep -c . "$T/stderr")" = 2 ] || { cat "$T/stderr"; fail "more than error + summary"; }
[ -f "$T/bo/good-200w.webp" ] || fail "the good input was not made"
[ -z "$(find "$T/bo" -name 'cut*')" ] || fail "output left for a broken input"
json_check "$T/r8.jsonl" "summary['failed'] == 1 and summary['ok'] == 1 and all(r['status'] == 'not_run' for i in items if i['status'] == 'failed' for r in i['renditions'])"
ok "a truncated WebP among renditions fails alone, with one line; its renditions not_run"
# an --upscale'd size over --max-pixels fails that rendition, not memory
expect_exit 1 "$IMGBATCH" transform -q --size 50,100000 --upscale \
    -o "$T/big" "$in/photo.jpg"
assert_grep "photo-100000w.jpg: 100000x75000 is over the pixel limit" "$T/stderr"
[ "$(dims "$T/big/photo-50w.jpg")" = "50 38" ] || fail "the small rendition"
[ ! -e "$T/big/photo-100000w.jpg" ] || fail "an output over the limit"
ok "a rendition over the pixel limit fails alone, before any allocation"

# 6. usage errors, before anything is touched
for args in "--width 100,200 --name {stem}.{ext}" "--format jpeg,webp --name {stem}-{w}.jpg" \
    "--size x50 --name {stem}-{w}.{ext}" "--name ../x.{ext}" "--name {nope}.{ext}" \
    "--format same,webp" "--format webp,webp" "--width 0" "--width 1,2,3,4,5,6 --format jpeg,webp,png" \
    "--name ./{stem}.{ext}" "--format webp,jpeg --name {format}//{stem}.{ext}" "--name {stem}.{ext}/" \
    "--name .imgbatch.lock" "--name {stem}/.x.{ext}" "--size 100x50,100x80 --name {stem}-{w}.{ext}" \
    "--width 1,2,3,4,5,6 --size 7,8,9 --format jpeg,webp"; do
    # shellcheck disable=SC2086
    expect_exit 2 "$IMGBATCH" transform $args -o "$T/never" "$in"
done
[ ! -e "$T/never" ] || fail "a usage error touched the output folder"
expect_exit 2 "$IMGBATCH" run --width 100 --name '{stem}-{hash}.{ext}' \
    -o "$T/never" "$T/urls"
ok "bad sizes, formats and templates are usage errors (exit 2)"

# 7. a hashed name that another input's plain name would take: both get
# hashed names, nothing fails, and the first input keeps its names
mkdir -p "$T/hclash"
convert -size 64x48 plasma:fractal "$T/hclash/x.jpg"
cp "$T/hclash/x.jpg" "$T/hclash/x1.jpg"
copts=(--width 1,11 --format webp --name '{stem}{w}.{ext}')
expect_exit 0 "$IMGBATCH" transform "${copts[@]}" -o "$T/hclash-a" "$T/hclash"
xname=$(cd "$T/hclash-a" && ls x-*1.webp | sort | head -1)
[ -n "$xname" ] || fail "x.jpg has no hashed name"
cp "$T/hclash/x.jpg" "$T/hclash/${xname%1.webp}.jpg"   # named as x's hashed stem
expect_exit 0 "$IMGBATCH" transform "${copts[@]}" -o "$T/hclash-b" "$T/hclash"
[ -f "$T/hclash-b/$xname" ] || fail "x.jpg lost its name $xname"
[ "$(find "$T/hclash-b" -name '*.webp' | wc -l)" = 6 ] ||
    { ls "$T/hclash-b"; fail "not 6 outputs for 3 inputs"; }
ok "a hashed name another input would take: both hashed, none fails"
