#!/usr/bin/env bash
# Usage and fatal errors that once misbehaved: an OUT that cannot be made
# (exit 3, one line, no crash), an output folder that is an input, a
# --report that would overwrite an input or land inside OUT (exit 2, checked
# before anything is touched), numbers that are not plain decimals, and
# transform's --progress.
. "$(dirname "$0")/lib.sh"

one_line() { [ "$(wc -l <"$T/stderr")" = "$1" ] || { cat "$T/stderr"; fail "stderr not $1 line(s)"; }; }

cd "$T"
echo "http://127.0.0.1:9/a.jpg" >urls.txt
touch afile
for out in afile afile/sub; do
    for cmd in run fetch; do
        expect_exit 3 "$IMGBATCH" "$cmd" -q urls.txt -o "$out"
        one_line 1
        assert_grep "cannot create '$out': Not a directory" "$T/stderr"
    done
done
ok "run/fetch -o FILE: exit 3 with one line"

gen in
cp urls.txt urls.bak
expect_exit 2 "$IMGBATCH" transform -o in in
assert_grep "input 'in' is the output folder 'in'" "$T/stderr"
expect_exit 2 "$IMGBATCH" transform -o in/.. in
assert_grep "is inside the output folder" "$T/stderr"
expect_exit 2 "$IMGBATCH" transform -o "$T/in" ./in/../in/
expect_exit 2 "$IMGBATCH" transform -o in "$(ls -d in/*.jpg | head -1)"
assert_grep "is inside the output folder 'in'" "$T/stderr"
ok "transform: an input that is OUT or inside it is a usage error"

before=$(cd in && ls -l --time-style=+%s | md5sum)
f=$(cd in && ls *.jpg | head -1)
expect_exit 2 "$IMGBATCH" transform -o out --report "in/$f" in
assert_grep "--report 'in/$f' is inside input 'in'" "$T/stderr"
expect_exit 2 "$IMGBATCH" transform -o out --report "in/$f" "in/$f"
assert_grep "would overwrite input" "$T/stderr"
expect_exit 2 "$IMGBATCH" transform -o out --report out/r.jsonl in
assert_grep "is inside the output folder 'out'" "$T/stderr"
[ "$before" = "$(cd in && ls -l --time-style=+%s | md5sum)" ] || fail "an input changed"
[ ! -e out ] || fail "OUT made before the usage error"
expect_exit 2 "$IMGBATCH" run urls.txt -o o --report urls.txt
assert_grep "would overwrite the URL list" "$T/stderr"
expect_exit 2 "$IMGBATCH" run urls.txt -o o --report ./o/../o/r.jsonl
assert_grep "is inside the output folder" "$T/stderr"
expect_exit 2 "$IMGBATCH" run urls.txt -o o --download-dir dl --report dl/r
assert_grep "is inside the output folder 'dl'" "$T/stderr"
expect_exit 2 "$IMGBATCH" fetch urls.txt -o o --report "$T/urls.txt"
assert_grep "would overwrite the URL list" "$T/stderr"
expect_exit 2 "$IMGBATCH" fetch urls.txt -o o --report o/r
cmp urls.txt urls.bak || fail "URL list changed"
[ ! -e o ] && [ ! -e dl ] || fail "a folder made before the usage error"
ok "--report on an input or inside OUT: exit 2, nothing touched"

for bad in "--quality= 50" "--quality=+50" "--quality=50 " "--png-level=0x6" \
    "--blur=0x10" "--blur=1e1" "--blur= 2" "--blur=inf" "--blur=-1" \
    "--blur=.5" "--sharpen=1,0x2" "--sharpen=1, 2" "--max-pixels=1e6"; do
    expect_exit 2 "$IMGBATCH" transform -o out in "$bad"
    one_line 2
    assert_grep "^imgbatch transform: invalid --" "$T/stderr"
done
for bad in "--timeout= 5" "--timeout=0x10" "--timeout=1e2" "--retries=+1" \
    "--concurrency= 4"; do
    expect_exit 2 "$IMGBATCH" fetch -o o urls.txt "$bad"
    assert_grep "^imgbatch fetch: invalid --" "$T/stderr"
done
expect_exit 2 "$IMGBATCH" run urls.txt -o o --fail-on " 5%"
# (the generated folder holds broken images too: exit 1, the rest done)
expect_exit 1 "$IMGBATCH" transform -o out1 in --blur 0.5 --sharpen 1.5,0.25 \
    --quality 50 --max-pixels 100000000
assert_grep "^transform: [1-9][0-9]* ok, " "$T/stderr"
ok "numbers: plain decimals only"

# --progress: on with always, off with never and off a terminal by default
"$IMGBATCH" transform --progress always -o p1 in 2>"$T/err1" >/dev/null || true
grep -q "transform: [0-9]*/[0-9]* done" "$T/err1" || { cat "$T/err1"; fail "no progress line"; }
"$IMGBATCH" transform --progress never -o p2 in 2>"$T/err2" >/dev/null || true
"$IMGBATCH" transform -o p3 in 2>"$T/err3" >/dev/null || true
! grep -q " done, " "$T/err2" "$T/err3" || fail "progress shown when it should not be"
tail -n 1 "$T/err1" | tr '\r' '\n' | tail -n 1 | grep -q "^transform: .* ok, " ||
    fail "the summary line is not clean after progress"
ok "transform --progress always/never/auto"

# run: a download folder that is OUT (or holds it) would have outputs
# replace the downloads they are made from
expect_exit 2 "$IMGBATCH" run urls.txt -o o --download-dir o
assert_grep "holds the output folder" "$T/stderr"
expect_exit 2 "$IMGBATCH" run urls.txt -o dl/o --download-dir dl
[ ! -e o ] && [ ! -e dl ] || fail "a folder made before the usage error"
# a hard link is the same file under another name
ln urls.txt hard.txt
expect_exit 2 "$IMGBATCH" run urls.txt -o o --report hard.txt
expect_exit 2 "$IMGBATCH" fetch urls.txt -o o --report hard.txt
ln "in/$f" hard.jpg
expect_exit 2 "$IMGBATCH" transform -o out --report hard.jpg "in/$f"
cmp urls.txt urls.bak && cmp "in/$f" hard.jpg || fail "an input changed"
ok "--download-dir OUT and hard-linked --report: exit 2"
