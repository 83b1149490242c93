#!/usr/bin/env bash
# A folder of every generated good and broken file: the good ones come out
# at the right size, each broken one fails with a one-line reason naming
# it, the batch finishes, the report has one line per item + a summary,
# exit 1. A rerun skips what exists; --force redoes it.
. "$(dirname "$0")/lib.sh"

gen "$T/in"
mkdir -p "$T/in/sub"
cp "$T/in/png-rgb8.png" "$T/in/sub/nested.png"
ngood=$(cd "$T/in" && ls *.png *.jpg | grep -vcE \
    '^(truncated|bad-crc|garbage|wrong-magic|empty|huge-dims|many-scans)')
broken="truncated.png truncated.jpg bad-crc.png garbage.jpg wrong-magic.png
        empty.png huge-dims.png huge-dims.jpg many-scans.jpg"
nbroken=$(echo $broken | wc -w)

expect_exit 1 "$IMGBATCH" transform -o "$T/out" --resize 16x16 \
    --report "$T/r.jsonl" "$T/in"
for b in $broken; do
    assert_grep "^imgbatch transform: cannot transform '$T/in/$b': ." "$T/stderr"
    [ ! -e "$T/out/$b" ] || fail "output left for broken $b"
done
[ "$(grep -c 'cannot transform' "$T/stderr")" = "$nbroken" ] ||
    fail "want $nbroken failures"
assert_grep "huge-dims.png.*over the pixel limit" "$T/stderr"
assert_grep "many-scans.jpg.*scans" "$T/stderr"
ok "each broken file fails with a reason naming it"

total=$((ngood + 1 + nbroken))
json_check "$T/r.jsonl" "len(items) == $total and summary['ok'] == $ngood + 1 and summary['failed'] == $nbroken and summary['not_images'] == 1 and summary['skipped'] == 0"
json_check "$T/r.jsonl" "all(i['status'] == 'ok' and i['error'] is None and max(i['width_out'], i['height_out']) == 16 for i in items if i['status'] == 'ok')"
json_check "$T/r.jsonl" "all(i['error'] and '\n' not in i['error'] for i in items if i['status'] == 'failed')"
json_check "$T/r.jsonl" "len(set(i['input'] for i in items)) == len(items)"
ok "report: one line per item plus the summary"

# every output decodes (ImageMagick) at the size the report gives, and
# the tree mirrors the input's
python3 - "$T/r.jsonl" <<'PY' >"$T/pairs"
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o.get("status") == "ok":
        print(o["output"], o["width_out"], o["height_out"])
PY
while read -r f w h; do
    [ "$(dims "$f")" = "$w $h" ] || fail "$f is not ${w}x$h"
done <"$T/pairs"
[ -f "$T/out/sub/nested.png" ] || fail "tree not mirrored"
[ -z "$(find "$T/out" -name '.*' ! -name .imgbatch.lock)" ] ||
    fail "temp files left"
ok "outputs decode at the reported size; the tree is mirrored"

# png inputs stay png, jpeg stay jpeg (format from content)
[ "$(identify -format '%m' "$T/out/png-rgba8.png")" = PNG ] || fail "png"
[ "$(identify -format '%m' "$T/out/orient-1.jpg")" = JPEG ] || fail "jpeg"

# rerun: everything that exists is skipped, the broken still fail
expect_exit 1 "$IMGBATCH" transform -o "$T/out" --resize 16x16 \
    --report "$T/r2.jsonl" "$T/in"
json_check "$T/r2.jsonl" "summary['skipped'] == $ngood + 1 and summary['ok'] == 0 and summary['failed'] == $nbroken"
expect_exit 1 "$IMGBATCH" transform -o "$T/out" --resize 16x16 --force \
    --report "$T/r3.jsonl" "$T/in"
json_check "$T/r3.jsonl" "summary['skipped'] == 0 and summary['ok'] == $ngood + 1"
ok "rerun skips existing outputs; --force redoes them"

# a changed input is redone, and only it
touch "$T/in/png-rgb8.png"
expect_exit 1 "$IMGBATCH" transform -o "$T/out" --resize 16x16 \
    --report "$T/r4.jsonl" "$T/in"
json_check "$T/r4.jsonl" "summary['ok'] == 1 and summary['skipped'] == $ngood and [i['input'] for i in items if i['status'] == 'ok'] == ['$T/in/png-rgb8.png']"
# a half-stamped output (killed between rename and stamp) is redone
touch "$T/out/png-g8.png"
expect_exit 1 "$IMGBATCH" transform -o "$T/out" --resize 16x16 \
    --report "$T/r5.jsonl" "$T/in"
json_check "$T/r5.jsonl" "summary['ok'] == 1 and [i['input'] for i in items if i['status'] == 'ok'] == ['$T/in/png-g8.png']"
ok "a changed input is redone, unchanged ones are not"

# all good: exit 0; -q prints nothing on success
mkdir "$T/good"
cp "$T/in/png-rgb8.png" "$T/in/jpeg-baseline.jpg" "$T/good/" 2>/dev/null ||
    cp "$T/in/png-rgb8.png" "$T/good/"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/out2" --format png "$T/good"
[ ! -s "$T/stderr" ] || fail "-q printed: $(cat "$T/stderr")"
for f in "$T"/out2/*; do
    [ "$(identify -format '%m' "$f")" = PNG ] || fail "--format png: $f"
    case "$f" in *.png) ;; *) fail "extension not set: $f" ;; esac
done
ok "all good: exit 0; --format png converts and renames"

# --max-pixels checked against the header
expect_exit 1 "$IMGBATCH" transform -o "$T/out3" --max-pixels 100 \
    "$T/in/png-rgb8.png"
assert_grep "over the pixel limit" "$T/stderr"
ok "--max-pixels"

# a file name that is not UTF-8 still gives a report that parses
mkdir "$T/odd"
cp "$T/in/png-rgb8.png" "$T/odd/$(printf 'bad\377name.png')"
expect_exit 0 "$IMGBATCH" transform -o "$T/oddout" --report "$T/odd.jsonl" \
    "$T/odd"
json_check "$T/odd.jsonl" "summary['ok'] == 1 and 'bad\ufffdname' in items[0]['input']"
ok "a name that is not UTF-8 is reported with U+FFFD"

# a broken file whose name holds a newline: still one line on stderr
mkdir "$T/nl"
cp "$T/in/truncated.jpg" "$T/nl/$(printf 'two\nlines.jpg')"
expect_exit 1 "$IMGBATCH" transform -o "$T/nlout" --report "$T/nl.jsonl" \
    "$T/nl"
[ "$(grep -c . "$T/stderr")" = 2 ] || { cat "$T/stderr"; fail "not 2 lines"; }
assert_grep "cannot transform '$T/nl/two?lines.jpg': truncated" "$T/stderr"
json_check "$T/nl.jsonl" "items[0]['input'].endswith('two\nlines.jpg')"
ok "a name with a newline stays on one stderr line; the report keeps it"
