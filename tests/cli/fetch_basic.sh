# fetch: success, HTTP errors, retries, list parsing, exit codes.
. "$IB_TESTS/cli/lib.sh"
start_server
O=$T/out

# 200, 404 (not retried), 500 then 200, 429 with Retry-After
cat >"$T/list" <<EOF
# comment line

$BASE/ok/a.jpg?size=5000
$BASE/status/404
$BASE/flaky/f.bin
$BASE/429/r.bin
EOF
run_fetch 1 -o "$O" --report "$T/rep" "$T/list"
expect "$T/rep" "$BASE/ok/a.jpg?size=5000" status ok
expect "$T/rep" "$BASE/ok/a.jpg?size=5000" bytes 5000
expect "$T/rep" "$BASE/ok/a.jpg?size=5000" attempts 1
same_body "$O/a.jpg" a.jpg 5000
expect "$T/rep" "$BASE/status/404" status failed
expect "$T/rep" "$BASE/status/404" http 404
expect "$T/rep" "$BASE/status/404" attempts 1
expect "$T/rep" "$BASE/status/404" error "HTTP 404"
[ "$(hits /status/404)" = 1 ] || fail "404 was retried"
[ ! -e "$O/404" ] || fail "a 404 left a file"
expect "$T/rep" "$BASE/flaky/f.bin" status ok
expect "$T/rep" "$BASE/flaky/f.bin" attempts 2
[ "$(hits /flaky/f.bin)" = 2 ] || fail "flaky: expected 2 requests"
# the server answers 400 to a retry sooner than Retry-After
expect "$T/rep" "$BASE/429/r.bin" status ok
expect "$T/rep" "$BASE/429/r.bin" attempts 2
expect "$T/rep" "$BASE/429/r.bin" http 200
[ "$(summary "$T/rep" ok)" = 3 ] || fail "summary ok count"
[ "$(summary "$T/rep" failed)" = 1 ] || fail "summary failed count"
[ "$(wc -l <"$T/rep")" = 5 ] || fail "expected 4 items + summary"
grep -q "^imgbatch fetch: cannot fetch '$BASE/status/404': HTTP 404\$" \
    "$T/stderr" || fail "no failure line for the 404"
grep -q '^fetch: 3 ok, 0 unchanged, 1 failed' "$T/stderr" ||
    fail "no summary line"
no_temps "$O"

# retries exhausted: 500 three times with --retries 1 fails after 2 attempts
echo "$BASE/flaky/g.bin?fails=3" >"$T/list"
run_fetch 1 -q -o "$O" --retries 1 --report "$T/rep" "$T/list"
expect "$T/rep" "$BASE/flaky/g.bin?fails=3" attempts 2
expect "$T/rep" "$BASE/flaky/g.bin?fails=3" error "HTTP 500"
[ ! -e "$O/g.bin" ] || fail "failed item left a file"

# garbage lines fail, the rest is fetched, exit 1; CRLF line endings
printf '%s\r\n' "not a url" "$BASE/ok/b.png" "ftp://127.0.0.1/x" \
    "file:///etc/passwd" "$BASE/ok/c.png" >"$T/list"
run_fetch 1 -q -o "$O" --report "$T/rep" "$T/list"
expect "$T/rep" "not a url" status failed
expect "$T/rep" "not a url" error "not an http(s) URL"
expect "$T/rep" "ftp://127.0.0.1/x" error "not an http(s) URL"
expect "$T/rep" "file:///etc/passwd" status failed
expect "$T/rep" "$BASE/ok/b.png" status ok
expect "$T/rep" "$BASE/ok/c.png" status ok
[ -s "$O/b.png" ] && [ -s "$O/c.png" ] || fail "good lines not fetched"
grep -q "cannot fetch 'not a url': not an http(s) URL" "$T/stderr" ||
    fail "-q must still print errors"
if grep -q '^fetch:' "$T/stderr"; then fail "-q printed the summary"; fi

# all ok -> 0; list from stdin
echo "$BASE/ok/d.png" | { run_fetch 0 -o "$O" --report "$T/rep" -; }
expect "$T/rep" "$BASE/ok/d.png" status ok

# empty list: exit 0, summary with zeros
printf '# nothing\n\n' >"$T/empty"
run_fetch 0 -o "$O" --report "$T/rep" "$T/empty"
[ "$(wc -l <"$T/rep")" = 1 ] || fail "empty list: only the summary expected"
for k in ok unchanged failed skipped bytes; do
    [ "$(summary "$T/rep" $k)" = 0 ] || fail "empty list: $k not 0"
done
grep -q '^fetch: 0 ok, 0 unchanged, 0 failed' "$T/stderr" ||
    fail "empty summary"

# a list saved with a UTF-8 byte-order mark: the first URL is fetched
printf '\357\273\277%s\n%s\n' "$BASE/ok/bom1.png" "$BASE/ok/bom2.png" \
    >"$T/list-bom"
run_fetch 0 -q -o "$O" --report "$T/rep" "$T/list-bom"
expect "$T/rep" "$BASE/ok/bom1.png" status ok
expect "$T/rep" "$BASE/ok/bom2.png" status ok
[ -s "$O/bom1.png" ] || fail "the URL after the BOM was not fetched"

# usage errors -> 2, one message line plus the hint
run_fetch 2 --no-such-option "$T/list"
grep -q "^imgbatch fetch: unknown option '--no-such-option'\$" "$T/stderr" ||
    fail "unknown option message"
[ "$(grep -c '^imgbatch fetch:' "$T/stderr")" = 1 ] || fail "one error line"
run_fetch 2 -c 0 "$T/list"
run_fetch 2 --mode fast "$T/list"
run_fetch 2 --max-size -1 "$T/list"
run_fetch 2 --timeout abc "$T/list"
run_fetch 2 -o "$O"
run_fetch 2 "$T/list" "$T/list"
run_fetch 0 --help >/dev/null
"$IMGBATCH" fetch --help >"$T/help"   # a file: grep -q may leave early
grep -q -- '--max-size' "$T/help" || fail "help lists options"

# cannot run -> 3: unreadable list, uncreatable folder, unwritable report
run_fetch 3 -o "$O" "$T/no-such-list"
touch "$T/plainfile"
run_fetch 3 -o "$T/plainfile/sub" "$T/list"
run_fetch 3 -o "$O" --report "$T/no/such/dir/rep" "$T/list"
echo "fetch_basic: ok"
