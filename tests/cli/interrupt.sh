#!/usr/bin/env bash
# SIGINT/SIGTERM/SIGHUP/SIGQUIT part-way: work stops, no temp file is
# left, the report lists what finished plus a summary, exit 128 + signal;
# a rerun finishes.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/in"
convert -seed 8 -size 1600x1200 plasma:fractal -quality 92 "$T/in/p000.jpg"
for i in $(seq 1 99); do cp "$T/in/p000.jpg" "$T/in/p$(printf %03d "$i").jpg"; done

for sig in INT TERM HUP QUIT; do
    rm -rf "$T/out" "$T/r.jsonl"
    "$IMGBATCH" transform --procs 2 -o "$T/out" --resize 700x700 \
        --report "$T/r.jsonl" "$T/in" 2>"$T/stderr" &
    pid=$!
    wait_for lines_at_least "$T/r.jsonl" 4
    kill -s "$sig" "$pid"
    set +e
    wait "$pid"
    rc=$?
    set -e
    want=$((128 + $(kill -l "$sig")))
    [ "$rc" = "$want" ] || { cat "$T/stderr"; fail "SIG$sig: exit $rc, want $want"; }
    assert_grep "^transform: .*, interrupted$" "$T/stderr"
    [ -z "$(find "$T/out" -name '.*' ! -name .imgbatch.lock)" ] ||
        fail "temp files left after SIG$sig"
    n=$(ls "$T/out" | wc -l)
    [ "$n" -lt 100 ] || fail "finished before the signal; test is void"
    # every item has its line: those never started are skipped, "interrupted"
    json_check "$T/r.jsonl" "summary['interrupted'] == 1 and summary['ok'] == $n and len(items) == 100 and sum(i['status'] == 'ok' for i in items) == $n and all(i['status'] in ('ok', 'interrupted') or (i['status'] == 'skipped' and i['error'] == 'interrupted') for i in items) and summary['not_run'] == sum(i['status'] == 'skipped' for i in items) > 0"
    for f in "$T"/out/*; do
        convert -regard-warnings "$f" null: || fail "$f corrupt"
    done
    expect_exit 0 "$IMGBATCH" transform --procs 2 -o "$T/out" \
        --resize 700x700 --report "$T/r2.jsonl" "$T/in"
    json_check "$T/r2.jsonl" "summary['skipped'] == $n and summary['ok'] == 100 - $n"
    ok "SIG$sig after $n images: exit $want, no temp files, rerun finishes"
done
