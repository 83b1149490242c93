# One output folder, one writer: a second fetch, transform or run on the
# same OUT exits 3 at once naming the holder, or waits with --wait-lock;
# shards of one job share OUT, the same shard twice does not; a run killed
# with SIGKILL does not block the next. The first run is held mid-download
# by a gate the test opens, so "still running" never depends on timing.
. "$IB_TESTS/cli/lib.sh"

# /gate/NAME: counted, then held until $T/srv/.gate-open exists, then
# $T/srv/NAME (tests/server.py)
start_server
mkdir -p "$T/in"
# the shard of a URL depends on the server's port: with 16 URLs, each
# shard gets some but with a chance of 2 in 65536
for i in $(seq 16); do
    convert -size 96x64 "xc:rgb($((i * 15)),90,30)" "$T/srv/p$i.jpg"
    echo "$BASE/gate/p$i.jpg"
done >"$T/urls"
convert -size 96x64 xc:plum "$T/in/t1.png"
convert -size 96x64 xc:khaki "$T/in/t2.png"
# what the copies turned away are given: never held at the gate, so a
# copy that is not turned away ends (wrongly) instead of hanging
echo "http://127.0.0.1:9/never.jpg" >"$T/other"
seen() { hits gate; }
# started_since N: the gate has seen a request past the first N
started_since() { [ "$(seen)" -gt "$1" ]; }
holder_is() { [ "$({ tr -d ' \n' <"$1"; } 2>/dev/null)" = "$2" ]; }

# 1. a run holds OUT while its downloads wait at the gate
"$IMGBATCH" run "$T/urls" -o "$T/out" --report "$T/r1" 2>"$T/e1" &
P1=$!
wait_for started_since 0
for cmd in "run $T/other" "transform $T/in" "fetch $T/other" \
    "run $T/other --shard 0/2"; do
    set -- $cmd
    expect_exit 3 "$IMGBATCH" "$@" -o "$T/out"
    assert_grep "^imgbatch $1: '$T/out' is in use by pid $P1 " "$T/stderr"
done
[ ! -e "$T/out/t1.png" ] || fail "the turned-away transform wrote"
ok "fetch, transform, run on an OUT in use: exit 3, naming the holder"

"$IMGBATCH" transform --wait-lock -o "$T/out" "$T/in" --report "$T/r2" \
    2>"$T/e2" &
P2=$!
wait_for grep -q "waiting for '$T/out', in use by pid $P1" "$T/e2"
[ ! -e "$T/out/t1.png" ] || fail "--wait-lock wrote while OUT was in use"
touch "$T/srv/.gate-open"
rc=0; wait $P1 || rc=$?
[ "$rc" = 0 ] || { cat "$T/e1"; fail "the first run: exit $rc"; }
json_check "$T/r1" 'summary["ok"] == 16 and summary["failed"] == 0'
rc=0; wait $P2 || rc=$?
[ "$rc" = 0 ] || { cat "$T/e2"; fail "transform --wait-lock: exit $rc"; }
json_check "$T/r2" 'summary["ok"] == 2'
ok "the first run finishes with every item ok; --wait-lock then runs"

# 2. two shards of one job at once: both hold OUT, both finish
rm "$T/srv/.gate-open"
n=$(seen)
"$IMGBATCH" run "$T/urls" -o "$T/out2" --shard 0/2 --report "$T/s0" \
    2>"$T/es0" &
S0=$!
"$IMGBATCH" run "$T/urls" -o "$T/out2" --shard 1/2 --report "$T/s1" \
    2>"$T/es1" &
S1=$!
wait_for holder_is "$T/out2/.imgbatch-0-of-2.lock" "$S0"
wait_for holder_is "$T/out2/.imgbatch-1-of-2.lock" "$S1"
expect_exit 3 "$IMGBATCH" run "$T/other" -o "$T/out2" --shard 1/2
assert_grep "'$T/out2' is in use by pid $S1 " "$T/stderr"
expect_exit 3 "$IMGBATCH" transform "$T/in" -o "$T/out2"
assert_grep "'$T/out2' is in use by pid \($S0\|$S1\) " "$T/stderr"
touch "$T/srv/.gate-open"
for k in 0 1; do
    p=$S0; [ $k = 1 ] && p=$S1
    rc=0; wait "$p" || rc=$?
    [ "$rc" = 0 ] || { cat "$T/es$k"; fail "shard $k/2: exit $rc"; }
    # each shard had downloads held at the gate, so they ran side by side
    json_check "$T/s$k" 'summary["ok"] == len(items) >= 1'
done
[ "$(ls "$T/out2" | wc -l)" = 16 ] || fail "the shards did not make all 16"
ok "two shards share OUT; the same shard twice and an unsharded run do not"

# 3. a run killed with SIGKILL (parent and workers) leaves no lock behind
rm "$T/srv/.gate-open"
n=$(seen)
setsid "$IMGBATCH" run "$T/urls" -o "$T/out3" 2>/dev/null &
K=$!
wait_for started_since "$n"
kill -9 -- "-$K"
{ wait "$K"; } 2>/dev/null || true
group_gone() { ! kill -0 -- "-$K" 2>/dev/null; }
wait_for group_gone
touch "$T/srv/.gate-open"
expect_exit 0 "$IMGBATCH" run "$T/urls" -o "$T/out3" --report "$T/r3"
json_check "$T/r3" 'summary["ok"] == 16'
ok "after kill -9 the next run takes OUT at once and finishes"
