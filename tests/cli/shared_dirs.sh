#!/usr/bin/env bash
# Folders shared on purpose or by mistake: fetch shards sharing -o leave
# each other's temp files alone (an unsharded fetch sweeps them); run locks
# its download folder, so a fetch pointed there cannot break it; a run
# stopped by a signal reports every URL, the landed ones never transformed
# included.
. "$(dirname "$0")/lib.sh"

start_server
for i in $(seq 1 30); do photo "p$i.jpg" "$i" 1600x1200; done
for i in $(seq 1 30); do echo "$BASE/file/p$i.jpg"; done >"$T/urls.txt"

mkdir -p "$T/shared"
touch "$T/shared/.p1.jpg.part.AbC123"     # another shard's live download
"$IMGBATCH" fetch -q --shard 0/2 -o "$T/shared" "$T/urls.txt"
[ -e "$T/shared/.p1.jpg.part.AbC123" ] || fail "a fetch shard swept a shared folder"
"$IMGBATCH" fetch -q -o "$T/shared" "$T/urls.txt"
[ ! -e "$T/shared/.p1.jpg.part.AbC123" ] || fail "an unsharded fetch did not sweep"
ok "fetch shards sharing -o keep each other's temp files; an unsharded one sweeps"

mkdir -p "$T/o/.downloads"
flock -x "$T/o/.downloads/.imgbatch.lock" sleep 30 &
holder=$!
sleep 0.5
rc=0
"$IMGBATCH" run "$T/urls.txt" -o "$T/o" --resize 64x64 2>"$T/stderr" || rc=$?
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
[ "$rc" = 3 ] || { cat "$T/stderr"; fail "run beside a held download folder: exit $rc, want 3"; }
grep -q "is in use" "$T/stderr" || fail "no 'in use' message"
ok "run locks its default download folder"

"$IMGBATCH" run "$T/urls.txt" -o "$T/s" --procs 1 --blur 4 \
    --report "$T/s.jsonl" 2>"$T/stderr" &
pid=$!
for _ in $(seq 1 3000); do
    [ -s "$T/s.jsonl" ] && break
    sleep 0.02
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 143 ] || { cat "$T/stderr"; fail "SIGTERM: exit $rc"; }
/usr/bin/python3 - "$T/s.jsonl" <<'PY' || fail "a URL has no report line after SIGTERM"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
items = [l for l in lines if not l.get("summary")]
st = {}
for i in items:
    st[i["status"]] = st.get(i["status"], 0) + 1
print("# after SIGTERM:", st)
assert len(items) == 30 and len({i["url"] for i in items}) == 30, len(items)
assert lines[-1].get("summary")
assert st.get("ok", 0) < 30, "finished before the signal: the test is void"
assert "failed" not in st, st
PY
ok "a stopped run reports every URL"
