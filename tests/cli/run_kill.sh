# imgbatch run killed with SIGKILL at several points, then rerun: every
# output is byte for byte a clean run's, no temp file is left, and what
# the killed run finished is not transformed again.
. "$IB_TESTS/cli/lib.sh"
start_server

for i in $(seq 1 24); do photo "k$i.jpg" "$i" 480x360; done
for i in $(seq 1 24); do echo "$BASE/file/k$i.jpg?ms=60"; done >"$T/urls"
args=(-c 3 --procs 2 --resize 200x200 --sharpen 1 --quality 80
      --progress never)

run_expect 0 "$T/urls" -o "$T/clean" "${args[@]}"
( cd "$T/clean" && ls ) >"$T/clean.list"
[ "$(wc -l <"$T/clean.list")" = 24 ] || fail "clean run made no 24 outputs"

same_as_clean() {
    ( cd "$1" && ls ) >"$T/got.list"
    diff "$T/clean.list" "$T/got.list" >&2 || fail "$1: other files"
    for f in $(cat "$T/clean.list"); do
        cmp -s "$T/clean/$f" "$1/$f" || fail "$1/$f differs from a clean run"
    done
    local left
    left=$(find "$1" -name '.*.tmp-*' -o -name '.*.part.*')
    [ -z "$left" ] || fail "temp files left: $left"
}

# kill -9 once the report has N lines (0: as soon as it exists)
for n in 0 3 10 20; do
    out="$T/k$n"
    "$IMGBATCH" run "$T/urls" -o "$out" "${args[@]}" --report "$T/rk$n" \
        2>/dev/null &
    pid=$!
    for _ in $(seq 3000); do
        [ -f "$T/rk$n" ] && [ "$(wc -l <"$T/rk$n")" -ge "$n" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    done_before=$(grep -c '"status":"ok"' "$T/rk$n" || true)
    run_expect 0 "$T/urls" -o "$out" "${args[@]}" --report "$T/rr$n"
    /usr/bin/python3 "$IB_TESTS/cli/check_report.py" "$T/rr$n" ||
        fail "kill at $n: the rerun's report does not follow the schema"
    same_as_clean "$out"
    # every item the killed run reported ok is recognised, not redone
    python3 - "$T/rk$n" "$T/rr$n" <<'PY' || fail "kill at $n: work redone"
import json, sys
killed = [json.loads(l) for l in open(sys.argv[1]) if l.endswith("\n")]
done = {i["url"] for i in killed if i.get("status") == "ok"}
rerun = {i["url"]: i for i in map(json.loads, open(sys.argv[2]))
         if not i.get("summary")}
assert len(rerun) == 24
for u in done:
    assert rerun[u]["status"] == "unchanged", rerun[u]
    assert rerun[u]["transform_ms"] is None, rerun[u]
PY
    ok "killed after $n report lines ($done_before done): rerun completes"
done

# and a third run has nothing left to do at all
run_expect 0 "$T/urls" -o "$T/k10" "${args[@]}" --report "$T/r3"
json_check "$T/r3" 'summary["unchanged"] == 24 and summary["transformed"] == 0
    and summary["not_modified"] == 24'
ok "after the rerun, a night without changes is all 304s"

# SIGTERM mid-run: exit 143, a report that ends in its summary, no temps;
# the downloads cut short are "interrupted", not failures of their source
for i in $(seq 1 6); do echo "$BASE/file/k$i.jpg?ms=3000"; done >"$T/slow"
"$IMGBATCH" run "$T/slow" -o "$T/term" "${args[@]}" --force \
    --report "$T/rt" 2>"$T/term.err" &
pid=$!
for _ in $(seq 500); do [ -d "$T/term/.downloads" ] && break; sleep 0.01; done
sleep 0.3
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 143 ] || fail "SIGTERM: exit $rc, expected 143"
json_check "$T/rt" 'summary["interrupted"] is True and len(items) == 6
    and all(i["status"] in ("interrupted", "skipped") for i in items)
    and summary["failed"] == 0 and summary["interrupted_items"] ==
        sum(i["status"] == "interrupted" for i in items) >= 1
    and all(i["stage"] == "fetch" for i in items
            if i["status"] == "interrupted")'
/usr/bin/python3 "$IB_TESTS/cli/check_report.py" "$T/rt" ||
    fail "SIGTERM: the report does not follow docs/report.schema.json"
! grep -q "cannot" "$T/term.err" || fail "an error line for a cut item"
line="^run: 0 ok, 0 unchanged, 0 failed, [1-3] interrupted, [3-5] skipped"
grep -Eq "$line" "$T/term.err" || fail "summary line: $(cat "$T/term.err")"
left=$(find "$T/term" -name '.*.tmp-*' -o -name '.*.part.*')
[ -z "$left" ] || fail "temp files left after SIGTERM: $left"
ok "SIGTERM: exit 143, every URL reported, none failed, no temp file left"
