#!/usr/bin/env bash
# Hostile images through imgbatch transform: each item fails with a clear
# one-line reason (or decodes correctly), the batch finishes, the report
# has one line per item, the exit code is 1, nothing is written outside
# --out and no temp file is left. Covers decompression bombs (PNG and JPEG
# headers declaring huge sizes, a PNG whose zlib stream inflates past
# --max-pixels, a PNG whose IDAT inflates far past its small header, a
# progressive JPEG with thousands of scans), files truncated at every byte
# offset, content not matching the extension, zero-byte files, folders
# named like images, symlink loops, unreadable inputs and an output folder
# on a full filesystem (ENOSPC).
. "$IB_TESTS/cli/lib.sh"

gen "$T/gen"
B="$IMGBATCH"

# report_items REPORT: number of item lines (the summary excluded)
report_items() { grep -vc '"summary":true' "$1" || true; }

# no_temps DIR: ib_transform_file's ".<name>.tmp-XXXXXX" are all gone
no_temps() {
    local left
    left=$(find "$1" -name '.*.tmp-*')
    [ -z "$left" ] || fail "temp files left: $left"
}

# snapshot: every path under $T except out*/ folders and reports, so a run
# can be shown to write nothing outside --out
snapshot() {
    find "$T" -mindepth 1 \( -path "$T/out*" -prune \) -o \
        ! -name '*.jsonl' ! -name stdout ! -name stderr ! -name rss -print | sort
}

# bomb_png FILE W H ROWS: greyscale W x H PNG whose IDAT is ROWS zero rows
# of W + 1 bytes, deflated (a 20000-row stream of 20001 bytes is ~390 kB)
bomb_png() {
    python3 - "$@" <<'PY'
import struct, sys, zlib
path, w, h, rows = sys.argv[1], *map(int, sys.argv[2:])
def chunk(t, d):
    crc = zlib.crc32(t + d) & 0xffffffff
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", crc)
c = zlib.compressobj(9)
row = b"\0" * (w + 1)
idat = b"".join([c.compress(row) for _ in range(rows)] + [c.flush()])
ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
with open(path, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))
PY
}

# --- decompression bombs ---------------------------------------------------
mkdir -p "$T/bombs"
cp "$T/gen/huge-dims.png" "$T/gen/huge-dims.jpg" "$T/gen/many-scans.jpg" \
    "$T/bombs/"
bomb_png "$T/bombs/zlib-bomb.png" 20000 20000 20000
# a 64 x 64 header over 400 MB of zlib: libpng inflates the excess in
# small pieces (time, not memory); the 64 x 64 image is intact
bomb_png "$T/bombs/liar.png" 64 64 20000
[ "$(stat -c %s "$T/bombs/zlib-bomb.png")" -lt 500000 ] ||
    fail "the zlib bomb should be small"
before=$(snapshot)
expect_exit 1 /usr/bin/time -f '%M' -o "$T/rss" "$B" transform \
    --engine serial --max-pixels 10000000 -o "$T/out-bombs" \
    --report "$T/bombs.jsonl" "$T/bombs"
rss_kb=$(tail -1 "$T/rss")
echo "bombs: peak RSS ${rss_kb} kB"
# far below what any bomb needs decoded (400 MB for the smallest); ASan's
# shadow memory and quarantine add their own
limit_kb=65536
[ -z "${IB_SANITIZE:-}" ] || limit_kb=262144
[ "$rss_kb" -lt "$limit_kb" ] || fail "bombs took ${rss_kb} kB of memory"
json_check "$T/bombs.jsonl" 'len(items) == 5 and summary["failed"] == 4'
json_check "$T/bombs.jsonl" '[i["error"] for i in items if i["input"].endswith("/zlib-bomb.png")] == ["20000x20000 is over the pixel limit (10000000)"]'
json_check "$T/bombs.jsonl" '[i["error"] for i in items if i["input"].endswith("/huge-dims.png")] == ["100000x100000 is over the pixel limit (10000000)"]'
json_check "$T/bombs.jsonl" 'any("60000x60000 is over the pixel limit" in i["error"] for i in items if i["input"].endswith("/huge-dims.jpg"))'
json_check "$T/bombs.jsonl" 'any("more than 1000 scans" in i["error"] for i in items if i["input"].endswith("/many-scans.jpg"))'
json_check "$T/bombs.jsonl" '[(i["status"], i["width_out"], i["height_out"]) for i in items if i["input"].endswith("/liar.png")] == [("ok", 64, 64)]'
[ "$(dims "$T/out-bombs/liar.png")" = "64 64" ] || fail "liar.png output"

