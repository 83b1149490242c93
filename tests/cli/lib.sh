# tests/cli/lib.sh: sourced by every CLI test (and tests/scale/slurm.sh).
# A scratch folder $T removed on exit, assertions, the loopback test server
# (tests/server.py), and helpers to run imgbatch and read its JSON Lines
# reports. ctest sets IMGBATCH (the binary), IB_GEN (the test image
# generator) and IB_TESTS (this folder's parent).
set -euo pipefail
: "${IMGBATCH:?run under ctest}"
: "${IB_TESTS:?run under ctest}"
T=$(mktemp -d "${TMPDIR:-/tmp}/imgbatch-test.XXXXXX")

# The one exit trap: the hooks a test added (last first), then the server,
# then $T. A test adds what it must undo with at_exit, never its own trap.
SERVER_PID=
EXIT_HOOKS=()
at_exit() { EXIT_HOOKS+=("$1"); }
cleanup() {
    local rc=$? i
    set +e
    for ((i = ${#EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${EXIT_HOOKS[i]}"
    done
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$T" "$T.schema-ok"
    exit "$rc"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

# wait_for CMD...: polls CMD every 20 ms, for at most 60 s.
wait_for() {
    local i
    for i in $(seq 3000); do
        "$@" && return 0
        sleep 0.02
    done
    fail "timed out waiting for: $*"
}

# start_server: tests/server.py on a free port of 127.0.0.1, serving $T/srv
# under /file/ (and /gate/); BASE is its URL. The server writes its port
# file only once it listens, so the wait is for that file.
server_ready() {
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server.py exited"
    [ -s "$T/port" ]
}
start_server() {
    mkdir -p "$T/srv"
    python3 "$IB_TESTS/server.py" "$T/port" "$T/srv" &
    SERVER_PID=$!
    wait_for server_ready
    PORT=$(cat "$T/port")
    BASE="http://127.0.0.1:$PORT"
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# hits PATH: how many requests the server saw for PATH (or a counter key:
# "connections", "gate", "flaky:KEY", "304:NAME")
hits() {
    python3 - "$BASE" "$1" <<'EOF'
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "/stats"))
print(d.get(sys.argv[2], 0))
EOF
}

# same_body FILE NAME SIZE: FILE holds what /ok/NAME?size=SIZE serves
same_body() {
    python3 "$IB_TESTS/server.py" --body "$2" "$3" >"$T/expected"
    cmp -s "$1" "$T/expected" || fail "$1 differs from the served body"
}

# expect_exit CODE CMD...: runs CMD, stdout/stderr to $T/stdout, $T/stderr.
expect_exit() {
    local want=$1 got
    shift
    set +e
    "$@" >"$T/stdout" 2>"$T/stderr"
    got=$?
    set -e
    if [ "$got" != "$want" ]; then
        echo "--- stdout" >&2; cat "$T/stdout" >&2
        echo "--- stderr" >&2; cat "$T/stderr" >&2
        fail "exit $got, want $want: $*"
    fi
}

# imgbatch_exit CODE SUBCOMMAND ARGS...: imgbatch SUBCOMMAND ARGS must exit
# CODE; stderr in $T/stderr, stdout left alone. run_fetch and run_expect
# are its fetch and run.
imgbatch_exit() {
    local want=$1 rc=0
    shift
    "$IMGBATCH" "$@" 2>"$T/stderr" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$T/stderr" >&2
        fail "exit $rc, expected $want: imgbatch $*"
    fi
}
run_fetch() { imgbatch_exit "$1" fetch "${@:2}"; }
run_expect() { imgbatch_exit "$1" run "${@:2}"; }

# under_limit KB CMD...: CMD with its address space capped at KB. Not
# under ASan, whose shadow memory needs terabytes of address space.
under_limit() {
    local kb=$1
    shift
    if [ -n "${IB_SANITIZE:-}" ]; then
        "$@"
    else
        (ulimit -v "$kb" && exec "$@")
    fi
}

# assert_grep PATTERN FILE
assert_grep() { grep -q -- "$1" "$2" || { cat "$2" >&2; fail "no '$1' in $2"; }; }

# json_check REPORT PYTHON-EXPR: evaluates EXPR with `items` (the item
# objects), `summary` (the summary object) and `by` (items by the last
# part of their URL, query left out) bound; fails if false.
json_check() {
    schema_check "$1"
    python3 - "$1" "$2" <<'PY' || fail "report check failed: $2"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
summary = [l for l in lines if l.get("summary")]
items = [l for l in lines if not l.get("summary")]
assert len(summary) == 1 and lines[-1] is summary[0], "one summary, last"
summary = summary[0]
by = {i["url"].split("/")[-1].split("?")[0]: i for i in items if "url" in i}
if not eval("(" + sys.argv[2] + ")"):
    print(json.dumps(lines, indent=1)[:4000], file=sys.stderr)
    sys.exit(1)
PY
}

# rget REPORT URL KEY: the item's field, JSON-encoded ("ok" -> "ok", null)
# schema_check REPORT [--partial]: REPORT is valid against
# docs/report.schema.json (tests/cli/check_report.py, which also checks the
# summary's counts; --partial: a killed run's report, without a summary).
# json_check and rget call it, so every report a test reads is checked;
# each content once per test.
schema_check() {
    local sum
    sum=$(cksum <"$1")
    grep -qxF "$sum${2:-}" "$T.schema-ok" 2>/dev/null && return 0
    /usr/bin/python3 "$IB_TESTS/cli/check_report.py" ${2:-} "$1" ||
        fail "$1 does not follow docs/report.schema.json"
    echo "$sum${2:-}" >>"$T.schema-ok"   # beside $T: tests list $T
}

rget() {
    schema_check "$1" --partial
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

# dims FILE: "W H" as ImageMagick reads it (an independent decoder).
dims() { identify -format '%w %h' "$1"; }

# gen DIR: the synthetic test images.
gen() { mkdir -p "$1" && "$IB_GEN" "$1" >/dev/null; }

# photo NAME SEED [SIZE]: a photo-like JPEG in the served folder
photo() {
    mkdir -p "$T/srv"
    convert -size "${3:-320x240}" -seed "$2" plasma:fractal -quality 90 \
        "$T/srv/$1"
}

# lines_at_least FILE N
lines_at_least() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
# files_at_least DIR N: N files (not dot-files) in DIR
files_at_least() { [ -d "$1" ] && [ "$(ls "$1" | wc -l)" -ge "$2" ]; }
