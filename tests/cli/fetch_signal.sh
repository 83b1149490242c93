# fetch: SIGINT/SIGTERM during slow transfers: exit 130/143, temp files
# removed, the report written with every URL in it. Transfers cut short and
# items waiting to retry are "interrupted", not failed: they are not the
# source's fault, so no error line, no failure count.
. "$IB_TESTS/cli/lib.sh"
start_server

# wait_temp DIR PID: until a download's temp file exists in DIR
wait_temp() {
    for _ in $(seq 1 400); do
        [ -n "$(find "$1" -name '.*.part.*' 2>/dev/null)" ] && return 0
        kill -0 "$2" 2>/dev/null || fail "imgbatch ended before the signal"
        sleep 0.05
    done
    fail "no transfer started"
}

interrupt() {   # interrupt MODE SIGNAL EXPECTED_RC
    local O=$T/out.$1 rc=0 c=3 before
    [ "$1" = serial ] && c=1
    {
        for i in 1 2; do echo "$BASE/slow/s$i.bin?size=300000"; done
        echo "$BASE/status/503?mode=$1"
        for i in $(seq 1 20); do echo "$BASE/slow/n$i.bin?size=300000"; done
    } >"$T/list"
    before=$(hits /status/503)
    # --retries 50: the 503 is never out of attempts, however slow the check
    "$IMGBATCH" fetch --mode "$1" -c $c --retries 50 -o "$O" \
        --report "$T/rep.$1" "$T/list" 2>"$T/stderr" &
    local pid=$!
    wait_temp "$O" $pid
    # the 503 answered once: it is now waiting to retry, or retrying
    while [ "$1" != serial ] && [ "$(hits /status/503)" = "$before" ]; do
        kill -0 $pid 2>/dev/null || fail "imgbatch ended before the signal"
        sleep 0.05
    done
    kill -"$2" $pid
    wait $pid || rc=$?
    [ "$rc" = "$3" ] || fail "$1: exit $rc after SIG$2, expected $3"
    no_temps "$O"
    [ ! -e "$O/s1.bin" ] && [ ! -e "$O/s2.bin" ] || fail "partial file kept"
    # the cut transfers were interrupted, the unstarted ones skipped; all
    # listed, none counted as failed
    expect "$T/rep.$1" "$BASE/slow/s1.bin?size=300000" status interrupted
    expect "$T/rep.$1" "$BASE/slow/s1.bin?size=300000" error interrupted
    expect "$T/rep.$1" "$BASE/slow/n20.bin?size=300000" status skipped
    if [ "$1" = serial ]; then
        expect "$T/rep.$1" "$BASE/status/503?mode=$1" status skipped
    else
        expect "$T/rep.$1" "$BASE/status/503?mode=$1" status interrupted
    fi
    [ "$(summary "$T/rep.$1" interrupted)" = true ] ||
        fail "summary: interrupted"
    /usr/bin/python3 "$IB_TESTS/cli/check_report.py" "$T/rep.$1" ||
        fail "$1: the report does not follow docs/report.schema.json"
    [ "$(summary "$T/rep.$1" failed)" = 0 ] || fail "summary: failed is not 0"
    local cut
    cut=$(summary "$T/rep.$1" interrupted_items)
    [ "$cut" -ge 1 ] || fail "summary: interrupted_items is $cut"
    [ "$(wc -l <"$T/rep.$1")" = 24 ] || fail "23 items + summary expected"
    [ -f "$O/.imgbatch-fetch.tsv" ] || fail "index not written"
    ! grep -q "cannot fetch" "$T/stderr" || fail "an error line for a cut item"
    grep -q "^fetch: 0 ok, 0 unchanged, 0 failed, $cut interrupted, " \
        "$T/stderr" || fail "summary line: $(cat "$T/stderr")"
}
interrupt multi INT 130
interrupt threads TERM 143
interrupt serial INT 130
echo "fetch_signal: ok"
