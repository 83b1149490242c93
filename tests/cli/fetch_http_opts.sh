# fetch and run HTTP options (-H, --user-agent, --netrc, --netrc-file,
# --proxy, --cookie-file, --limit-rate), checked by the server as they
# arrive; secrets never shown; -q silent on a clean run; --log.
. "$IB_TESTS/cli/lib.sh"
command -v ok >/dev/null || ok() { echo "ok - $*"; }
sha() { printf '%s' "$1" | sha256sum | cut -c1-64; }
start_server
O=$T/out
ALL=$T/all   # every stderr, stdout, report and log, for the secrets check
: >"$ALL"

# f RC ARGS...: imgbatch fetch, its outputs kept for the secrets check
f() {
    local want=$1
    shift
    run_fetch "$want" "$@" >"$T/stdout"
    cat "$T/stderr" "$T/stdout" >>"$ALL"
}
HSECRET=hdrS3cretV NSECRET=netrcS3cretPW USECRET=urlS3cretPW
PSECRET=proxyS3cretPW CSECRET=cookieS3cretV

# headers and user agent arrive as given
echo "$BASE/echo-headers" >"$T/l1"
f 0 -o "$O/1" -H "X-Token: $HSECRET" -H 'X-Other: two' \
    --user-agent 'nightly/1.0 (ops)' --report "$T/r1" "$T/l1"
grep -qx "X-Token: $HSECRET" "$O/1/echo-headers" || fail "-H did not arrive"
grep -qx 'X-Other: two' "$O/1/echo-headers" || fail "second -H lost"
grep -qx 'User-Agent: nightly/1.0 (ops)' "$O/1/echo-headers" ||
    fail "--user-agent did not arrive"
f 0 -o "$O/1b" "$T/l1"
grep -qx 'User-Agent: imgbatch-fetch' "$O/1b/echo-headers" ||
    fail "default user agent changed"
# the server refuses without the header; a failing request with a secret
# header is reported without it
U2="$BASE/need-header/h.png?name=X-Key&sha=$(sha "$HSECRET")"
echo "$U2" >"$T/l2"
f 1 -o "$O/2" --report "$T/r2" -H "X-Key: wrong$HSECRET" -v "$T/l2"
expect "$T/r2" "$U2" http 403
f 0 -o "$O/2" --report "$T/r2b" -H "X-Key: $HSECRET" -v "$T/l2"
cat "$T/r1" "$T/r2" "$T/r2b" >>"$ALL"
# bad headers are usage errors that do not echo the value
f 2 -o "$O/x" -H "Authorization Bearer $HSECRET" "$T/l1"
f 2 -o "$O/x" -H "X-Key: $HSECRET"$'\r\nX-Evil: 1' "$T/l1"
f 2 -o "$O/x" -H "X-Key: $HSECRET"$'\n' "$T/l1"
f 2 -o "$O/x" -H ": $HSECRET" "$T/l1"
[ ! -e "$O/x" ] || fail "a usage error touched the output folder"
ok "-H and --user-agent"

# netrc: a file given, and ~/.netrc
printf 'machine 127.0.0.1 login bob password %s\n' "$NSECRET" >"$T/netrc"
chmod 600 "$T/netrc"
U3="$BASE/need-auth/a.png?sha=$(sha "bob:$NSECRET")"
echo "$U3" >"$T/l3"
f 1 -o "$O/3" --report "$T/r3" "$T/l3"
expect "$T/r3" "$U3" http 401
f 0 -o "$O/3" --report "$T/r3" --netrc-file "$T/netrc" "$T/l3"
mkdir -p "$T/home"
cp "$T/netrc" "$T/home/.netrc"
HOME=$T/home f 0 -o "$O/3b" --netrc "$T/l3"
f 2 -o "$O/x" --netrc-file "$T/no-such-netrc" "$T/l3"
# a wrong password in the netrc fails without showing it
printf 'machine 127.0.0.1 login bob password wrong%s\n' "$NSECRET" \
    >"$T/netrc-bad"
echo "$BASE/need-auth/b.png?sha=x" >"$T/l3b"
f 1 -o "$O/3c" --report "$T/r3b" -v --netrc-file "$T/netrc-bad" "$T/l3b"
cat "$T/r3b" >>"$ALL"
ok "--netrc and --netrc-file"

