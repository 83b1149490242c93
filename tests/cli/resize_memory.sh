#!/usr/bin/env bash
# Large downscales in bounded memory. Long PNGs, the 60,000,000 x 1 of the
# reliability issue among them, resize to 50x50 under a `ulimit -v` far
# below what filtering the whole input took (a weight table of the input
# width times the taps per output pixel: 750 MB for 20,000,000 x 1, 2.2 GB
# for 60,000,000 x 1), on every engine; and an allocation that fails anyway
# is that item's clean error, never an abort of the batch.
. "$(dirname "$0")/lib.sh"

# values FILE: the first channel of every pixel, space-separated
values() {
    convert "$1" -channel R -separate -depth 8 gray:- | od -An -v -tu1 |
        tr -s ' \n' ' '
}

# near_wave FILE W: the 50 output pixels of long_png.py's triangle wave of
# 3 periods (20 + f(x), first channel) within 3 levels of its value at
# each pixel's centre
near_wave() {
    python3 - "$2" $(values "$1") <<'PY' || fail "$1 is not the wave"
import sys
w, got = int(sys.argv[1]), [int(v) for v in sys.argv[2:]]
def f(x):
    u = x * 600 / w % 200
    return u if u <= 100 else 200 - u
want = [20 + f((o + 0.5) * w / len(got)) for o in range(len(got))]
bad = [(o, g, round(e)) for o, (g, e) in enumerate(zip(got, want))
       if abs(g - e) > 3]
assert len(got) == 50 and not bad, (len(got), bad[:5])
PY
}

mkdir -p "$T/in" "$T/huge"
python3 "$IB_TESTS/cli/long_png.py" "$T/in/wide.png" 20000000 1
python3 "$IB_TESTS/cli/long_png.py" "$T/in/tall.png" 1 20000000
python3 "$IB_TESTS/cli/long_png.py" "$T/huge/huge.png" 60000000 1
python3 "$IB_TESTS/cli/long_png.py" "$T/huge/small.png" 300 200

# 20 MP as one row or one column: 60 MB decoded, 400 MB allowed (one
# image a run: the omp engine decodes two at once on two cores)
for engine in serial omp procs; do
    for f in wide tall; do
        rm -rf "$T/o"
        expect_exit 0 under_limit 400000 "$IMGBATCH" transform -q \
            --engine "$engine" -o "$T/o" --resize 50x50 "$T/in/$f.png"
        want="50 1"
        [ $f = wide ] || want="1 50"
        [ "$(dims "$T/o/$f.png")" = "$want" ] ||
            fail "$engine: $f is $(dims "$T/o/$f.png")"
        near_wave "$T/o/$f.png" 20000000
    done
done
ok "20,000,000 x 1 and 1 x 20,000,000 to 50x50 under ulimit -v 400 MB"

# the issue's case: 60,000,000 x 1 under ulimit -v 1.1 GB ("free(): double
# free" with serial and omp, "worker crashed: SIGABRT" with procs)
for engine in serial procs; do
    rm -rf "$T/o"
    expect_exit 0 under_limit 1100000 "$IMGBATCH" transform -q \
        --engine "$engine" -o "$T/o" --resize 50x50 "$T/huge"
    [ "$(dims "$T/o/huge.png")" = "50 1" ] || fail "$engine: huge"
    near_wave "$T/o/huge.png" 60000000
done
ok "60,000,000 x 1 to 50x50 under ulimit -v 1.1 GB"

# too little memory even to decode it: that item fails, the batch goes on
if [ -z "${IB_SANITIZE:-}" ]; then
    for engine in serial omp procs; do
        rm -rf "$T/o"
        expect_exit 1 under_limit 400000 "$IMGBATCH" transform \
            --engine "$engine" -o "$T/o" --report "$T/r.jsonl" \
            --resize 50x50 "$T/huge"
        json_check "$T/r.jsonl" \
            'summary["ok"] == 1 and summary["failed"] == 1'
        json_check "$T/r.jsonl" '[i["status"] for i in items
            if i["input"].endswith("/small.png")] == ["ok"]'
        json_check "$T/r.jsonl" '[i["input"] for i in items
            if i["input"].endswith("/huge.png") and "memory" in i["error"]
            and "crash" not in i["error"]] != []'
        assert_grep "huge.png': .*memory" "$T/stderr"
        [ "$(dims "$T/o/small.png")" = "50 33" ] || fail "$engine: small"
    done
    ok "out of memory under ulimit -v is one item's error on every engine"
fi
