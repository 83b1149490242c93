# fetch: broken servers. Each fails its item, leaves no file and no temp.
. "$IB_TESTS/cli/lib.sh"
start_server
O=$T/out

# refused: checks an item failed with no file, and grep its error for $3
refused() {
    expect "$T/rep" "$1" status failed
    expect "$T/rep" "$1" file null
    [ ! -e "$O/$2" ] || fail "$1 left $O/$2"
    rget "$T/rep" "$1" error | grep -qi -- "$3" ||
        fail "$1: error '$(rget "$T/rep" "$1" error)' lacks '$3'"
}

cat >"$T/list" <<EOF
$BASE/reset?after=2000
$BASE/short
$BASE/stall
$BASE/ok/cl.bin?size=20000
$BASE/big?size=20000
$BASE/big?size=20000&chunked=1
$BASE/ok/small.bin?size=1000
$BASE/big?size=1000&chunked=1
$BASE/redirect?to=file:///etc/passwd
$BASE/redirect?to=gopher://127.0.0.1:$PORT/x
$BASE/redirect?to=$BASE/ok/target.bin
$BASE/loop
$BASE/gzip?size=1000000
EOF
# --retries 1: reset and short bodies are retried once, then fail
run_fetch 1 -q -o "$O" --retries 1 --timeout 2 --max-size 10000 \
    --report "$T/rep" "$T/list"

refused "$BASE/reset?after=2000" reset "reset"
expect "$T/rep" "$BASE/reset?after=2000" attempts 2
[ "$(hits /reset)" = 2 ] || fail "reset: expected 2 requests"
refused "$BASE/short" short "remaining"
expect "$T/rep" "$BASE/short" attempts 2
refused "$BASE/stall" stall "timed out\|too slow"
# over --max-size: announced by Content-Length, or found while streaming
refused "$BASE/ok/cl.bin?size=20000" cl.bin "size limit"
expect "$T/rep" "$BASE/ok/cl.bin?size=20000" attempts 1
refused "$BASE/big?size=20000" big "size limit"
refused "$BASE/big?size=20000&chunked=1" big "size limit"
expect "$T/rep" "$BASE/ok/small.bin?size=1000" status ok
same_body "$O/small.bin" small.bin 1000
expect "$T/rep" "$BASE/big?size=1000&chunked=1" status ok
f=$(rget "$T/rep" "$BASE/big?size=1000&chunked=1" file)
# a report's file is a path: the folder as given, then the name
[ "$(stat -c %s "$f")" = 1000 ] && [ "${f%/*}" = "$O" ] ||
    fail "chunked body size"
# redirects: other protocols refused, http followed, loops capped
refused "$BASE/redirect?to=file:///etc/passwd" redirect "file"
refused "$BASE/redirect?to=gopher://127.0.0.1:$PORT/x" redirect "gopher"
expect "$T/rep" "$BASE/redirect?to=file:///etc/passwd" attempts 1
expect "$T/rep" "$BASE/redirect?to=$BASE/ok/target.bin" status ok
refused "$BASE/loop" loop "redirect"
expect "$T/rep" "$BASE/loop" attempts 1
[ "$(hits /loop)" = 6 ] || fail "loop: $(hits /loop) requests, not 1 + 5"
# a gzip body is stored as sent, never inflated (1 MB of zeros -> ~1 kB)
expect "$T/rep" "$BASE/gzip?size=1000000" status ok
size=$(stat -c %s "$O/gzip")
[ "$size" -lt 10000 ] || fail "gzip body was inflated to $size bytes"
no_temps "$O"

# a server that is not there: connect error, retried, failed
echo "http://127.0.0.1:1/x.jpg" >"$T/list2"
run_fetch 1 -q -o "$O" --retries 1 --report "$T/rep" "$T/list2"
expect "$T/rep" "http://127.0.0.1:1/x.jpg" attempts 2
refused "http://127.0.0.1:1/x.jpg" x.jpg "connect"
echo "fetch_faults: ok"
