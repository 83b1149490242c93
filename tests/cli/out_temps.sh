# Temp files a killed run left (".NAME.tmp-" + 6 letters or digits) are
# removed when the next transform or run starts: all of them by an
# unsharded copy, only its own outputs' by a --shard copy (other shards may
# be writing theirs). A user's file that merely looks similar stays.
. "$IB_TESTS/cli/lib.sh"

mkdir -p "$T/in" "$T/out/sub/deeper"
for i in 1 2 3 4 5 6 7 8; do
    convert -size 24x16 "xc:rgb($((i * 30)),40,90)" "$T/in/x$i.png"
done
ours="$T/out/.a.jpg.tmp-ABCDEF $T/out/sub/.b.png.tmp-Xy12z9
      $T/out/sub/deeper/.c.jpeg.tmp-000000"
theirs="$T/out/.a.jpg.tmp-notours $T/out/.a.jpg.tmp-ABCDE
        $T/out/a.jpg.tmp-ABCDEF $T/out/sub/.b.png.tmp-AB_DEF"
for f in $ours $theirs; do echo left >"$f"; done

expect_exit 0 "$IMGBATCH" transform -o "$T/out" "$T/in"
for f in $ours; do [ ! -e "$f" ] || fail "not swept: $f"; done
for f in $theirs; do [ -e "$f" ] || fail "a user's file was removed: $f"; done
ok "transform sweeps its own temp files in all of OUT, and only those"

# --shard: each copy removes the temp files of its own outputs only
mkdir -p "$T/sh"
for i in 1 2 3 4 5 6 7 8; do echo left >"$T/sh/.x$i.png.tmp-QWERTY"; done
expect_exit 0 "$IMGBATCH" transform -o "$T/sh" "$T/in" --shard 0/2 \
    --report "$T/s0"
python3 - "$T" <<'PY' || fail "--shard 0/2 swept the wrong temp files"
import json, os, sys
t = sys.argv[1]
mine = {os.path.basename(json.loads(l)["output"])
        for l in open(f"{t}/s0") if '"summary"' not in l}
assert 0 < len(mine) < 8, mine
for i in range(1, 9):
    name = f"x{i}.png"
    left = os.path.exists(f"{t}/sh/.{name}.tmp-QWERTY")
    assert left == (name not in mine), (name, left)
PY
ok "transform --shard removes only its own outputs' temp files"

# an unsharded run sweeps them all; a --shard copy of run, whose output
# names are known only as files land, removes an output's temp files just
# before writing it
start_server
# the shard of a URL depends on the server's port: with 16 URLs, each
# shard gets some but with a chance of 2 in 65536
for i in $(seq 16); do
    cp "$T/in/x$(( (i - 1) % 8 + 1 )).png" "$T/srv/p$i.png"
    echo "$BASE/file/p$i.png"
done >"$T/urls"
mkdir -p "$T/run"
for i in $(seq 16); do echo left >"$T/run/.p$i.png.tmp-ZXCVBN"; done
expect_exit 0 "$IMGBATCH" run "$T/urls" -o "$T/run" --shard 1/2 \
    --report "$T/r1"
python3 - "$T" <<'PY' || fail "run --shard 1/2 swept the wrong temp files"
import json, os, sys
t = sys.argv[1]
mine = {os.path.basename(json.loads(l)["output"])
        for l in open(f"{t}/r1") if '"summary"' not in l}
assert 0 < len(mine) < 16, mine
for i in range(1, 17):
    name = f"p{i}.png"
    left = os.path.exists(f"{t}/run/.{name}.tmp-ZXCVBN")
    assert left == (name not in mine), (name, left)
PY
expect_exit 0 "$IMGBATCH" run "$T/urls" -o "$T/run"
[ -z "$(find "$T/run" -name '*.tmp-*')" ] || fail "run left temp files"
ok "run: a shard removes its own outputs' temp files, an unsharded run all"
