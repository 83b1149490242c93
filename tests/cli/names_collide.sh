# Output names are decided from the whole list before any transfer: names
# that would clash once the extension is replaced (a.png/a.jpg under
# --format jpeg, photo.v1/photo.v2, 2024.01.05/2024.01.06) keep their whole
# name; the same list gives the same names whatever order the files land
# in or the list is in; a name of only punctuation gets a readable one.
# transform names a folder's files by the same rule.
. "$IB_TESTS/cli/lib.sh"
start_server

# jpeg NAME SEED SIZE: a JPEG, whatever NAME's extension says
jpeg() {
    convert -size "$3" -seed "$2" plasma:fractal -quality 90 "jpg:$T/srv/$1"
}
convert -size 64x48 gradient:red-blue "$T/srv/a.png"
jpeg a.jpg 1 320x240
jpeg photo.v1 2 100x80
jpeg photo.v2 3 120x90
jpeg 2024.01.05 4 140x100
jpeg 2024.01.06 5 160x120
jpeg passwd 6 60x40
jpeg _-_.png 7 50x30

# list LIST SLOW FAST: the list; the first of each pair waits SLOW ms, the
# second FAST ms, so the pair lands in the other order when swapped
list() {
    local slow=$2 fast=$3
    {
        echo "$BASE/file/a.png?ms=$slow"
        echo "$BASE/file/a.jpg?ms=$fast"
        echo "$BASE/file/photo.v1?ms=$slow"
        echo "$BASE/file/photo.v2?ms=$fast"
        echo "$BASE/file/2024.01.05?ms=$slow"
        echo "$BASE/file/2024.01.06?ms=$fast"
        # the download is named "_.._etc_passwd"
        echo "$BASE/file/%2e%2e%2f%2e%2e%2fetc%2fpasswd"
        echo "$BASE/file/_-_.png"
    } >"$1"
}

list "$T/l1" 400 0
list "$T/l2" 0 400
tac "$T/l1" >"$T/l3"
for k in 1 2 3; do
    run_expect 0 "$T/l$k" -o "$T/o$k" -c 8 --procs 2 --format jpeg \
        --report "$T/r$k"
    json_check "$T/r$k" 'summary["ok"] == 8 and summary["failed"] == 0
        and all(i["status"] == "ok" for i in items)'
done

python3 - "$T/r1" "$T/r2" "$T/r3" <<'PY' || fail "names differ between runs"
import json, os, sys
runs = []
for rep in sys.argv[1:]:
    items = [json.loads(l) for l in open(rep)]
    items = [i for i in items if not i.get("summary")]
    runs.append({i["url"].split("?")[0].rsplit("/", 1)[1]:
                 (os.path.basename(i["output"]), i["landed_ms"])
                 for i in items})
names = [{k: v[0] for k, v in r.items()} for r in runs]
print(json.dumps(names[0], indent=1), file=sys.stderr)
# the delays did swap the arrival order of each pair
for a, b in [("a.png", "a.jpg"), ("photo.v1", "photo.v2")]:
    assert runs[0][a][1] > runs[0][b][1], (a, b, "run 1")
    assert runs[1][a][1] < runs[1][b][1], (a, b, "run 2")
assert names[0] == names[1] == names[2], names
want = {"a.png": "a.png.jpg", "a.jpg": "a.jpg.jpg",
        "photo.v1": "photo.v1.jpg", "photo.v2": "photo.v2.jpg",
        "2024.01.05": "2024.01.05.jpg", "2024.01.06": "2024.01.06.jpg",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd": "_.._etc_passwd.jpg"}
for k, v in want.items():
    assert names[0][k] == v, (k, names[0][k], v)
p = names[0]["_-_.png"]
assert p.startswith("image-") and p.endswith(".jpg") and len(p) == 18, p
PY
# each output is made from its own URL's bytes
[ "$(identify -format '%m %w %h' "$T/o2/a.png.jpg")" = "JPEG 64 48" ] ||
    fail "a.png.jpg is not a.png's"
[ "$(identify -format '%w %h' "$T/o2/a.jpg.jpg")" = "320 240" ] ||
    fail "a.jpg.jpg is not a.jpg's"
[ "$(identify -format '%w %h' "$T/o1/photo.v2.jpg")" = "120 90" ] ||
    fail "photo.v2.jpg is not photo.v2's"
ok "run: one name per URL, the same whatever the arrival or list order"

run_expect 0 "$T/l2" -o "$T/o1" -c 8 --procs 2 --format jpeg \
    --report "$T/r4"
json_check "$T/r4" 'summary["unchanged"] == 8 and summary["failed"] == 0'
ok "run: a rerun into the same folder finds every output up to date"

# shards share OUT: each names its part as the whole list would
for k in 0 1 2; do
    run_expect 0 "$T/l1" -o "$T/o5" --shard "$k/3" --procs 1 --format jpeg
done
diff <(ls "$T/o1") <(ls "$T/o5") || fail "sharded names differ"
ok "run --shard: the shards' names are the whole list's"

# transform: the same rule over a folder
mkdir "$T/in"
cp "$T"/srv/* "$T/in/"
"$IMGBATCH" transform -o "$T/t1" "$T/in" --format jpeg --report "$T/tr" \
    2>"$T/stderr" || { cat "$T/stderr" >&2; fail "transform failed"; }
for f in a.png.jpg a.jpg.jpg photo.v1.jpg photo.v2.jpg 2024.01.05.jpg \
         2024.01.06.jpg passwd.jpg; do
    [ -f "$T/t1/$f" ] || fail "transform: no $f in $(ls "$T/t1")"
done
ls "$T/t1" | grep -qx 'image-[0-9a-f]\{8\}\.jpg' ||
    fail "transform: no image-HASH.jpg for _-_.png in $(ls "$T/t1")"
[ "$(identify -format '%w %h' "$T/t1/a.png.jpg")" = "64 48" ] ||
    fail "transform: a.png.jpg is not a.png's"
[ "$(ls "$T/t1" | wc -l)" = 8 ] || fail "transform: $(ls "$T/t1")"
"$IMGBATCH" transform -o "$T/t1" "$T/in" --format jpeg --report "$T/tr" \
    2>"$T/stderr" || fail "transform rerun failed"
grep -q '"skipped":8' "$T/tr" || fail "transform rerun: $(tail -1 "$T/tr")"
# --format same: nothing clashes, nothing is renamed
"$IMGBATCH" transform -o "$T/t2" "$T/in/a.png" "$T/in/a.jpg" \
    2>"$T/stderr" || fail "transform failed"
[ -f "$T/t2/a.png" ] && [ -f "$T/t2/a.jpg" ] || fail "same: $(ls "$T/t2")"
ok "transform: a folder's outputs are named by the same rule"
