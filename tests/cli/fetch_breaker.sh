# fetch: a host that refuses every connection neither slows the others nor
# costs a retry schedule per URL. Items waiting to retry hold no transfer
# slot; after --host-breaker connect failures in a row (10) the host's
# other URLs fail at once, untried, with the reason. The dead host is a
# port of 127.0.0.1 nobody listens on.
. "$IB_TESTS/cli/lib.sh"
start_server
# a port nobody listens on: bound, then closed
DEAD_PORT=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DEAD="http://127.0.0.1:$DEAD_PORT"

# 1. retries wait outside the window: with -c 2, four URLs told to come
# back in 4 s (429, Retry-After) must not hold up the ten after them
{
    for i in 1 2 3 4; do echo "$BASE/429/w$i?after=4"; done
    for i in $(seq 1 10); do echo "$BASE/ok/after$i.bin"; done
} >"$T/list"
run_fetch 0 -c 2 -o "$T/o1" --report "$T/rep" "$T/list"
python3 - "$T/rep" <<'EOF2' || fail "good URLs waited for the retries"
import json, sys
items = [json.loads(l) for l in open(sys.argv[1])][:-1]
order = [i["url"] for i in items]
good = [n for n, u in enumerate(order) if "/ok/" in u]
later = [n for n, u in enumerate(order) if "/429/" in u]
assert len(good) == 10 and len(later) == 4
assert max(good) < min(later), order
assert all(i["attempts"] == 2 for i in items if "/429/" in i["url"])
EOF2
echo "ok - items waiting to retry hold no slot"

# 2. 200 URLs to the dead port among 20 good ones, default options
for i in $(seq 1 200); do
    echo "$DEAD/d$i.jpg"
    [ $((i % 10)) = 0 ] && echo "$BASE/ok/g$i.bin"
done >"$T/list"
run_fetch 1 -o "$T/o2" --report "$T/rep" "$T/list"
python3 - "$T/rep" "$DEAD_PORT" <<'EOF2' || fail "the breaker did not trip"
import json, re, sys
items = [json.loads(l) for l in open(sys.argv[1])][:-1]
good = [i for i in items if "/ok/" in i["url"]]
dead = [i for i in items if "/ok/" not in i["url"]]
assert len(good) == 20 and all(i["status"] == "ok" for i in good), good
assert len(dead) == 200 and all(i["status"] == "failed" for i in dead)
want = re.compile(r"not (tried|retried): host 127\.0\.0\.1:%s refused "
                  r"\d+ connections in a row$" % sys.argv[2])
cut = [i for i in dead if want.fullmatch(i["error"] or "")]
untried = [i for i in cut if i["error"].startswith("not tried")]
# at most a window's worth reached the port before it was given up
assert len(untried) >= 150, len(untried)
assert all(i["attempts"] == 0 for i in untried)
tries = sum(i["attempts"] for i in dead)
assert tries < 100, tries   # 800 (4 each) without the breaker
EOF2
line="^imgbatch fetch: cannot fetch '$DEAD/d200.jpg': not tried: host"
line="$line 127.0.0.1:$DEAD_PORT refused [0-9]+ connections in a row\$"
grep -Eq "$line" "$T/stderr" || fail "no reason on stderr for an untried URL"
echo "ok - a dead host's URLs fail untried after 10 refusals"

# 3. --host-breaker 0: every URL has all its attempts
for i in $(seq 1 30); do echo "$DEAD/e$i.jpg"; done >"$T/list"
run_fetch 1 -o "$T/o3" --host-breaker 0 --retries 1 --report "$T/rep" \
    "$T/list"
python3 - "$T/rep" <<'EOF2' || fail "--host-breaker 0 gave up a host"
import json, sys
items = [json.loads(l) for l in open(sys.argv[1])][:-1]
assert len(items) == 30
assert all(i["attempts"] == 2 and "not tried" not in i["error"]
           for i in items), items
EOF2
run_fetch 2 --host-breaker x "$T/list"
echo "ok - --host-breaker 0 turns it off"
echo "fetch_breaker: ok"
