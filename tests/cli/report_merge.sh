#!/usr/bin/env bash
# imgbatch report: four shard reports of one list merge into the same
# totals, failure groups and item set as one unsharded run of that list;
# transform and fetch reports read too; a line cut by a kill is counted,
# not fatal; --json is one object that parses; exit 1 when items failed.
. "$(dirname "$0")/lib.sh"

start_server
for i in $(seq 1 24); do photo "p$i.jpg" "$i"; done
printf 'not an image' >"$T/srv/bad1.jpg"
printf '\377\330\377 cut' >"$T/srv/bad2.jpg"
{
    for i in $(seq 1 24); do echo "$BASE/file/p$i.jpg"; done
    echo "$BASE/file/bad1.jpg"
    echo "$BASE/file/bad2.jpg"
    echo "$BASE/file/missing1.jpg"
    echo "$BASE/file/missing2.jpg"
    echo "$BASE/file/missing3.jpg"
} >"$T/urls.txt"

run_expect 1 "$T/urls.txt" -o "$T/one" --resize 64x64 --report "$T/one.jsonl" -q
for k in 0 1 2 3; do
    rc=0
    "$IMGBATCH" run "$T/urls.txt" -o "$T/sh" --shard "$k/4" --resize 64x64 \
        --report "$T/sh$k.jsonl" -q 2>/dev/null || rc=$?
    [ "$rc" -le 1 ] || fail "shard $k: exit $rc"
done

rc=0
"$IMGBATCH" report --json "$T/one.jsonl" >"$T/one.json" || rc=$?
[ "$rc" = 1 ] || fail "report of a run with failures: exit $rc, want 1"
rc=0
"$IMGBATCH" report --json "$T"/sh?.jsonl >"$T/sh.json" || rc=$?
[ "$rc" = 1 ] || fail "merged report: exit $rc, want 1"
/usr/bin/python3 - "$T/one.json" "$T/sh.json" <<'PY' || fail "merged shards differ from one run"
import json, sys
one, sh = (json.load(open(p)) for p in sys.argv[1:3])
print("# one run:", one["status"], "merged shards:", sh["status"])
assert one["files"] == 1 and sh["files"] == 4, (one["files"], sh["files"])
assert one["items"] == 29 and sh["items"] == 29 and sh["distinct"] == 29
assert one["status"] == sh["status"], (one["status"], sh["status"])
assert one["status"]["ok"] == 24 and one["status"]["failed"] == 5
g = lambda r: sorted((e["count"], e["error"]) for e in r["errors"])
assert g(one) == g(sh), (g(one), g(sh))
assert sum(e["count"] for e in sh["errors"]) == 5
assert any(e["count"] == 3 and "404" in e["error"] for e in sh["errors"])
assert len(sh["slowest"]) == 10
ms = [s["ms"] for s in sh["slowest"]]
assert ms == sorted(ms, reverse=True) and ms[0] > 0
PY
cat "$T/sh.json"; echo
ok "four shard reports merge into one run's totals and failure groups"

# the same run twice, as two nights: twice the items, 29 distinct
"$IMGBATCH" report --json "$T/one.jsonl" "$T/one.jsonl" >"$T/two.json" || true
/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['items']==58 and r['distinct']==29, r" "$T/two.json" ||
    fail "two nights: items/distinct wrong"

# the table: statuses, error groups with an example, the slowest
"$IMGBATCH" report --top 3 "$T"/sh?.jsonl >"$T/table" || true
grep -q "^4 reports, 29 items (29 distinct)" "$T/table" || { cat "$T/table"; fail "table header"; }
grep -qE "^  ok +24$" "$T/table" || fail "table: ok count"
grep -qE "^ +3  fetch: HTTP 404" "$T/table" || { cat "$T/table"; fail "table: 404 group"; }
[ "$(sed -n '/^slowest:/,$p' "$T/table" | grep -c ' ms  ')" = 3 ] || fail "--top 3"
cat "$T/table"
ok "table output"

# transform and fetch reports; a line cut short; all ok exits 0
mkdir -p "$T/in"
cp "$T"/srv/p1.jpg "$T"/srv/p2.jpg "$T/in/"
"$IMGBATCH" transform -q -o "$T/tout" --report "$T/t.jsonl" "$T/in"
head -c 40 "$T/t.jsonl" >"$T/cut.jsonl"
"$IMGBATCH" report --json "$T/t.jsonl" "$T/cut.jsonl" >"$T/t.json" 2>"$T/t.err" ||
    fail "all-ok transform report: not exit 0"
grep -q "1 line could not be read" "$T/t.err" || fail "cut line not reported"
/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['items']==2 and r['status']=={'ok':2} and r['unreadable_lines']==1, r" "$T/t.json" ||
    fail "transform report"
"$IMGBATCH" fetch -q -o "$T/dl" --report "$T/f.jsonl" "$T/urls.txt" || true
"$IMGBATCH" report --json "$T/f.jsonl" >"$T/f.json" || true
/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['items']==29 and r['status']['ok']==26 and r['status']['failed']==3, r" "$T/f.json" ||
    fail "fetch report"
ok "transform and fetch reports; a cut line is counted"

rc=0; "$IMGBATCH" report "$T/nope.jsonl" 2>"$T/err" || rc=$?
[ "$rc" = 3 ] && grep -q "cannot read '$T/nope.jsonl'" "$T/err" || fail "missing report: exit $rc"
rc=0; "$IMGBATCH" report 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "no REPORT: exit $rc"
ok "missing report: exit 3; none given: exit 2"
