#!/usr/bin/env bash
# The three engines give the same bytes, report lines and exit codes; a
# crashing or hanging image fails alone; --worker-mem caps a worker.
. "$(dirname "$0")/lib.sh"

gen "$T/gen"
mkdir -p "$T/in"
cp "$T"/gen/png-rgba8.png "$T"/gen/png-p4-trns.png "$T"/gen/orient-6.jpg \
   "$T"/gen/truncated.jpg "$T"/gen/png-g16-i.png "$T/in/"
convert -seed 5 -size 640x480 plasma:fractal -quality 90 "$T/in/photo.jpg"
for i in 1 2 3 4 5 6; do cp "$T/in/photo.jpg" "$T/in/copy$i.jpg"; done

statuses() {
    python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if not o.get("summary"):
        print(o["input"], o["status"], o["error"], o.get("width_out"))
' "$1" | sort
}

for e in "serial" "procs --procs 1" "procs --procs 3" "omp --threads 1" \
         "omp --threads 4"; do
    d="$T/out-${e// /_}"
    expect_exit 1 "$IMGBATCH" transform --engine $e -o "$d" --resize 200x200 \
        --report "$d.jsonl" "$T/in"
    statuses "$d.jsonl" >"$d.status"
done
ref="$T/out-serial"
for d in "$T"/out-*; do
    [ -d "$d" ] || continue
    diff -r -x .imgbatch.lock "$ref" "$d" >/dev/null ||
        fail "outputs of $d differ from serial"
    diff "$ref.status" "$d.status" || fail "report of $d differs from serial"
done
[ "$(ls "$ref" | wc -l)" = 11 ] || fail "want 11 outputs"
ok "serial, procs 1/3 and omp 1/4 give identical bytes and reports"

# a worker that crashes fails its image alone, and is replaced (under ASan
# the SIGSEGV must reach the pool, not ASan's handler)
ASAN_OPTIONS="${ASAN_OPTIONS:-}:handle_segv=0" \
IMGBATCH_TEST_FAULT=crash:copy3 expect_exit 1 "$IMGBATCH" transform \
    --procs 2 -o "$T/crash" --resize 100x100 --report "$T/crash.jsonl" "$T/in"
assert_grep "cannot transform '$T/in/copy3.jpg': worker crashed: SIGSEGV" \
    "$T/stderr"
json_check "$T/crash.jsonl" "summary['ok'] == 10 and summary['failed'] == 2"
ok "a crash fails one image; the batch goes on"

# a hung image is killed after --job-timeout
IMGBATCH_TEST_FAULT=hang:copy2 expect_exit 1 "$IMGBATCH" transform \
    --procs 2 --job-timeout 1 -o "$T/hang" --resize 100x100 \
    --report "$T/hang.jsonl" "$T/in"
assert_grep "cannot transform '$T/in/copy2.jpg': .*timed out" "$T/stderr"
json_check "$T/hang.jsonl" "summary['ok'] == 10 and summary['failed'] == 2"
[ -z "$(find "$T/hang" -name '.*' ! -name .imgbatch.lock)" ] ||
    fail "temp files left by a timeout"
ok "a hung image times out alone"

# an image needing more memory than --worker-mem fails alone
if [ -n "${IB_SANITIZE:-}" ]; then
    echo "# --worker-mem not checked: ASan reserves terabytes of address space"
else
    convert -size 6000x6000 gradient:red-blue -quality 50 "$T/in/big.jpg"
    expect_exit 1 "$IMGBATCH" transform --procs 2 --worker-mem 64 --no-shrink-on-load \
        -o "$T/mem" --resize 100x100 --report "$T/mem.jsonl" "$T/in"
    assert_grep "cannot transform '$T/in/big.jpg'" "$T/stderr"
    json_check "$T/mem.jsonl" "summary['ok'] == 11 and summary['failed'] == 2"
    rm "$T/in/big.jpg"
    ok "--worker-mem fails the image over it alone"
fi
