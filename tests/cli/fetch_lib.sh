# tests/cli/fetch_lib.sh: sourced by the fetch_*.sh tests. Starts
# tests/server.py on a free port of 127.0.0.1 and stops it on exit; helpers
# to run imgbatch fetch and read its JSON Lines report.
set -euo pipefail
: "${IMGBATCH:?IMGBATCH must name the imgbatch binary}"
: "${IB_TESTS:?IB_TESTS must name the tests/ folder}"

T=$(mktemp -d "${TMPDIR:-/tmp}/ib-fetch.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

start_server() {
    python3 "$IB_TESTS/server.py" "$T/port" &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        [ -s "$T/port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || fail "server.py exited"
        sleep 0.05
    done
    [ -s "$T/port" ] || fail "server.py did not start"
    PORT=$(cat "$T/port")
    BASE="http://127.0.0.1:$PORT"
}

# run_fetch RC ARGS...: imgbatch fetch ARGS must exit RC; stderr -> $T/stderr
run_fetch() {
    local want=$1 rc=0
    shift
    "$IMGBATCH" fetch "$@" 2>"$T/stderr" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$T/stderr" >&2
        fail "exit $rc, expected $want: imgbatch fetch $*"
    fi
}

# rget REPORT URL KEY: the item's field, JSON-encoded ("ok" -> "ok", null)
rget() {
    python3 - "$@" <<'EOF'
import json, sys
rep, url, key = sys.argv[1:4]
items = [json.loads(l) for l in open(rep)]
hits = [i for i in items if i.get("url") == url]
if len(hits) != 1:
    sys.exit("%d report lines for %s" % (len(hits), url))
v = hits[0][key]
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# expect REPORT URL KEY VALUE
expect() {
    local got
    got=$(rget "$1" "$2" "$3") || fail "no report line for $2"
    [ "$got" = "$4" ] || fail "$2: $3 is '$got', expected '$4'"
}

# summary REPORT KEY: a field of the (single, last) summary object
summary() {
    python3 - "$@" <<'EOF'
import json, sys
items = [json.loads(l) for l in open(sys.argv[1])]
s = [i for i in items if i.get("summary") is True]
if len(s) != 1 or items[-1] is not s[0]:
    sys.exit("no single final summary object")
print(json.dumps(s[0][sys.argv[2]]))
EOF
}

# no_temps DIR: no temp file of a download is left in DIR
no_temps() {
    local left
    left=$(find "$1" -name '.*.part.*' -o -name '.imgbatch-fetch.tsv.*')
    [ -z "$left" ] || fail "temp files left in $1: $left"
}

# same_body FILE NAME SIZE: FILE holds what /ok/NAME?size=SIZE serves
same_body() {
    python3 "$IB_TESTS/server.py" --body "$2" "$3" >"$T/expected"
    cmp -s "$1" "$T/expected" || fail "$1 differs from the served body"
}

# hits PATH: how many requests the server saw for PATH (or a counter key)
hits() {
    python3 - "$BASE" "$1" <<'EOF'
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "/stats"))
print(d.get(sys.argv[2], 0))
EOF
}
