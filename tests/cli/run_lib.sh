# tests/cli/run_lib.sh: sourced by the run_*.sh and shard_*.sh tests.
# Starts tests/server.py on 127.0.0.1 serving $T/srv under /file/, and
# offers helpers to make images and read run reports.
set -euo pipefail
: "${IMGBATCH:?run under ctest}"
: "${IB_TESTS:?run under ctest}"

T=$(mktemp -d "${TMPDIR:-/tmp}/ib-run.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

start_server() {
    mkdir -p "$T/srv"
    python3 "$IB_TESTS/server.py" "$T/port" "$T/srv" &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        [ -s "$T/port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || fail "server.py exited"
        sleep 0.05
    done
    [ -s "$T/port" ] || fail "server.py did not start"
    BASE="http://127.0.0.1:$(cat "$T/port")"
}

# photo NAME SEED [SIZE]: a photo-like JPEG in the served folder
photo() {
    convert -size "${3:-320x240}" -seed "$2" plasma:fractal -quality 90 \
        "$T/srv/$1"
}

# run_expect RC ARGS...: imgbatch run ARGS must exit RC; stderr in $T/stderr
run_expect() {
    local want=$1 rc=0
    shift
    "$IMGBATCH" run "$@" 2>"$T/stderr" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$T/stderr" >&2
        fail "exit $rc, expected $want: imgbatch run $*"
    fi
}

# check REPORT PYTHON-EXPR: EXPR over `items` and `summary` must hold
check() {
    python3 - "$1" "$2" <<'PY' || fail "report check failed: $2"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
summary = [l for l in lines if l.get("summary")]
items = [l for l in lines if not l.get("summary")]
assert len(summary) == 1 and lines[-1] is summary[0], "one summary, last"
summary = summary[0]
by = {i["url"].split("/")[-1].split("?")[0]: i for i in items}
if not eval("(" + sys.argv[2] + ")"):
    print(json.dumps(lines, indent=1)[:4000], file=sys.stderr)
    sys.exit(1)
PY
}