# cookies from a file, which stays as it was
printf '127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t%s\n' "$CSECRET" >"$T/cookies"
cp "$T/cookies" "$T/cookies.before"
echo "$BASE/need-cookie/c.png?name=sid&sha=$(sha "x$CSECRET")" >"$T/l4"
f 1 -o "$O/4" --cookie-file "$T/cookies" --report "$T/r4" -v "$T/l4"
echo "$BASE/need-cookie/c.png?name=sid&sha=$(sha "$CSECRET")" >"$T/l4"
f 0 -o "$O/4" --cookie-file "$T/cookies" "$T/l4"
cmp -s "$T/cookies" "$T/cookies.before" || fail "--cookie-file was written"
f 2 -o "$O/x" --cookie-file "$T/no-such-cookies" "$T/l4"
cat "$T/r4" >>"$ALL"
ok "--cookie-file"

# proxy: a host nobody can resolve works only through it; its credentials
# arrive, and are shown nowhere
echo "http://proxy-only.invalid/ok/p.bin?size=3000" >"$T/l5"
f 1 -o "$O/5" --retries 0 "$T/l5"
f 0 -o "$O/5" --report "$T/r5" -v \
    --proxy "http://pu:$PSECRET@127.0.0.1:$PORT" "$T/l5"
same_body "$O/5/p.bin" p.bin 3000
[ "$(hits "proxy-auth:pu:$PSECRET")" = 1 ] || fail "proxy credentials"
echo "http://proxy-only.invalid/status/500" >"$T/l5b"
f 1 -o "$O/5b" --retries 0 --report "$T/r5b" -v \
    --proxy "http://pu:$PSECRET@127.0.0.1:$PORT" "$T/l5b"
cat "$T/r5" "$T/r5b" >>"$ALL"
ok "--proxy"

# a URL's own password is replaced by *** wherever the URL is shown
echo "http://bob:$USECRET@127.0.0.1:$PORT/status/404" >"$T/l6"
echo "http://bob:$USECRET@127.0.0.1:$PORT/ok/u.bin" >>"$T/l6"
f 1 -o "$O/6" --report "$T/r6" --log "$T/log6" -v "$T/l6"
grep -qF "cannot fetch 'http://***@127.0.0.1:$PORT/status/404'" \
    "$T/stderr" || fail "the failed URL is not shown as http://***@host"
expect "$T/r6" "http://***@127.0.0.1:$PORT/ok/u.bin" status ok
cat "$T/r6" "$T/log6" >>"$ALL"
ok "URL credentials hidden"

# run takes the same options
echo "$BASE/need-header/r.png?name=X-Key&sha=$(sha k3y)" >"$T/l7"
rc=0
"$IMGBATCH" run -q -o "$O/7" -H "X-Key: k3y" --cookie-file "$T/cookies" \
    --netrc-file "$T/netrc" --user-agent "agent-$HSECRET" --log "$T/log7" \
    --report "$T/r7" --resize 1x1 "$T/l7" >"$T/stdout" 2>"$T/stderr" || rc=$?
[ "$rc" = 0 ] || { cat "$T/stderr" >&2; fail "run: exit $rc"; }
[ -f "$O/7/r.png" ] || fail "run: no output"
[ ! -s "$T/stdout" ] && [ ! -s "$T/stderr" ] || fail "run -q printed"
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z run: 1 ok, ' \
    "$T/log7" || fail "run --log: no timestamped summary"
cat "$T/stdout" "$T/stderr" "$T/r7" "$T/log7" >>"$ALL"
ok "run: -H, --cookie-file, --netrc-file, --user-agent, -q, --log"

# -q on a clean night: nothing at all, from fetch, run or transform
echo "$BASE/etag/q.bin" >"$T/l8"
f 0 -q -o "$O/8" --log "$T/log8" "$T/l8"
[ ! -s "$T/stdout" ] && [ ! -s "$T/stderr" ] || fail "fetch -q printed"
f 0 -q -o "$O/8" --log "$T/log8" "$T/l8"   # a rerun, all unchanged
[ ! -s "$T/stdout" ] && [ ! -s "$T/stderr" ] || fail "fetch -q rerun printed"
[ "$(grep -cE '^[0-9-]{10}T[0-9:.]{12}Z fetch: 0 ok, 1 unchanged, 0 failed' \
    "$T/log8")" = 1 ] || fail "--log: the rerun's line"
[ "$(wc -l <"$T/log8")" = 2 ] || fail "--log does not append"
rc=0
"$IMGBATCH" transform -q -o "$O/9" --log "$T/log9" "$O/7/r.png" \
    >"$T/stdout" 2>"$T/stderr" || rc=$?
