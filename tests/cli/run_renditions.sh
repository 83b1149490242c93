#!/usr/bin/env bash
# imgbatch run with renditions: 3 sizes x 2 formats from a JPEG and a PNG
# with alpha, downloaded from the loopback server and named by a template;
# byte for byte what imgbatch transform makes of the downloaded files; a
# rerun makes nothing; one format's quality or a new smaller size redoes
# only those renditions; names two URLs would share are made unique; a
# broken URL fails alone; --dry-run lists each rendition; {hash} refused.
. "$IB_TESTS/cli/lib.sh"
start_server

sig() { stat -c '%i %y %s' "$1"; }   # inode, mtime (ns), size
magic() {   # jpeg or webp, by the file's bytes
    case $(head -c 12 "$1" | od -An -tx1 | tr -d ' \n') in
    ffd8ff*) echo jpeg ;;
    52494646????????57454250) echo webp ;;
    *) echo unknown ;;
    esac
}

photo photo.jpg 3 400x300
convert -size 400x300 xc:none -fill 'rgba(0,120,200,0.7)' \
    -draw 'circle 200,150 200,20' "$T/srv/alpha.png"
echo "not an image" >"$T/srv/bad.jpg"
printf '%s\n' "$BASE/file/photo.jpg" "$BASE/file/alpha.png" >"$T/urls"
{ cat "$T/urls"; echo "$BASE/file/bad.jpg"; echo "$BASE/status/404"; } \
    >"$T/urls-bad"
tmpl='{format}/{stem}-{w}.{ext}'
opts=(--procs 2 --width 60,100,200 --format webp,jpeg --name "$tmpl")
out=$T/out
outputs() { (cd "$out" && find . -type f ! -path './.*' | sort); }

# 1. the renditions; the broken URLs fail alone
run_expect 1 "$T/urls-bad" -o "$out" "${opts[@]}" --report "$T/r1"
json_check "$T/r1" 'summary["ok"] == 2 and summary["failed"] == 2
    and summary["transformed"] == 2
    and all(len(by[n]["renditions"]) == 6
            and all(r["status"] == "ok" for r in by[n]["renditions"])
            for n in ("photo.jpg", "alpha.png"))
    and by["photo.jpg"]["output"].endswith("/out/webp/photo-60.webp")
    and by["bad.jpg"]["stage"] == "transform"
    and all(r["status"] == "not_run" for r in by["bad.jpg"]["renditions"])
    and by["404"]["stage"] == "fetch" and "renditions" not in by["404"]'
[ "$(outputs | wc -l)" = 12 ] || fail "not 12 outputs: $(outputs)"
for stem in photo alpha; do
    for w in 60 100 200; do
        for f in webp jpeg; do
            ext=$f
            [ "$f" = jpeg ] && ext=jpg
            o=$out/$f/$stem-$w.$ext
            [ "$(magic "$o")" = "$f" ] || fail "$o is $(magic "$o")"
            [ "$(dims "$o")" = "$w $((w * 3 / 4))" ] ||
                fail "$o is $(dims "$o")"
        done
    done
done
m=$(convert "$out/webp/alpha-100.webp" -alpha extract -format '%[fx:mean]' info:)
awk -v m="$m" 'BEGIN { exit !(m > 0.2 && m < 0.8) }' ||
    fail "alpha lost in WebP (mean opacity $m)"
python3 - "$T/r1" <<'PY' || fail "report renditions disagree with the files"
import json, os, sys
for line in open(sys.argv[1]):
    i = json.loads(line)
    for r in i.get("renditions", []):
        if r["status"] == "ok":
            assert os.path.getsize(r["output"]) == r["bytes"], r
            assert r["width"] == int(r["size"][:-1]), r
PY
[ -z "$(find "$out" -path '*bad*' ! -path '*/.downloads/*')" ] ||
    fail "an output left for the broken URL"
ok "3 sizes x 2 formats from JPEG and PNG+alpha URLs, named by a template; broken URLs fail alone"

# 2. byte for byte what transform makes of the downloaded files
tx_check() {   # tx_check DIR OPTS...: transform's outputs equal run's
    local d=$1
    shift
    expect_exit 0 "$IMGBATCH" transform -q "$@" -o "$d" \
        "$out/.downloads/photo.jpg" "$out/.downloads/alpha.png"
    [ "$(cd "$d" && find . -type f ! -path './.*' | sort)" = "$(outputs)" ] ||
        fail "transform made other names: $(cd "$d" && find . -type f)"
    for f in $(outputs); do
        cmp -s "$d/$f" "$out/$f" || fail "$f differs from transform's"
    done
}
tx_check "$T/tx1" "${opts[@]}"
ok "every rendition is byte for byte transform's of the downloaded file"

# 3. a rerun makes nothing: 304s, every output and the journal untouched
declare -A before
for f in $(outputs); do before[$f]=$(sig "$out/$f"); done
cp "$out/.imgbatch-run.tsv" "$T/journal-1"
sleep 1.1
run_expect 0 "$T/urls" -o "$out" "${opts[@]}" --report "$T/r2"
json_check "$T/r2" 'summary["unchanged"] == 2 and summary["transformed"] == 0
    and summary["not_modified"] == 2
    and all(r["status"] == "skipped" for i in items for r in i["renditions"])'
for f in "${!before[@]}"; do
    [ "$(sig "$out/$f")" = "${before[$f]}" ] || fail "$f rewritten by a rerun"
