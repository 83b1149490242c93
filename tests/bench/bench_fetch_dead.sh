#!/usr/bin/env bash
# Dead-host benchmark, run by hand (never by ctest): what a host that
# refuses every connection costs the rest of a URL list, and how fast a
# list all to such a host fails, with default options (-c 32, --retries 3).
# tests/server.py serves the good URLs on 127.0.0.1; the dead host is a
# port of 127.0.0.1 that nothing listens on, so every connect is refused.
#
#   tests/bench/bench_fetch_dead.sh IMGBATCH...    (e.g. before after)
#
# Cases, each run RUNS times per binary, interleaved, medians:
#   good    GOOD URLs to the server
#   mixed   the same GOOD URLs, each followed by one to the dead port
#   dead    DEAD URLs to the dead port
#   huge    HUGE URLs to the dead port, once per binary; skipped (and
#           estimated from "dead") where that would take over HUGE_MAX_S
# Environment: RUNS (3), GOOD (500), DEAD (1000), HUGE (50000),
# HUGE_MAX_S (300), BENCH_DIR (/tmp/imgbatch-bench).
# Writes a Markdown table to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || set -- "$ROOT/build/cmd/imgbatch"
RUNS=${RUNS:-3}
GOOD=${GOOD:-500}
DEAD=${DEAD:-1000}
HUGE=${HUGE:-50000}
HUGE_MAX_S=${HUGE_MAX_S:-300}
W=${BENCH_DIR:-/tmp/imgbatch-bench}/fetch-dead
for b in "$@"; do
    [ -x "$b" ] || { echo "no imgbatch at $b" >&2; exit 2; }
done
rm -rf "$W"
mkdir -p "$W"

python3 "$ROOT/tests/server.py" "$W/port" &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do [ -s "$W/port" ] && break; sleep 0.05; done
BASE="http://127.0.0.1:$(cat "$W/port")"
# a port nobody listens on: bound, then closed
DEAD_PORT=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DEADURL="http://127.0.0.1:$DEAD_PORT"

for i in $(seq 1 "$GOOD"); do echo "$BASE/ok/g$i.bin?size=2000"; done \
    >"$W/good"
for i in $(seq 1 "$GOOD"); do
    echo "$BASE/ok/g$i.bin?size=2000"
    echo "$DEADURL/d$i.bin"
done >"$W/mixed"
for i in $(seq 1 "$DEAD"); do echo "$DEADURL/d$i.bin"; done >"$W/dead"
for i in $(seq 1 "$HUGE"); do echo "$DEADURL/d$i.bin"; done >"$W/huge"

now() { date +%s.%N; }
median() {
    sort -n | awk '{a[NR]=$1}
        END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

# one IMGBATCH LIST: seconds for imgbatch fetch LIST, every good URL stored
one() {
    local out=$W/out t0 t1 rc=0
    rm -rf "$out"
    t0=$(now)
    "$1" fetch -q -o "$out" "$W/$2" 2>/dev/null || rc=$?
    t1=$(now)
    [ "$rc" -le 1 ] || { echo "$1 fetch $2: exit $rc" >&2; exit 1; }
    local want=$GOOD
    [ "$2" = good ] || [ "$2" = mixed ] || want=0
    local got
    got=$(find "$out" -name 'g*.bin' | wc -l)
    [ "$got" = "$want" ] || { echo "$2: $got files, not $want" >&2; exit 1; }
    echo "$t1 - $t0" | bc
}

declare -A T
for r in $(seq 1 "$RUNS"); do
    for c in good mixed dead; do
        for b in "$@"; do
            T[$b,$c]="${T[$b,$c]:-} $(one "$b" $c)"
        done
    done
done

echo "| binary | $GOOD good | $GOOD good + $GOOD dead | mixed / good" \
    "| $DEAD dead | $HUGE dead |"
echo "|---|---:|---:|---:|---:|---:|"
for b in "$@"; do
    g=$(echo ${T[$b,good]} | tr ' ' '\n' | median)
    m=$(echo ${T[$b,mixed]} | tr ' ' '\n' | median)
    d=$(echo ${T[$b,dead]} | tr ' ' '\n' | median)
    est=$(echo "$d * $HUGE / $DEAD" | bc)
    if [ "$(echo "$est > $HUGE_MAX_S" | bc)" = 1 ]; then
        h="~${est} s (estimated)"
    else
        h="$(printf '%.2f' "$(one "$b" huge)") s"
    fi
    printf '| `%s` | %.2f s | %.2f s | %.2fx | %.2f s | %s |\n' "$b" "$g" "$m" \
        "$(echo "$m / $g" | bc -l)" "$d" "$h"
done
