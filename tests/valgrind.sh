#!/usr/bin/env bash
# tests/valgrind.sh BUILD: a sample transform and a sample fetch from
# BUILD's imgbatch under valgrind, plus the fuzz regression replays. Each
# must be clean: no invalid access, no use of uninitialised memory, no
# definite leak (valgrind's exit code 1 fails the script). scripts/test.sh
# runs it on the release build; it takes about a minute.
#
# transform runs --engine serial and fetch --mode serial: valgrind then
# sees every decode and every transfer in the process it watches (the
# pool's workers and threads are covered by the ASan+UBSan suite).
set -euo pipefail
build=$(cd "${1:?usage: valgrind.sh BUILD}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
B=$build/cmd/imgbatch
IMGBATCH=$B IB_TESTS=$here
. "$here/cli/lib.sh"   # $T, start_server; its expect is replaced below

vg() {
    valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --track-origins=yes "$@"
}

# expect RC CMD...: CMD's own exit code must be RC; valgrind's 99 fails
expect() {
    local want=$1 rc=0
    shift
    vg "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$T/err" >&2
        echo "FAIL: exit $rc (want $want; 99 is valgrind): $*" >&2
        exit 1
    fi
}

# --- transform: good and broken images, every op ---------------------------
mkdir -p "$T/gen" "$T/in"
"$build/testdata/ib-gen" "$T/gen" >/dev/null
for f in jpeg-420.jpg jpeg-prog.jpg jpeg-cmyk.jpg jpeg-icc.jpg orient-6.jpg \
    png-rgba8.png png-p4-i.png png-g16-trns.png png-icc.png truncated.png \
    truncated.jpg huge-dims.jpg bad-crc.png many-scans.jpg garbage.jpg; do
    cp "$T/gen/$f" "$T/in/"
done
expect 1 "$B" transform --engine serial -q -o "$T/out1" \
    --report "$T/t1.jsonl" --resize 24x24 --sharpen 1,2 --rotate 90 "$T/in"
expect 1 "$B" transform --engine serial -q -o "$T/out2" --format png \
    --crop 20x10+2+2 --blur 2 --grayscale --flip --flop "$T/in"
expect 1 "$B" transform --engine serial -q -o "$T/out3" --format jpeg \
    --progressive --resize 30x30^ --filter mitchell --no-shrink-on-load \
    "$T/in"
ok=$(grep -c '"status":"ok"' "$T/t1.jsonl")
[ "$ok" = 9 ] || { echo "FAIL: $ok of 9 good images done" >&2; exit 1; }
echo "valgrind: transform clean (3 runs, 15 images, 9 good)"

# --- fetch: ok, errors, redirects, size limit, gzip ------------------------
start_server
base=$BASE
cat >"$T/urls.txt" <<EOF
# comment
$base/ok/a.jpg
$base/ok/b.png?size=70000
$base/status/404
$base/redirect?to=/ok/c.jpg
$base/loop
$base/big?size=300000
$base/gzip?size=100000
$base/short
$base/ok/a.jpg
ftp://example.com/x.jpg
EOF
expect 1 "$B" fetch --mode serial -q --retries 1 --timeout 20 \
    --max-size 200000 -o "$T/dl" --report "$T/f.jsonl" "$T/urls.txt"
ok=$(grep -c '"status":"ok"' "$T/f.jsonl")
[ "$ok" = 4 ] || { echo "FAIL: $ok of 4 good URLs fetched" >&2; exit 1; }
# a rerun: validators from the index, 304s
expect 1 "$B" fetch --mode serial -q --retries 0 --max-size 200000 \
    -o "$T/dl" "$T/urls.txt"
echo "valgrind: fetch clean (2 runs, 10 URLs)"

# --- the fuzz regression inputs --------------------------------------------
for t in decode ops list name; do
    expect 0 "$build/tests/replay_$t" "$here/fuzz/regressions/$t"
done
echo "valgrind: fuzz regression replays clean"