done
cmp -s "$out/.imgbatch-run.tsv" "$T/journal-1" || fail "journal changed"
# downloaded anew (the validators lost): same bytes, recognised by the
# journal; nothing decoded, nothing rewritten
rm "$out/.downloads/.imgbatch-fetch.tsv"
run_expect 0 "$T/urls" -o "$out" "${opts[@]}" --report "$T/r2b"
json_check "$T/r2b" 'summary["unchanged"] == 2 and summary["downloaded"] == 2
    and summary["transformed"] == 0
    and all(i["transform_ms"] is None for i in items)
    and all(r["status"] == "skipped" for i in items for r in i["renditions"])'
for f in "${!before[@]}"; do
    [ "$(stat -c %i "$out/$f")" = "${before[$f]%% *}" ] ||
        fail "$f rewritten after a download of the same bytes"
done
ok "a rerun makes nothing: 304s or the same bytes, outputs untouched"

# 4. one format's quality changed: only that format's renditions
for f in $(outputs); do before[$f]=$(sig "$out/$f"); done
run_expect 0 "$T/urls" -o "$out" "${opts[@]}" --quality webp=60 \
    --report "$T/r3" -v
# -v: a line per URL naming each output made, and how many were kept
[ "$(grep -c "^imgbatch run: ok '.*' -> '.*\.webp' ([0-9]*x[0-9]*).*; [0-9]* up to date$" "$T/stderr")" = 2 ] ||
    { cat "$T/stderr"; fail "-v: not 2 lines naming the WebP renditions"; }
! grep -q "\.\(jpg\|png\)' (" "$T/stderr" ||
    { cat "$T/stderr"; fail "-v names a rendition that was up to date"; }
json_check "$T/r3" 'summary["ok"] == 2
    and all((r["status"] == "ok") == r["output"].endswith(".webp")
            for i in items for r in i["renditions"])
    and all(r["status"] == "skipped" for i in items for r in i["renditions"]
            if not r["output"].endswith(".webp"))'
for f in "${!before[@]}"; do
    case $f in
    *.webp) [ "$(sig "$out/$f")" != "${before[$f]}" ] || fail "$f not redone" ;;
    *) [ "$(sig "$out/$f")" = "${before[$f]}" ] || fail "$f redone" ;;
    esac
done
ok "a WebP quality change redoes the WebP renditions only"

# 5. a smaller size added: only its renditions are made
opts=(--procs 2 --width 40,60,100,200 --format webp,jpeg --name "$tmpl"
      --quality webp=60)
for f in $(outputs); do before[$f]=$(sig "$out/$f"); done
run_expect 0 "$T/urls" -o "$out" "${opts[@]}" --report "$T/r4"
json_check "$T/r4" 'summary["ok"] == 2
    and all(len(i["renditions"]) == 8 for i in items)
    and all((r["status"] == "ok") == (r["size"] == "40w")
            for i in items for r in i["renditions"])'
for f in "${!before[@]}"; do
    [ "$(sig "$out/$f")" = "${before[$f]}" ] || fail "$f redone"
done
[ "$(dims "$out/jpeg/photo-40.jpg")" = "40 30" ] || fail "the 40w rendition"
tx_check "$T/tx2" "${opts[@]}"
ok "a new smaller size makes only its renditions; all still transform's bytes"

# 6. --dry-run: a line per rendition, what it would keep or make and why
expect_exit 0 "$IMGBATCH" run --dry-run "$T/urls" -o "$out" "${opts[@]}" \
    --quality jpeg=50
[ "$(grep -c '^  keep .*\.webp (output kept if the download is unchanged)' "$T/stdout")" = 8 ] ||
    { cat "$T/stdout"; fail "dry run: not 8 WebP renditions kept"; }
[ "$(grep -c '^  make .*\.jpg (output remade: its recipe changed)' "$T/stdout")" = 8 ] ||
    { cat "$T/stdout"; fail "dry run: not 8 JPEG renditions remade"; }
assert_grep "^fetch $BASE/file/photo.jpg (asked if changed), 8 renditions:" "$T/stdout"
ok "--dry-run lists each rendition it would keep or make, and why"

# 7. names two URLs would share get the URL's hash, the same every night
convert -size 80x60 gradient:red-blue "$T/srv/x1.jpg"
convert -size 80x60 gradient:green-white "$T/srv/x2.jpg"
printf '%s\t%s\n' "$BASE/file/x1.jpg" a/x.jpg "$BASE/file/x2.jpg" b/x.jpg \
    >"$T/urls-clash"
for night in 1 2; do
    run_expect 0 "$T/urls-clash" -o "$T/cl" --width 40 \
        --name 'flat/{stem}-{w}.{ext}' --report "$T/c$night"
    ls "$T/cl/flat" >"$T/names$night"
done
[ "$(wc -l <"$T/names1")" = 2 ] || fail "clash: $(cat "$T/names1")"
[ "$(grep -c '^x-[0-9a-f]\{8\}-40\.jpg$' "$T/names1")" = 2 ] ||
    fail "clash names: $(cat "$T/names1")"
cmp -s "$T/names1" "$T/names2" || fail "names changed on the second night"
json_check "$T/c2" 'summary["unchanged"] == 2'
set -- "$T"/cl/flat/*
cmp -s "$1" "$2" && fail "one URL's output overwrote the other's"
ok "names two URLs would share are made unique by the URL, deterministically"

# 8. {hash} cannot be known before the download: a usage error
expect_exit 2 "$IMGBATCH" run "$T/urls" -o "$T/never" --width 50 \
    --name '{stem}-{hash}.{ext}'
assert_grep "{hash} is not supported by run" "$T/stderr"
[ ! -e "$T/never" ] || fail "a usage error touched the output folder"
ok "{hash} in run's --name is a usage error"