[ ! -e "$T/out-bombs/zlib-bomb.png" ] || fail "an output for a bomb"
no_temps "$T/out-bombs"
[ "$(snapshot)" = "$before" ] || fail "bombs: files written outside --out"
# the default limit (268 MP) refuses the 400 MP bomb as well
expect_exit 1 "$B" transform -o "$T/out-bombs2" "$T/bombs/zlib-bomb.png"
assert_grep "zlib-bomb.png': 20000x20000 is over the pixel limit" "$T/stderr"
ok "decompression bombs fail on their header, in bounded memory"

# --- truncated at every byte offset ----------------------------------------
# four small files, both codecs, cut at every length 0..size-1, in one
# batch through the process pool: each item fails cleanly or decodes
mkdir -p "$T/cut"
n=0
for src in png-rgb8.png png-p4-i.png jpeg-420.jpg jpeg-prog.jpg; do
    size=$(stat -c %s "$T/gen/$src")
    python3 - "$T/gen/$src" "$T/cut" "$src" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
stem, ext = sys.argv[3].rsplit(".", 1)
for i in range(len(data)):
    with open("%s/%s-%05d.%s" % (sys.argv[2], stem, i, ext), "wb") as f:
        f.write(data[:i])
PY
    n=$((n + size))
done
expect_exit 1 "$B" transform -q -o "$T/out-cut" --report "$T/cut.jsonl" \
    --resize 16x16 "$T/cut"
json_check "$T/cut.jsonl" "len(items) == $n"
json_check "$T/cut.jsonl" 'all(i["status"] in ("ok", "failed") for i in items)'
json_check "$T/cut.jsonl" 'summary["failed"] + summary["ok"] == len(items) and summary["failed"] > 0.9 * len(items)'
json_check "$T/cut.jsonl" 'all(i["error"] and "\n" not in i["error"] and "signal" not in i["error"] for i in items if i["status"] == "failed")'
json_check "$T/cut.jsonl" 'all(i["error"] == "empty file" for i in items if i["input"].endswith("-00000.png") or i["input"].endswith("-00000.jpg"))'
# what did decode is a whole image another decoder reads at the right size
python3 - "$T/cut.jsonl" >"$T/cut-ok" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    i = json.loads(l)
    if i.get("status") == "ok":
        print(i["output"], i["width_out"], i["height_out"])
PY
while read -r out w h; do
    [ "$(dims "$out")" = "$w $h" ] || fail "'$out' is not a whole ${w}x$h image"
