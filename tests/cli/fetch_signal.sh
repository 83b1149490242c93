# fetch: SIGINT/SIGTERM during slow transfers: exit 130/143, temp files
# removed, the report written with every URL in it.
. "$IB_TESTS/cli/fetch_lib.sh"
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
    local O=$T/out.$1 rc=0
    {
        for i in 1 2; do echo "$BASE/slow/s$i.bin?size=300000"; done
        for i in $(seq 1 20); do echo "$BASE/ok/n$i.bin"; done
    } >"$T/list"
    "$IMGBATCH" fetch --mode "$1" -c 2 -o "$O" --report "$T/rep.$1" \
        "$T/list" 2>"$T/stderr" &
    local pid=$!
    wait_temp "$O" $pid
    kill -"$2" $pid
    wait $pid || rc=$?
    [ "$rc" = "$3" ] || fail "$1: exit $rc after SIG$2, expected $3"
    no_temps "$O"
    [ ! -e "$O/s1.bin" ] && [ ! -e "$O/s2.bin" ] || fail "partial file kept"
    # the cut transfers failed, the unstarted ones were skipped; all listed
    expect "$T/rep.$1" "$BASE/slow/s1.bin?size=300000" status failed
    expect "$T/rep.$1" "$BASE/slow/s1.bin?size=300000" error interrupted
    expect "$T/rep.$1" "$BASE/ok/n20.bin" status skipped
    [ "$(summary "$T/rep.$1" interrupted)" = 1 ] || fail "summary: interrupted"
    [ "$(wc -l <"$T/rep.$1")" = 23 ] || fail "22 items + summary expected"
    [ -f "$O/.imgbatch-fetch.tsv" ] || fail "index not written"
}
interrupt multi INT 130
interrupt threads TERM 143
interrupt serial INT 130
echo "fetch_signal: ok"
