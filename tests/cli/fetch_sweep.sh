# fetch sweeps what a killed run left in its download folder: the temp
# files of downloads (".NAME.part.XXXXXX") and of its index, in a folder it
# has to itself (fetch -o without --shard, run's OUT/.downloads-K-of-N with
# --shard), and nothing else there.
. "$IB_TESTS/cli/lib.sh"
start_server

# plant DIR: the leftovers of a killed fetch, and files that must stay
plant() {
    mkdir -p "$1"
    for f in .a.jpg.part.AbC123 .b.png.part.z9Y8x7 .imgbatch-fetch.tsv.Q1w2E3
    do
        echo partial >"$1/$f"
    done
    for f in keep.part.ABCDEF .c.jpg.part.ABC .c.jpg.part.ABCDEFG \
        .c.jpg.tmp-ABC123 .part.ABCDEF .notes keep.jpg
    do
        echo keep >"$1/$f"
    done
}
# swept DIR: the leftovers are gone, every other planted file is as it was
swept() {
    for f in .a.jpg.part.AbC123 .b.png.part.z9Y8x7 .imgbatch-fetch.tsv.Q1w2E3
    do
        [ ! -e "$1/$f" ] || fail "$1/$f was not swept"
    done
    for f in keep.part.ABCDEF .c.jpg.part.ABC .c.jpg.part.ABCDEFG \
        .c.jpg.tmp-ABC123 .part.ABCDEF .notes keep.jpg
    do
        [ "$(cat "$1/$f" 2>/dev/null)" = keep ] || fail "$1/$f was touched"
    done
}

for i in 1 2 3 4; do echo "$BASE/ok/s$i.bin?size=100"; done >"$T/list"
plant "$T/dl"
# fetch shards may share -o: a shard's sweep would delete another's live
# downloads, so only a copy that has the folder to itself sweeps it
"$IMGBATCH" fetch -q -o "$T/dl" --shard 1/2 "$T/list" ||
    fail "fetch --shard 1/2 failed"
[ -e "$T/dl/.a.jpg.part.AbC123" ] || fail "a fetch shard swept a shared -o"
"$IMGBATCH" fetch -q -o "$T/dl" "$T/list" || fail "fetch failed"
swept "$T/dl"
ok "fetch sweeps its own temp files in -o (unsharded), and nothing else"

for i in 1 2 3 4; do photo "p$i.jpg" "$i"; done
for i in 1 2 3 4; do echo "$BASE/file/p$i.jpg"; done >"$T/urls"
for k in 0 1; do
    plant "$T/out/.downloads-$k-of-2"
    run_expect 0 "$T/urls" -o "$T/out" --shard "$k/2" --resize 64x64 \
        --progress never
    swept "$T/out/.downloads-$k-of-2"
done
ok "run --shard: each shard's download folder swept"
