# Sourced by the CLI tests: a scratch folder, assertions, helpers.
# ctest sets IMGBATCH (the binary), IB_GEN (the test image generator) and
# IB_TESTS (this folder's parent).
set -euo pipefail
: "${IMGBATCH:?run under ctest}"
T=$(mktemp -d "${TMPDIR:-/tmp}/imgbatch-test.XXXXXX")
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

# expect_exit CODE CMD...: runs CMD, stdout/stderr to $T/out, $T/err.
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

# assert_grep PATTERN FILE
assert_grep() { grep -q -- "$1" "$2" || { cat "$2" >&2; fail "no '$1' in $2"; }; }

# json_check REPORT PYTHON-EXPR: evaluates EXPR with `items` (the item
# objects) and `summary` (the summary object) bound; fails if false.
json_check() {
    python3 - "$1" "$2" <<'PY' || fail "report check failed: $2"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
summary = [l for l in lines if l.get("summary")]
items = [l for l in lines if not l.get("summary")]
assert len(summary) == 1 and lines[-1] is summary[0], "one summary, last"
summary = summary[0]
if not eval(sys.argv[2]):
    print(json.dumps(lines, indent=1)[:3000], file=sys.stderr)
    sys.exit(1)
PY
}

# dims FILE: "W H" as ImageMagick reads it (an independent decoder).
dims() { identify -format '%w %h' "$1"; }

# gen DIR: the synthetic test images.
gen() { mkdir -p "$1" && "$IB_GEN" "$1" >/dev/null; }

# wait_for CMD...: polls CMD every 20 ms, for at most 60 s.
wait_for() {
    local i
    for i in $(seq 3000); do
        "$@" && return 0
        sleep 0.02
    done
    fail "timed out waiting for: $*"
}
# lines_at_least FILE N
lines_at_least() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
# files_at_least DIR N: N files (not dot-files) in DIR
files_at_least() { [ -d "$1" ] && [ "$(ls "$1" | wc -l)" -ge "$2" ]; }
