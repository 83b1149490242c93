#!/bin/bash
# Benchmark of imgbatch run (by hand, not ctest):
#   1. latency-bound downloads (server delay MS, default 50) of N photo-like
#      JPEGs (default 150) + the thumbnail transform (fit 1024x1024, q85):
#      fetch alone, transform alone, run; target run <= 1.15 x max(both)
#   2. an unchanged rerun over SMALL (default 10000) small images: all 304
# usage: tests/bench/bench_run.sh BUILD_DIR   (env: N MS CONC SMALL)
set -euo pipefail
B=${1:?usage: bench_run.sh BUILD_DIR}
IMGBATCH=$B/cmd/imgbatch
HERE=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-150} MS=${MS:-50} CONC=${CONC:-4} SMALL=${SMALL:-10000}
T=$(mktemp -d "${TMPDIR:-/tmp}/ib-bench-run.XXXXXX")
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/srv"

now() { date +%s.%N; }
secs() { python3 -c "print('%.2f' % ($2 - $1))"; }

# 12 distinct 2000x1500 photo-like JPEGs, copied to N names
for i in $(seq 0 11); do
    convert -size 2000x1500 -seed "$i" plasma:fractal -blur 0x1 \
        -quality 90 "$T/base$i.jpg"
done
for i in $(seq 1 "$N"); do cp "$T/base$((i % 12)).jpg" "$T/srv/p$i.jpg"; done
python3 "$HERE/server.py" "$T/port" "$T/srv" &
PID=$!
while [ ! -s "$T/port" ]; do sleep 0.05; done
BASE="http://127.0.0.1:$(cat "$T/port")"
for i in $(seq 1 "$N"); do echo "$BASE/file/p$i.jpg?ms=$MS"; done >"$T/urls"
OPS=(--resize 1024x1024 --quality 85)

t0=$(now); "$IMGBATCH" fetch "$T/urls" -o "$T/dl" -c "$CONC" -q; t1=$(now)
"$IMGBATCH" transform "$T/dl" -o "$T/tout" "${OPS[@]}" -q; t2=$(now)
"$IMGBATCH" run "$T/urls" -o "$T/rout" -c "$CONC" "${OPS[@]}" -q \
    --report "$T/report"; t3=$(now)
f=$(secs "$t0" "$t1") x=$(secs "$t1" "$t2") r=$(secs "$t2" "$t3")
python3 - "$f" "$x" "$r" "$N" "$MS" "$CONC" <<'PY'
import sys
f, x, r = map(float, sys.argv[1:4])
print(f"{sys.argv[4]} JPEGs 2000x1500, delay {sys.argv[5]} ms, -c {sys.argv[6]}")
print(f"fetch alone     {f:6.2f} s")
print(f"transform alone {x:6.2f} s")
print(f"sum             {f + x:6.2f} s")
print(f"run             {r:6.2f} s  = {r / max(f, x):.2f} x max(fetch, transform)")
PY
t0=$(now)
"$IMGBATCH" run "$T/urls" -o "$T/rout" -c "$CONC" "${OPS[@]}" -q \
    --report "$T/report2"
echo "unchanged rerun of the $N: $(secs "$t0" "$(now)") s"

# 10,000 small images, then the unchanged rerun (all 304, nothing decoded)
rm -rf "$T/srv"/*
convert -size 64x48 -seed 1 plasma:fractal "$T/small.jpg"
for i in $(seq 1 "$SMALL"); do echo "$T/srv/s$i.jpg"; done |
    xargs -n 500 cp "$T/small.jpg" 2>/dev/null ||
    for i in $(seq 1 "$SMALL"); do cp "$T/small.jpg" "$T/srv/s$i.jpg"; done
for i in $(seq 1 "$SMALL"); do echo "$BASE/file/s$i.jpg"; done >"$T/surls"
t0=$(now)
"$IMGBATCH" run "$T/surls" -o "$T/sout" --resize 32x32 -q
t1=$(now)
"$IMGBATCH" run "$T/surls" -o "$T/sout" --resize 32x32 -q --report "$T/sr"
t2=$(now)
echo "$SMALL small images: first run $(secs "$t0" "$t1") s," \
     "unchanged rerun $(secs "$t1" "$t2") s"
tail -1 "$T/sr"
