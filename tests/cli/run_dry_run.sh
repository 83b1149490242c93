#!/usr/bin/env bash
# run --dry-run: what a run would download (anew, or asking whether it
# changed) and make, and why, from the same plan, fetch index and journal;
# nothing fetched (the server counts requests) and nothing written (the
# trees compared before and after).
. "$IB_TESTS/cli/lib.sh"
start_server

tree() { find "$@" -printf '%p %s %i %T@ %m\n' 2>/dev/null | sort; }
photo a.jpg 1
photo b.jpg 2
{
    echo "$BASE/file/a.jpg"
    printf '%s\t%s\n' "$BASE/file/b.jpg" "shop/b-main.jpg"
    echo "ftp://127.0.0.1/x.jpg"
    printf '%s\t%s\n' "$BASE/file/zzz.jpg" "../escape.jpg"
} >"$T/urls"
out=$T/out

# 1. nothing there yet: two downloads, two outputs to make, two failures
expect_exit 1 "$IMGBATCH" run --dry-run -o "$out" --resize 100x100 "$T/urls"
[ ! -e "$out" ] || fail "a dry run created the output folder"
assert_grep "^fetch $BASE/file/a.jpg -> $out/a.jpg (downloaded; output not made yet)$" "$T/stdout"
assert_grep "^fetch $BASE/file/b.jpg -> $out/shop/b-main.jpg (downloaded; output not made yet)$" "$T/stdout"
assert_grep "^fail  ftp://127.0.0.1/x.jpg: not an http(s) URL$" "$T/stdout"
assert_grep "^fail  $BASE/file/zzz.jpg: bad name '../escape.jpg'" "$T/stdout"
assert_grep "^dry run: 4 URLs: 2 to download, 0 to ask if changed, 2 would fail" "$T/stdout"
ok "a first dry run lists downloads, outputs and failures, creates nothing"

# 2. after a real run: validators known, outputs kept unless changed
run_expect 1 "$T/urls" -o "$out" --resize 100x100
before=$(tree "$out")
expect_exit 1 "$IMGBATCH" run --dry-run -o "$out" --resize 100x100 "$T/urls"
assert_grep "^fetch $BASE/file/a.jpg -> $out/a.jpg (asked if changed; output kept if the download is unchanged)$" "$T/stdout"
assert_grep "^dry run: 4 URLs: 0 to download, 2 to ask if changed" "$T/stdout"
expect_exit 1 "$IMGBATCH" run --dry-run -o "$out" --resize 90x90 "$T/urls"
[ "$(grep -c 'output remade: its recipe changed)$' "$T/stdout")" = 2 ] ||
    { cat "$T/stdout"; fail "a changed --resize: not 2 outputs remade"; }
expect_exit 1 "$IMGBATCH" run --dry-run --force -o "$out" --resize 100x100 "$T/urls"
[ "$(grep -c 'output remade: --force)$' "$T/stdout")" = 2 ] ||
    { cat "$T/stdout"; fail "--force: not 2 outputs remade"; }
[ "$(tree "$out")" = "$before" ] || fail "a dry run touched OUT"
# an output someone overwrote is remade by a run, so the dry run says so
cp -p "$out/a.jpg" "$T/a.saved"
echo x >"$out/a.jpg"
expect_exit 1 "$IMGBATCH" run --dry-run -o "$out" --resize 100x100 "$T/urls"
assert_grep "^fetch $BASE/file/a.jpg -> $out/a.jpg (asked if changed; output remade: it changed since it was made)$" "$T/stdout"
cp -p "$T/a.saved" "$out/a.jpg"
ok "after a run: asked if changed, kept, or remade with the reason; OUT untouched"

# 3. a dry run sends no request; it writes no report and no log
h0=$(hits /file/a.jpg)
expect_exit 1 "$IMGBATCH" run --dry-run -o "$out" --resize 100x100 "$T/urls"
[ "$(hits /file/a.jpg)" = "$h0" ] || fail "a dry run sent a request"
[ "$h0" -ge 1 ] || fail "the server counted no request of the real run"
expect_exit 2 "$IMGBATCH" run --dry-run --report "$T/x.jsonl" -o "$out" "$T/urls"
expect_exit 2 "$IMGBATCH" run --dry-run --log "$T/x.log" -o "$out" "$T/urls"
[ ! -e "$T/x.jsonl" ] && [ ! -e "$T/x.log" ] || fail "report or log written"
ok "a dry run sends nothing; --report and --log are usage errors with it"
