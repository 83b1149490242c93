# fetch: a rerun sends the validators it kept; 304 keeps the file.
. "$IB_TESTS/cli/lib.sh"
start_server
O=$T/out
cat >"$T/list" <<EOF
$BASE/etag/e.jpg
$BASE/lm/l.jpg
$BASE/ok/plain.jpg
EOF
run_fetch 0 -o "$O" --report "$T/rep" "$T/list"
expect "$T/rep" "$BASE/etag/e.jpg" status ok
expect "$T/rep" "$BASE/lm/l.jpg" status ok
[ -f "$O/.imgbatch-fetch.tsv" ] || fail "no index written"
cp "$O/e.jpg" "$T/e.first"
ino=$(stat -c %i "$O/e.jpg")

# second run: 304 for both validator kinds, files kept as they were
run_fetch 0 -o "$O" --report "$T/rep" "$T/list"
expect "$T/rep" "$BASE/etag/e.jpg" status unchanged
expect "$T/rep" "$BASE/etag/e.jpg" http 304
expect "$T/rep" "$BASE/etag/e.jpg" file "$O/e.jpg"
expect "$T/rep" "$BASE/lm/l.jpg" status unchanged
expect "$T/rep" "$BASE/ok/plain.jpg" status ok   # no validator: refetched
[ "$(hits 304:e.jpg)" = 1 ] && [ "$(hits 304:l.jpg)" = 1 ] ||
    fail "server did not answer 304"
cmp -s "$O/e.jpg" "$T/e.first" || fail "unchanged file was modified"
[ "$(stat -c %i "$O/e.jpg")" = "$ino" ] || fail "unchanged file was replaced"
[ "$(summary "$T/rep" unchanged)" = 2 ] || fail "summary unchanged count"
grep -q '^fetch: 1 ok, 2 unchanged, 0 failed' "$T/stderr" || fail "summary line"

# --force: unconditional requests, files rewritten
run_fetch 0 --force -o "$O" --report "$T/rep" "$T/list"
expect "$T/rep" "$BASE/etag/e.jpg" status ok
expect "$T/rep" "$BASE/lm/l.jpg" status ok
[ "$(hits 304:e.jpg)" = 1 ] || fail "--force sent If-None-Match"
cmp -s "$O/e.jpg" "$T/e.first" || fail "refetched body differs"

# a validator is used only while its file exists
rm "$O/e.jpg"
run_fetch 0 -o "$O" --report "$T/rep" "$T/list"
expect "$T/rep" "$BASE/etag/e.jpg" status ok
[ -f "$O/e.jpg" ] || fail "deleted file not fetched again"
[ "$(hits 304:e.jpg)" = 1 ] || fail "validator sent for a missing file"
expect "$T/rep" "$BASE/lm/l.jpg" status unchanged

# a damaged index costs only unconditional requests
printf 'garbage\n\x01\x02\t\t\t\t\n%s\t../../x\t"a"\t\n' "$BASE/etag/e.jpg" \
    >"$O/.imgbatch-fetch.tsv"
run_fetch 0 -o "$O" --report "$T/rep" "$T/list"
expect "$T/rep" "$BASE/etag/e.jpg" status ok
expect "$T/rep" "$BASE/etag/e.jpg" file "$O/e.jpg"
# and it is whole again afterwards
run_fetch 0 -o "$O" --report "$T/rep" "$T/list"
expect "$T/rep" "$BASE/etag/e.jpg" status unchanged
no_temps "$O"

# a name the index gives another URL is not taken over
echo "$BASE/any/other/e.jpg" >"$T/list2"
run_fetch 0 -o "$O" --report "$T/rep" "$T/list2"
f=$(rget "$T/rep" "$BASE/any/other/e.jpg" file)
[ "$f" != "$O/e.jpg" ] || fail "took over e.jpg from another URL"
cmp -s "$O/e.jpg" "$T/e.first" || fail "e.jpg was overwritten"
echo "fetch_incremental: ok"
