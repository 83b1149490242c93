# The report schema (docs/report.md, docs/report.schema.json): fetch,
# transform and run each write a report with an ok, a failed and a
# skipped item, and tests/cli/check_report.py accepts them all; it refuses
# the drifted fields of the previous schema.
. "$IB_TESTS/cli/lib.sh"
start_server
CHECK="/usr/bin/python3 $IB_TESTS/cli/check_report.py"

photo a.jpg 1 64x48
echo "not an image" >"$T/srv/bad.jpg"
# the same URL twice: the second is skipped, by fetch and by run
printf '%s\n' "$BASE/file/a.jpg" "$BASE/file/a.jpg" "$BASE/file/bad.jpg" \
    "$BASE/status/404" >"$T/urls"

rc=0
"$IMGBATCH" fetch -q -o "$T/dl" --report "$T/fetch.jsonl" "$T/urls" \
    2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "fetch: exit $rc, expected 1"
rc=0
"$IMGBATCH" run -q -o "$T/out" --report "$T/run.jsonl" "$T/urls" \
    2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "run: exit $rc, expected 1"

# transform: an image and a truncated one, then again: the image skipped
mkdir "$T/in"
cp "$T/srv/a.jpg" "$T/in/a.jpg"
head -c 300 "$T/srv/a.jpg" >"$T/in/cut.jpg"
for i in 1 2; do
    rc=0
    "$IMGBATCH" transform -q -o "$T/tout" --report "$T/transform$i.jsonl" \
        "$T/in" 2>/dev/null || rc=$?
    [ "$rc" = 1 ] || fail "transform $i: exit $rc, expected 1"
done

for f in fetch run transform1 transform2; do
    $CHECK "$T/$f.jsonl" || fail "$f: the report does not follow the schema"
done
ok "fetch, transform and run reports follow docs/report.schema.json"

# each status the test meant to produce is there
python3 - "$T" <<'PY' || fail "a report lacks an ok, failed or skipped item"
import json, sys
t = sys.argv[1]
def statuses(name):
    return {json.loads(l).get("status") for l in open(f"{t}/{name}.jsonl")}
for name, want in [("fetch", {"ok", "failed", "skipped"}),
                   ("run", {"ok", "failed", "skipped"}),
                   ("transform1", {"ok", "failed"}),
                   ("transform2", {"skipped", "failed"})]:
    assert want <= statuses(name), (name, statuses(name))
s = json.loads(open(f"{t}/run.jsonl").read().splitlines()[-1])
assert s["schema"] == "imgbatch-report/2" and s["command"] == "run", s
PY
"$IMGBATCH" --version | head -1 | grep -qx "imgbatch $(python3 -c '
import json, sys
print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["version"])
' "$T/fetch.jsonl")" || fail "the summary's version is not --version's"
ok "each report has its ok, failed and skipped items; version as --version"

# the checker refuses what the previous schema wrote
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
lines = open(f"{t}/fetch.jsonl").read().splitlines()
s = json.loads(lines[-1])
bad = {
    "old_interrupted": dict(s, interrupted=0),
    "no_schema": {k: v for k, v in s.items() if k != "schema"},
    "bad_started": dict(s, started="26/11/2026 15:20"),
    "wrong_counts": dict(s, ok=s["ok"] + 1),
}
for name, obj in bad.items():
    with open(f"{t}/{name}.jsonl", "w") as f:
        f.write("\n".join(lines[:-1] + [json.dumps(obj)]) + "\n")
tr = open(f"{t}/transform1.jsonl").read().splitlines()
s = json.loads(tr[-1])
s["ms"] = s.pop("wall_ms")
with open(f"{t}/old_ms.jsonl", "w") as f:
    f.write("\n".join(tr[:-1] + [json.dumps(s)]) + "\n")
with open(f"{t}/no_summary.jsonl", "w") as f:
    f.write("\n".join(lines[:-1]) + "\n")
PY
for f in old_interrupted no_schema bad_started wrong_counts old_ms \
    no_summary; do
    ! $CHECK "$T/$f.jsonl" 2>/dev/null || fail "check_report accepted $f"
done
$CHECK --partial "$T/no_summary.jsonl" || fail "--partial: no summary refused"
ok "check_report refuses the previous schema's fields and wrong counts"

# imgbatch report merges the new reports, and still reads the old "ms"
"$IMGBATCH" report --json "$T/fetch.jsonl" "$T/run.jsonl" \
    "$T/transform1.jsonl" >"$T/merged" || true
python3 - "$T/merged" <<'PY' || fail "report: merged counts"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["files"] == 3 and m["items"] == 10, m
PY
printf '%s\n' '{"input":"x.jpg","output":"o/x.jpg","status":"ok","ms":12.5}' \
    '{"summary":true,"ok":1,"failed":0,"ms":12.5}' >"$T/old.jsonl"
"$IMGBATCH" report --json "$T/old.jsonl" >"$T/merged_old" ||
    fail "report: an old report refused"
python3 - "$T/merged_old" <<'PY' || fail "report: the old ms key not read"
import json, sys
m = json.load(open(sys.argv[1]))
assert [s["ms"] for s in m["slowest"]] == [12.5], m
PY
ok "imgbatch report reads the unified reports and the old ms key"
