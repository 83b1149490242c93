#!/usr/bin/env bash
# transform --dry-run: lists what a run would make and why, what is up to
# date, and what would fail, from the same names and records as a run;
# touches nothing (the trees compared before and after, to the inode and
# nanosecond).
. "$IB_TESTS/cli/lib.sh"

tree() { find "$@" -printf '%p %s %i %T@ %m\n' 2>/dev/null | sort; }
in=$T/in out=$T/out
mkdir -p "$in/sub"
convert -seed 4 -size 300x200 plasma:fractal "$in/a.jpg"
convert -size 300x200 gradient:red-blue "$in/sub/b.png"
args=(--width 50,100 --format jpeg,webp)

# 1. OUT does not exist yet: everything to make, OUT not created
before=$(tree "$in")
expect_exit 0 "$IMGBATCH" transform --dry-run "${args[@]}" -o "$out" "$in"
[ ! -e "$out" ] || fail "a dry run created the output folder"
[ "$(tree "$in")" = "$before" ] || fail "a dry run touched the inputs"
[ "$(grep -c '^make .*(not made yet)$' "$T/stdout")" = 8 ] ||
    { cat "$T/stdout"; fail "not 8 renditions to make"; }
assert_grep "^make  $in/sub/b.png -> $out/sub/b-100w.webp (not made yet)$" "$T/stdout"
assert_grep "^dry run: 8 to make, 0 up to date" "$T/stdout"
ok "a dry run on a new output folder lists all 8 renditions, creates nothing"

# 2. after a real run: all up to date; each change names its reason
expect_exit 0 "$IMGBATCH" transform -q "${args[@]}" -o "$out" "$in"
before=$(tree "$in" "$out")
expect_exit 0 "$IMGBATCH" transform --dry-run "${args[@]}" -o "$out" "$in"
assert_grep "^dry run: 0 to make, 8 up to date" "$T/stdout"
expect_exit 0 "$IMGBATCH" transform --dry-run "${args[@]}" --quality webp=50 \
    -o "$out" "$in"
[ "$(grep -c '^make .*\.webp (its recipe changed)$' "$T/stdout")" = 4 ] ||
    { cat "$T/stdout"; fail "a WebP quality change: not its 4 renditions"; }
[ "$(grep -c '^keep .*\.jpg (up to date)$' "$T/stdout")" = 4 ] ||
    { cat "$T/stdout"; fail "a WebP quality change: JPEGs not kept"; }
[ "$(tree "$in" "$out")" = "$before" ] || fail "a dry run touched OUT"
rm "$out/a-50w.jpg"
touch -d '2020-01-01' "$in/sub/b.png"
before=$(tree "$in" "$out")
expect_exit 0 "$IMGBATCH" transform --dry-run "${args[@]}" -o "$out" "$in"
assert_grep "^make  $in/a.jpg -> $out/a-50w.jpg (not made yet)$" "$T/stdout"
[ "$(grep -c "^make  $in/sub/b.png .*(its input changed)$" "$T/stdout")" = 4 ] ||
    { cat "$T/stdout"; fail "a touched input: not its 4 renditions"; }
assert_grep "^dry run: 5 to make, 3 up to date" "$T/stdout"
expect_exit 0 "$IMGBATCH" transform --dry-run --force "${args[@]}" -o "$out" "$in"
assert_grep "^dry run: 8 to make, 0 up to date" "$T/stdout"
[ "$(tree "$in" "$out")" = "$before" ] || fail "a dry run touched OUT"
# what the dry run said is what the run does
expect_exit 0 "$IMGBATCH" transform "${args[@]}" -o "$out" \
    --report "$T/r.jsonl" "$in"
json_check "$T/r.jsonl" "sum(r['status'] == 'ok' for i in items for r in i['renditions']) == 5"
ok "reasons: recipe changed, input changed, not made yet, --force; OUT untouched"

# 3. an input that would fail: listed, exit 1; shards list only theirs
expect_exit 1 "$IMGBATCH" transform --dry-run "${args[@]}" -o "$out" \
    "$in" "$T/missing.jpg"
assert_grep "^fail  $T/missing.jpg: " "$T/stdout"
expect_exit 0 "$IMGBATCH" transform --dry-run --shard 0/2 "${args[@]}" \
    -o "$out" "$in"
n1=$(grep -c '^keep' "$T/stdout" || true)
expect_exit 0 "$IMGBATCH" transform --dry-run --shard 1/2 "${args[@]}" \
    -o "$out" "$in"
n2=$(grep -c '^keep' "$T/stdout" || true)
[ $((n1 + n2)) = 8 ] || fail "shards list $n1 + $n2 renditions, not 8"
ok "a failing input is listed (exit 1); each shard lists its own"

# 4. it writes no report and no log
expect_exit 2 "$IMGBATCH" transform --dry-run --report "$T/x.jsonl" -o "$out" "$in"
expect_exit 2 "$IMGBATCH" transform --dry-run --log "$T/x.log" -o "$out" "$in"
[ ! -e "$T/x.jsonl" ] && [ ! -e "$T/x.log" ] || fail "report or log written"
ok "--dry-run with --report or --log is a usage error"
