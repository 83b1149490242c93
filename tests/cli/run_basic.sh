# imgbatch run: overlap of the two stages, the report, unchanged and
# changed reruns, failures and --fail-on, usage errors.
. "$IB_TESTS/cli/lib.sh"
start_server

for i in $(seq 1 12); do photo "p$i.jpg" "$i"; done
convert -size 64x48 gradient:red-blue "$T/srv/g.png"
# 12 photos behind a 300 ms delay, 4 at a time: they land in three waves
for i in $(seq 1 12); do echo "$BASE/file/p$i.jpg?ms=300"; done >"$T/urls"
echo "$BASE/file/g.png" >>"$T/urls"

run_expect 0 "$T/urls" -o "$T/out" -c 4 --procs 2 --resize 100x100 \
    --format png --report "$T/r1"
json_check "$T/r1" 'summary["ok"] == 13 and summary["failed"] == 0
    and summary["downloaded"] == 13 and summary["transformed"] == 13
    and all(i["status"] == "ok" and i["http"] == 200 for i in items)
    and by["p3.jpg"]["output"].endswith("/out/p3.png")
    and by["p3.jpg"]["file"].endswith("/out/.downloads/p3.jpg")
    and by["p3.jpg"]["width_out"] == 100 and by["p3.jpg"]["height_out"] == 75
    and all(i["transform_ms"] is not None and i["landed_ms"] <= i["done_ms"]
            for i in items)'
# overlapped: an image was done before the last download landed
json_check "$T/r1" 'min(i["done_ms"] for i in items if i["url"].endswith("ms=300"))
    < max(i["landed_ms"] for i in items)'
[ "$(identify -format '%m %w %h' "$T/out/p3.png")" = "PNG 100 75" ] ||
    fail "p3.png is not a 100x75 PNG"
[ -f "$T/out/g.png" ] || fail "g.png missing"
ok "downloads and transforms overlap; one report line per URL"

# unchanged night: only 304s, no image decoded, no worker used
cp -p "$T/out/p3.png" "$T/p3-before.png"
run_expect 0 "$T/urls" -o "$T/out" -c 4 --procs 2 --resize 100x100 \
    --format png --report "$T/r2"
json_check "$T/r2" 'summary["unchanged"] == 13 and summary["transformed"] == 0
    and summary["not_modified"] == 13 and summary["downloaded"] == 0
    and all(i["status"] == "unchanged" and i["http"] == 304
            and i["transform_ms"] is None for i in items)'
cmp "$T/out/p3.png" "$T/p3-before.png" || fail "unchanged output rewritten"
ok "an unchanged rerun costs only 304s and decodes nothing"

# the server now has new bytes (and so a new ETag) for p5 only
photo p5.jpg 99 160x120
run_expect 0 "$T/urls" -o "$T/out" -c 4 --procs 2 --resize 100x100 \
    --format png --report "$T/r3"
json_check "$T/r3" 'by["p5.jpg"]["status"] == "ok" and by["p5.jpg"]["http"] == 200
    and by["p5.jpg"]["width_in"] == 160 and summary["ok"] == 1
    and summary["unchanged"] == 12'
[ "$(identify -format '%w %h' "$T/out/p5.png")" = "100 75" ] ||
    fail "p5.png not redone"
ok "a changed input is downloaded and transformed again"

# --force redoes everything
run_expect 0 "$T/urls" -o "$T/out" --procs 2 --resize 100x100 \
    --format png --force --report "$T/r4" -q
json_check "$T/r4" 'summary["ok"] == 13 and summary["downloaded"] == 13'
[ ! -s "$T/stderr" ] || fail "-q printed: $(cat "$T/stderr")"
ok "--force redoes every item; -q prints nothing when all is well"

# failures: a 404 (fetch) and a body that is no image (transform)
echo "not an image" >"$T/srv/bad.jpg"
{ cat "$T/urls"; echo "$BASE/file/bad.jpg"; echo "$BASE/status/404"; } \
    >"$T/urls2"
run_expect 1 "$T/urls2" -o "$T/out" --procs 2 --resize 100x100 \
    --format png --report "$T/r5" -v
json_check "$T/r5" 'summary["failed"] == 2 and summary["unchanged"] == 13
    and by["bad.jpg"]["stage"] == "transform"
    and "not a JPEG, PNG, WebP or AVIF" in by["bad.jpg"]["error"]
    and by["404"]["stage"] == "fetch" and by["404"]["error"] == "HTTP 404"
    and by["bad.jpg"]["output"] is None'
grep -q "cannot fetch '$BASE/status/404': HTTP 404" "$T/stderr" ||
    fail "no error line for the 404"
grep -q "unchanged '$BASE/file/g.png' -> " "$T/stderr" || fail "-v line"
grep -q "^run: 0 ok, 13 unchanged, 2 failed" "$T/stderr" ||
    fail "no human summary"
# 2 of 15 failed is 13.3 %
run_expect 0 "$T/urls2" -o "$T/out" --procs 2 --resize 100x100 \
    --format png --fail-on 20%
run_expect 1 "$T/urls2" -o "$T/out" --procs 2 --resize 100x100 \
    --format png --fail-on 10%
run_expect 1 "$T/urls2" -o "$T/out" --procs 2 --resize 100x100 \
    --format png --fail-on any
ok "failures name their stage; exit 1 follows --fail-on"

for bad in "--fail-on 5" "--fail-on 101%" "--fail-on x%" "--shard 3/3" \
           "--shard 1" "--quality 0" "--procs 0" "--resize 0x0" \
           "--bogus"; do
    # shellcheck disable=SC2086
    run_expect 2 "$T/urls" -o "$T/o2" $bad
    grep -q "imgbatch run: " "$T/stderr" || fail "no message for $bad"
done
run_expect 2 "$T/urls"
run_expect 2 -o "$T/o2"
run_expect 2 "$T/urls" "$T/urls" -o "$T/o2"
run_expect 3 "$T/nonexistent" -o "$T/o2"
ok "usage errors exit 2, an unreadable list 3"