done <"$T/cut-ok"
failed_outputs=$(python3 -c '
import json, os, sys
for l in open(sys.argv[1]):
    i = json.loads(l)
    if i.get("status") == "failed" and os.path.exists(i["output"]):
        print(i["output"])' "$T/cut.jsonl")
[ -z "$failed_outputs" ] || fail "failed items left outputs: $failed_outputs"
no_temps "$T/out-cut"
ok "$n truncated files: each fails cleanly or decodes, one batch, exit 1"

# --- content that does not match the name, empty files, dir.jpg/ ----------
mkdir -p "$T/names/dir.jpg" "$T/names/deep.png/x.jpg"
cp "$T/gen/png-rgb8.png" "$T/names/png-named.jpg"
cp "$T/gen/jpeg-420.jpg" "$T/names/jpeg-named.png"
printf 'plain text, not an image\n' >"$T/names/text.png"
: >"$T/names/zero.jpg"
: >"$T/names/zero.png"
cp "$T/gen/jpeg-444.jpg" "$T/names/dir.jpg/inner.jpg"
cp "$T/gen/png-g8.png" "$T/names/deep.png/x.jpg/inner.png"
before=$(snapshot)
expect_exit 1 "$B" transform -o "$T/out-names" --report "$T/names.jsonl" \
    "$T/names"
json_check "$T/names.jsonl" 'len(items) == 7 and summary["ok"] == 4 and summary["failed"] == 3'
json_check "$T/names.jsonl" '[i["output"].rsplit("/", 1)[1] for i in items if i["input"].endswith("/png-named.jpg")] == ["png-named.png"]'
json_check "$T/names.jsonl" '[i["output"].rsplit("/", 1)[1] for i in items if i["input"].endswith("/jpeg-named.png")] == ["jpeg-named.jpg"]'
json_check "$T/names.jsonl" '[i["error"] for i in items if i["input"].endswith("/text.png")] == ["not a JPEG, PNG, WebP or AVIF image (unknown signature)"]'
json_check "$T/names.jsonl" 'sorted(i["error"] for i in items if "/zero." in i["input"]) == ["empty file", "empty file"]'
head -c 8 "$T/out-names/png-named.png" | grep -q PNG || fail "not a PNG"
[ "$(dims "$T/out-names/jpeg-named.jpg")" = "37 23" ] || fail "jpeg-named"
[ "$(dims "$T/out-names/dir.jpg/inner.jpg")" = "37 23" ] || fail "dir.jpg/"
[ -f "$T/out-names/deep.png/x.jpg/inner.png" ] || fail "deep.png/x.jpg/"
assert_grep "cannot transform '$T/names/text.png': not a JPEG, PNG, WebP or AVIF" \
    "$T/stderr"
no_temps "$T/out-names"
[ "$(snapshot)" = "$before" ] || fail "names: files written outside --out"
ok "format from content; text, empty files fail; dir.jpg/ is a folder"

# --- names that could break the report: newline, quote, backslash, tab
mkdir -p "$T/odd"
for name in $'new\nline.png' 'quote".png' 'back\slash.png' $'tab\t.png' \
    'ütf-8.png'; do
    cp "$T/gen/png-rgb8.png" "$T/odd/$name"
done
printf 'not an image' >"$T/odd/"$'ctl\x01.png'
expect_exit 1 "$B" transform -o "$T/out-odd" --report "$T/odd.jsonl" "$T/odd"
json_check "$T/odd.jsonl" 'len(items) == 6 and summary["ok"] == 5 and summary["failed"] == 1'
json_check "$T/odd.jsonl" '"new\nline.png" in {i["input"].rsplit("/", 1)[1] for i in items}'
[ -f "$T/out-odd/"$'new\nline.png' ] || fail "odd names: output missing"
ok "names with newlines, quotes, tabs, control bytes: valid report lines"

# --- symlink loops, dangling links, FIFOs ----------------------------------
mkdir -p "$T/links/sub"
cp "$T/gen/png-rgb8.png" "$T/links/sub/real.png"
ln -s . "$T/links/self"               # a loop through a folder link
ln -s .. "$T/links/sub/up"            # and one up the tree
ln -s loop-b.jpg "$T/links/loop-a.jpg"  # a loop of file links
ln -s loop-a.jpg "$T/links/loop-b.jpg"
ln -s nowhere.png "$T/links/dangling.png"
ln -s sub/real.png "$T/links/alias.png"   # a link to a file is followed
mkfifo "$T/links/fifo.jpg"            # never opened: reading would block
mkfifo "$T/links/fifo-not-image"
expect_exit 1 "$B" transform -o "$T/out-links" --report "$T/links.jsonl" \
    "$T/links" "$T/links/loop-a.jpg"
json_check "$T/links.jsonl" 'sorted(i["input"].split("/links/")[1] for i in items) == ["alias.png", "dangling.png", "fifo.jpg", "loop-a.jpg", "loop-a.jpg", "loop-b.jpg", "sub/real.png"]'
json_check "$T/links.jsonl" 'summary["ok"] == 2 and summary["failed"] == 5'
json_check "$T/links.jsonl" 'all("Too many levels of symbolic links" in i["error"] for i in items if "/loop-" in i["input"])'
json_check "$T/links.jsonl" '[i["error"] for i in items if i["input"].endswith("/dangling.png")] == ["cannot read: No such file or directory"]'
json_check "$T/links.jsonl" '[i["error"] for i in items if i["input"].endswith("/fifo.jpg")] == ["not a file or folder"]'
ok "symlink loops terminate; dangling links and FIFOs fail by name"

# --- unreadable files ------------------------------------------------------
# root reads any file whatever its mode, so as root the run drops to
# "nobody" with setpriv; the folder and the binary must be reachable
mkdir -p "$T/perm"
cp "$T/gen/png-rgb8.png" "$T/perm/readable.png"
cp "$T/gen/png-rgb8.png" "$T/perm/locked.png"
chmod 000 "$T/perm/locked.png"
as_user=()
who=$(id -un)
if [ "$(id -u)" = 0 ]; then
    who=nobody
    command -v setpriv >/dev/null || fail "setpriv is needed to drop root"
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    chmod 755 "$T" "$T/perm"
    mkdir -m 777 "$T/out-perm"
fi
"${as_user[@]}" test ! -r "$T/perm/locked.png" ||
    fail "locked.png is readable: the test would prove nothing"
expect_exit 1 "${as_user[@]}" "$B" transform --engine serial \
    -o "$T/out-perm" "$T/perm"
assert_grep "cannot transform '$T/perm/locked.png': cannot read: permission denied" "$T/stderr"
assert_grep "1 ok, 1 failed" "$T/stderr"
[ -f "$T/out-perm/readable.png" ] || fail "readable.png not transformed"
ok "an unreadable file fails by name (as $who)"

# --- an output folder on a full filesystem ---------------------------------
# a 512 kB tmpfs holds about four of the ten 300x300 uncompressed PNGs
full="$T/full"
mkdir -p "$full" "$T/enospc"
for i in 0 1 2 3 4 5 6 7 8 9; do
    cp "$T/gen/png-rgb8.png" "$T/enospc/img-$i.png"
done
run_full=()
if mount -t tmpfs -o size=512k tmpfs "$full" 2>/dev/null; then
    at_exit 'umount "$full" 2>/dev/null || true'
elif unshare -rm true 2>/dev/null; then
    # no privilege to mount here: a private mount namespace as a fake root
    run_full=(unshare -rm sh -c 'mount -t tmpfs -o size=512k tmpfs "$0" &&
        exec "$@"' "$full")
else
    fail "cannot mount a small tmpfs (needs root or user namespaces)"
fi
# serial: parallel workers could all fill the disk halfway and all fail
expect_exit 1 "${run_full[@]}" "$B" transform --engine serial -o "$full/out" \
    --report "$T/enospc.jsonl" --upscale --resize 300x300 --png-level 0 \
    --format png "$T/enospc"
json_check "$T/enospc.jsonl" 'len(items) == 10 and summary["ok"] >= 1 and summary["failed"] >= 1 and summary["ok"] + summary["failed"] == 10'
json_check "$T/enospc.jsonl" 'all("No space left on device" in i["error"] and "cannot write" in i["error"] for i in items if i["status"] == "failed")'
assert_grep "cannot transform '$T/enospc/img-[0-9].png': cannot write '$full/out/img-[0-9].png': No space left on device" "$T/stderr"
if [ ${#run_full[@]} -eq 0 ]; then
    # outputs on the tmpfs are whole images; the failed ones are absent
    python3 - "$T/enospc.jsonl" >"$T/enospc-files" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    i = json.loads(l)
    if "status" in i:
        print(i["status"], i["output"], i.get("width_out"), i.get("height_out"))
PY
    while read -r st out w h; do
        if [ "$st" = ok ]; then
            [ "$(dims "$out")" = "$w $h" ] || fail "'$out' is not whole"
        else
            [ ! -e "$out" ] || fail "a partial file under '$out'"
        fi
    done <"$T/enospc-files"
    no_temps "$full/out"
    umount "$full"
fi
ok "ENOSPC: a clear error per item, no partial file, the rest done, exit 1"

# a 16000 x 16000 header over 1 KB of IDAT: cut short, it must fail for
# the few kilobytes it is, not hold a buffer of the declared size (the
# fast path once allocated 768 MB and the libpng retry zeroed it all)
mkdir -p "$T/cut"
/usr/bin/python3 - "$T/cut/cut.png" <<'PY'
import struct, sys, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
ihdr = struct.pack(">IIBBBBB", 16000, 16000, 8, 2, 0, 0, 0)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
    chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
PY
expect_exit 1 /usr/bin/time -f '%M' -o "$T/rss" "$B" transform \
    --engine serial -o "$T/out-cut" --report "$T/cut.jsonl" "$T/cut/cut.png"
rss_kb=$(tail -1 "$T/rss")
echo "cut PNG: peak RSS ${rss_kb} kB"
[ "$rss_kb" -lt "$limit_kb" ] || fail "a cut 16000x16000 PNG took ${rss_kb} kB"
json_check "$T/cut.jsonl" '[i["error"] for i in items] == ["PNG: Not enough image data"]'
rm -rf "$T/cut" "$T/out-cut"
ok "a cut PNG declaring 16000x16000 fails in bounded memory"