[ "$rc" = 0 ] && [ ! -s "$T/stdout" ] && [ ! -s "$T/stderr" ] ||
    fail "transform -q printed, or exit $rc"
grep -qE 'Z transform: 1 ok, 0 failed' "$T/log9" || fail "transform --log"
# failures: one line each on stderr and in the log
printf '%s\n' "$BASE/status/404" "$BASE/status/410" >"$T/l10"
f 1 -q -o "$O/10" --log "$T/log10" "$T/l10"
[ "$(wc -l <"$T/stderr")" = 2 ] || fail "fetch -q: one line per failure"
grep -qE "Z imgbatch fetch: cannot fetch '$BASE/status/410': HTTP 410\$" \
    "$T/log10" || fail "--log: no failure line"
grep -qE 'Z fetch: 0 ok, 0 unchanged, 2 failed' "$T/log10" ||
    fail "--log: no summary line under -q"
# --log may not be an input, the report or inside OUT
f 2 -o "$O/11" --log "$O/11/log" "$T/l8"
f 2 -o "$O/11" --log "$T/l8" "$T/l8"
f 2 -o "$O/11" --log "$T/same" --report "$T/same" "$T/l8"
rc=0
"$IMGBATCH" run -o "$O/11" --log "$O/11/.downloads/log" "$T/l8" \
    2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "run --log inside OUT: exit $rc"
rc=0
"$IMGBATCH" transform -o "$O/11" --log "$O/7/r.png" "$O/7" \
    2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "transform --log on an input: exit $rc"
[ ! -e "$O/11" ] || fail "a usage error touched OUT"
ok "-q silent on a clean run; --log appends timestamped lines"

# --limit-rate is one total for the whole run: 20 MiB at 4 MiB/s takes
# 5 s, alone or split over two transfers, which then share it
MIB=1048576
within() {   # REPORT URL: the item took 5 s within 15%
    local ms hi=5750
    ms=$(rget "$1" "$2" fetch_ms)
    # under the sanitizers loopback itself may be slower than the rate: the
    # cap (never faster) is still checked, the speed it reaches is not
    [ -z "${IB_SANITIZE:-}" ] || hi=1e9
    python3 -c "import sys; sys.exit(not 4250 <= $ms <= $hi)" ||
        fail "$2 took $ms ms at --limit-rate 4M, not 5 s within 15%"
}
echo "$BASE/zeros/big.bin?size=$((20 * MIB))" >"$T/l12"
f 0 -o "$O/12" --limit-rate 4M --report "$T/r12" "$T/l12"
within "$T/r12" "$BASE/zeros/big.bin?size=$((20 * MIB))"
[ "$(stat -c %s "$O/12/big.bin")" = $((20 * MIB)) ] || fail "size"
printf '%s\n' "$BASE/zeros/a.bin?size=$((10 * MIB))" \
    "$BASE/zeros/b.bin?size=$((10 * MIB))" >"$T/l13"
for mode in multi threads; do
    f 0 -o "$O/13-$mode" --mode $mode --limit-rate 4M --report "$T/r13" \
        "$T/l13"
    # one total: the two together take 5 s (each alone at 4M would end at
    # 2.5 s); how the bucket splits between them is not promised, so the
    # batch's last transfer is what is timed
    a=$(rget "$T/r13" "$BASE/zeros/a.bin?size=$((10 * MIB))" fetch_ms)
    b=$(rget "$T/r13" "$BASE/zeros/b.bin?size=$((10 * MIB))" fetch_ms)
    hi=5750
    [ -z "${IB_SANITIZE:-}" ] || hi=1e9
    python3 -c "import sys; sys.exit(not 4250 <= max($a, $b) <= $hi)" ||
        fail "$mode: 2 x 10 MiB took $a and $b ms at --limit-rate 4M, not 5 s"
done
for bad in 0 -1K 1.5Q K ''; do
    f 2 -o "$O/x" --limit-rate "$bad" "$T/l12"
done
ok "--limit-rate: one total, shared"

# no secret in anything imgbatch printed, reported or logged
for s in "$HSECRET" "$NSECRET" "$USECRET" "$PSECRET" "$CSECRET"; do
    ! grep -qF "$s" "$ALL" || fail "secret $s shown: $(grep -F "$s" "$ALL")"
done
[ -s "$ALL" ] || fail "nothing was collected"
ok "no secret in stderr, stdout, reports or logs"
