#!/usr/bin/env bash
# imgbatch bench --quick --json: every row is there with a positive rate,
# the outputs were verified, the scratch folder is gone. No speed figure is
# asserted: this machine may be busy, and a test must not depend on it.
. "$(dirname "$0")/lib.sh"

mkdir "$T/scratch"
expect_exit 0 "$IMGBATCH" bench --quick --json -o "$T/scratch"
python3 - "$T/stdout" <<'PY' || fail "bench --json output is wrong"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["verified"] is True, b
assert b["quick"] is True and b["cpus"] >= 1 and b["runs"] >= 1
want = {("download", "serial"), ("download", "threads"),
        ("download", "multi"), ("transform", "serial"),
        ("transform", "procs"), ("transform", "omp")}
got = {(r["work"], r["model"]) for r in b["rows"]}
assert want <= got, got
for r in b["rows"]:
    assert r["rate"] > 0 and r["seconds"] > 0 and r["speedup"] > 0, r
    assert len(r["runs_ms"]) >= b["runs"], r
    assert r["unit"] == ("files/s" if r["work"] == "download" else "images/s")
    if r["model"] in ("procs", "omp"):
        assert r["workers"] == b["cpus"], r
assert b["download"]["bytes"] > 0 and b["transform"]["images"] > 0
rec = b["recommend"]
assert rec["engine"] in ("procs", "omp") and rec["workers"] == b["cpus"]
assert rec["concurrency"] in [r["workers"] for r in b["rows"]
                              if r["model"] == "multi"], rec
PY
[ -z "$(ls -A "$T/scratch")" ] || fail "bench left files in its scratch folder"
ok "bench --quick --json: all rows, positive rates, verified, cleaned up"

expect_exit 0 "$IMGBATCH" help bench
assert_grep "usage: imgbatch bench" "$T/stdout"
expect_exit 2 "$IMGBATCH" bench --bogus
assert_grep "unknown option '--bogus'" "$T/stderr"
expect_exit 2 "$IMGBATCH" bench extra
expect_exit 3 "$IMGBATCH" bench --quick -o "$T/no/such/dir"
assert_grep "cannot make a folder in '$T/no/such/dir'" "$T/stderr"
ok "bench: usage errors exit 2, an unusable -o exits 3"
