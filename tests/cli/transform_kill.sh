#!/usr/bin/env bash
# A run killed part-way (SIGKILL: no chance to tidy up) leaves no file
# under a final name that does not decode; a rerun completes the batch.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/in"
convert -seed 7 -size 1600x1200 plasma:fractal -quality 92 "$T/in/p000.jpg"
for i in $(seq 1 39); do cp "$T/in/p000.jpg" "$T/in/p$(printf %03d "$i").jpg"; done

for after in 1 5; do
    rm -rf "$T/out"
    "$IMGBATCH" transform --engine serial -o "$T/out" --resize 700x700 \
        "$T/in" 2>/dev/null &
    pid=$!
    wait_for files_at_least "$T/out" "$after"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    n=0
    for f in "$T"/out/*.jpg; do
        [ -e "$f" ] || continue
        convert -regard-warnings "$f" null: 2>/dev/null ||
            fail "final name $f does not decode after kill after $after"
        n=$((n + 1))
    done
    [ "$n" -lt 40 ] || fail "the run finished before the kill; test is void"
    expect_exit 0 "$IMGBATCH" transform -o "$T/out" --resize 700x700 \
        --report "$T/r.jsonl" "$T/in"
    # The stamp follows the rename (cmd/stamp.c): the one item the serial
    # engine had in hand may be under its final name yet unstamped, and is
    # redone, the safe direction. Every other output is kept.
    json_check "$T/r.jsonl" "summary['ok'] + summary['skipped'] == 40 and summary['skipped'] in ($n - 1, $n)"
    for f in "$T"/out/*.jpg; do
        convert -regard-warnings "$f" null: || fail "$f after rerun"
    done
    [ "$(ls "$T/out" | wc -l)" = 40 ] || fail "not 40 outputs"
    ok "killed after $after outputs, with $n done: nothing corrupt, rerun completes"
done
