#!/usr/bin/env bash
# Resource limits: a long URL list fetched under `ulimit -n 256`, and a
# transform of a large tree, with peak memory measured and bounded.
#
#   IB_LIMIT_ITEMS   URLs and files (default 100000; 20000 under ASan,
#                    whose slower runs would add minutes to CI)
#
# The release run takes about 25 s here; the figures it prints (seconds,
# peak RSS) are information, never asserted against a clock. What is
# asserted: every item done, one report line each, no descriptor
# exhaustion, and peak RSS under a bound far above the per-item
# bookkeeping (a few hundred bytes an item) and far below what holding
# bodies or images would take. --no-fsync: durability is not what this
# measures, and 2 x 100,000 fsyncs would cost the disk minutes.
. "$IB_TESTS/cli/lib.sh"

default_n=100000
[ -z "${IB_SANITIZE:-}" ] || default_n=20000
n=${IB_LIMIT_ITEMS:-$default_n}
# peak RSS bounds in kB; ASan's shadow memory and quarantine need more
fetch_limit=$((200 * 1024))
transform_limit=$((200 * 1024))
if [ -n "${IB_SANITIZE:-}" ]; then
    fetch_limit=$((1024 * 1024))
    transform_limit=$((1024 * 1024))
fi

# peak_kb FILE: the %M line /usr/bin/time wrote
peak_kb() { tail -1 "$1" | cut -d' ' -f3; }

# --- fetch n URLs with 256 descriptors ---------------------------------
start_server
python3 - "$BASE" "$n" >"$T/urls.txt" <<'PY'
import sys
base, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    print("%s/ok/u%06d.png?size=16" % (base, i))
PY
# -c 200 asks for more transfers than 256 descriptors allow: fetch clamps
rc=0
(ulimit -n 256 && exec /usr/bin/time -f '%e s %M' -o "$T/fetch.time" \
    "$IMGBATCH" fetch -q -c 200 --retries 2 --no-fsync -o "$T/dl" \
    --report "$T/fetch.jsonl" "$T/urls.txt") 2>"$T/stderr" || rc=$?
[ "$rc" = 0 ] || { tail -20 "$T/stderr" >&2; fail "fetch exit $rc"; }
[ "$(summary "$T/fetch.jsonl" ok)" = "$n" ] || fail "fetch: not $n ok"
[ "$(grep -vc '"summary":true' "$T/fetch.jsonl")" = "$n" ] ||
    fail "fetch: not $n report lines"
[ "$(find "$T/dl" -type f -name 'u*.png' | wc -l)" = "$n" ] ||
    fail "fetch: not $n files"
! grep -q 'Too many open files' "$T/stderr" "$T/fetch.jsonl" ||
    fail "fetch ran out of descriptors"
same_body "$T/dl/u000000.png" u000000.png 16
no_temps "$T/dl"
kb=$(peak_kb "$T/fetch.time")
echo "fetch: $n URLs under ulimit -n 256 in $(cut -d' ' -f1 "$T/fetch.time") s, peak RSS $kb kB"
[ "$kb" -lt "$fetch_limit" ] || fail "fetch: peak RSS $kb kB"
echo "ok - fetch of $n URLs with 256 descriptors"

# --- transform a tree of n files -------------------------------------------
# hard links to a 1x1 PNG in 100 folders: n inputs, one inode per 50,000
# (ext4 allows 65,000 links to one file)
mkdir -p "$T/tree"
python3 - "$T/tree" "$n" <<'PY'
import base64, os, sys
root, n = sys.argv[1], int(sys.argv[2])
png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklE"
                       "QVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==")
for d in range(100):
    os.mkdir(os.path.join(root, "d%02d" % d))
for i in range(n):
    one = os.path.join(root, "src-%d.png" % (i // 50000))
    if i % 50000 == 0:
        with open(one, "wb") as f:
            f.write(png)
    os.link(one, os.path.join(root, "d%02d" % (i % 100), "f%06d.png" % i))
for k in range((n + 49999) // 50000):
    os.unlink(os.path.join(root, "src-%d.png" % k))
PY
rc=0
(ulimit -n 256 && exec /usr/bin/time -f '%e s %M' -o "$T/transform.time" \
    "$IMGBATCH" transform -q --no-fsync -o "$T/tout" \
    --report "$T/transform.jsonl" \
    "$T/tree") 2>"$T/stderr" || rc=$?
[ "$rc" = 0 ] || { tail -20 "$T/stderr" >&2; fail "transform exit $rc"; }
[ "$(summary "$T/transform.jsonl" ok)" = "$n" ] || fail "transform: not $n ok"
[ "$(grep -vc '"summary":true' "$T/transform.jsonl")" = "$n" ] ||
    fail "transform: not $n report lines"
[ "$(find "$T/tout" -type f -name 'f*.png' | wc -l)" = "$n" ] ||
    fail "transform: not $n outputs"
[ "$(identify -format '%w %h' "$T/tout/d07/f000007.png")" = "1 1" ] ||
    fail "a bad output"
kb=$(peak_kb "$T/transform.time")
echo "transform: $n files in $(cut -d' ' -f1 "$T/transform.time") s, peak RSS $kb kB"
[ "$kb" -lt "$transform_limit" ] || fail "transform: peak RSS $kb kB"
echo "ok - transform of $n files in bounded memory"
