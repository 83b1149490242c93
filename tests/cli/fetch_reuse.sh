# fetch: a server that lies about Content-Length (says 100, sends 834
# bytes) leaves the excess on a kept-alive connection, where the next URL
# reads it as its response ("Received HTTP/0.9 when not allowed"). A
# protocol error on a reused connection is retried at once on a fresh one,
# in each --mode, and even with --retries 0. tests/server.py's /liar.
. "$IB_TESTS/cli/lib.sh"
start_server

for mode in multi threads serial; do
    liar="$BASE/liar?mode=$mode"
    victim="$BASE/body/victim-$mode"
    printf '%s\n' "$liar" "$victim" >"$T/list"
    before=$(hits connections)
    # one transfer at a time: the victim gets the liar's connection
    run_fetch 0 --mode $mode -c 1 --retries 0 -o "$T/o-$mode" \
        --report "$T/rep" "$T/list"
    expect "$T/rep" "$liar" status ok
    expect "$T/rep" "$liar" bytes 100
    expect "$T/rep" "$victim" status ok
    expect "$T/rep" "$victim" attempts 2
    [ "$(cat "$T/o-$mode/victim-$mode")" = "body victim-$mode" ] ||
        fail "$mode: the victim's file is not its body"
    # the victim's request on the reused connection never reached a
    # handler; its retry came on a second connection
    [ "$(hits /body/victim-$mode)" = 1 ] || fail "$mode: victim requests"
    [ $(($(hits connections) - before)) = 2 ] ||
        fail "$mode: $(($(hits connections) - before)) connections, not 2"
    no_temps "$T/o-$mode"
    echo "ok - $mode: a poisoned reused connection is retried on a fresh one"
done
echo "fetch_reuse: ok"
