# Nothing is created or replaced outside OUT, whatever symlinks sit inside
# it: a symlinked folder fails its items ("... is a symlink, not
# followed"), a symlink at an output's own name is replaced, not written
# through, and run's download folder and journal are not redirected.
. "$IB_TESTS/cli/lib.sh"

mkdir -p "$T/in/sub" "$T/in/deep/er" "$T/victim" "$T/out/deep"
convert -size 64x48 xc:tomato "$T/in/sub/a.jpg"
convert -size 64x48 xc:navy "$T/in/deep/er/b.jpg"
convert -size 64x48 xc:gold "$T/in/c.jpg"
convert -size 64x48 xc:teal "$T/in/d.jpg"
ln -s ../victim "$T/out/sub"                # a folder, at the top
ln -s ../../victim "$T/out/deep/er"         # a folder, one level down
ln -s ../victim/c.jpg "$T/out/c.jpg"        # an output's own name
outside() { ls -A "$T/victim"; }

expect_exit 1 "$IMGBATCH" transform -o "$T/out" "$T/in" --resize 32x32 \
    --report "$T/r.jsonl"
[ -z "$(outside)" ] || fail "transform wrote outside OUT: $(outside)"
assert_grep "cannot transform '$T/in/sub/a.jpg': output folder '$T/out/sub' \
is a symlink, not followed" "$T/stderr"
assert_grep "output folder '$T/out/deep/er' is a symlink, not followed" \
    "$T/stderr"
[ -f "$T/out/c.jpg" ] && [ ! -L "$T/out/c.jpg" ] ||
    fail "the symlink at out/c.jpg was not replaced by the output"
[ -f "$T/out/d.jpg" ] || fail "the other items were not done"
json_check "$T/r.jsonl" '((summary["ok"], summary["failed"]) == (2, 2) and
    all("symlink" in i["error"] for i in items if i["status"] == "failed"))'
ok "transform: symlinks inside OUT are not followed, the batch goes on"

# every engine writes the same way
for e in serial omp; do
    expect_exit 1 "$IMGBATCH" transform -o "$T/out" "$T/in" --engine "$e" \
        --force
    [ -z "$(outside)" ] || fail "--engine $e wrote outside OUT"
done
ok "transform: the same with --engine serial and omp"

# run: its download folder and journal live inside OUT; a symlink planted
# under either name must not redirect a write (the list is never fetched)
echo "http://127.0.0.1:9/x.jpg" >"$T/urls"
mkdir -p "$T/run1" "$T/run2"
ln -s ../victim "$T/run1/.downloads"
expect_exit 3 "$IMGBATCH" run "$T/urls" -o "$T/run1"
assert_grep "'$T/run1/.downloads' is a symlink, not followed" "$T/stderr"
ln -s ../victim/journal "$T/run2/.imgbatch-run.tsv"
expect_exit 3 "$IMGBATCH" run "$T/urls" -o "$T/run2"
[ -z "$(outside)" ] || fail "run wrote outside OUT: $(outside)"
ok "run: a symlinked download folder or journal is refused"

# the same with --shard: its own download folder and journal names
mkdir -p "$T/run3"
ln -s ../victim "$T/run3/.downloads-1-of-2"
expect_exit 3 "$IMGBATCH" run "$T/urls" -o "$T/run3" --shard 1/2
assert_grep "is a symlink, not followed" "$T/stderr"
[ -z "$(outside)" ] || fail "run --shard wrote outside OUT: $(outside)"
ok "run --shard: a symlinked download folder is refused"

# a symlink in place of the lock file is not followed either
mkdir -p "$T/out2"
ln -s ../victim/lock "$T/out2/.imgbatch.lock"
expect_exit 3 "$IMGBATCH" transform -o "$T/out2" "$T/in/c.jpg"
assert_grep "is a symlink, not followed" "$T/stderr"
[ -z "$(outside)" ] || fail "the lock was taken outside OUT"
ok "a symlinked lock file is refused"
