# "imgbatch help CMD" and the man page list the same options, both ways,
# so neither can drift from the option tables; and the man page renders.
. "$IB_TESTS/cli/lib.sh"
MAN="$IB_TESTS/../docs/imgbatch.1"
[ -f "$MAN" ] || fail "no $MAN"

# man_opts SECTION...: the --options in the .TP items of those sections
man_opts() {
    python3 - "$MAN" "$@" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
want, cur, opts, after_tp = set(sys.argv[2:]), None, set(), False
for l in lines:
    if l.startswith(".SH"):
        cur = l[3:].strip().strip('"')
    elif cur in want and after_tp and l.startswith(".B"):
        opts |= set(re.findall(r"\\-\\-([a-z0-9\\-]+)", l))
    after_tp = l.startswith(".TP")
print("\n".join(sorted(o.replace("\\-", "-") for o in opts)))
PY
}
help_opts() {
    "$IMGBATCH" help "$1" | sed -n '/^options:/,$p' |
        sed -n 's/^  \(-., \)\{0,1\} *--\([a-z0-9-]*\).*/\2/p' | sort -u
}
check_cmd() {   # CMD SECTION...
    local cmd=$1
    shift
    help_opts "$cmd" >"$T/help"
    man_opts "$@" >"$T/man"
    [ "$(wc -l <"$T/help")" -ge 10 ] || fail "help $cmd lists too few"
    diff -u "$T/help" "$T/man" >"$T/diff" || {
        cat "$T/diff" >&2
        fail "'imgbatch help $cmd' (-) and the man page (+) differ"
    }
}
check_cmd fetch "FETCH OPTIONS" "DOWNLOAD OPTIONS" "COMMON OPTIONS"
check_cmd transform "TRANSFORM OPTIONS" "IMAGE OPTIONS" "RENDITION OPTIONS" OPERATIONS \
    "COMMON OPTIONS"
check_cmd run "RUN OPTIONS" "DOWNLOAD OPTIONS" "IMAGE OPTIONS" \
    "RENDITION OPTIONS" OPERATIONS "COMMON OPTIONS"
ok "help and man page list the same options for fetch, transform, run"

# help is grouped as the man page is, and fits 80 columns
for cmd in fetch transform run report bench; do
    "$IMGBATCH" help $cmd >"$T/h"
    awk 'length($0) > 80 { print; bad = 1 } END { exit bad }' "$T/h" ||
        fail "help $cmd: lines over 80 columns"
done
# through files: grep -q leaving early would fail a long help (pipefail)
for cmd in fetch transform run; do "$IMGBATCH" help $cmd >"$T/h-$cmd"; done
for cmd in fetch run; do
    grep -qx "download options:" "$T/h-$cmd" ||
        fail "help $cmd: no download options group"
done
for cmd in transform run; do
    grep -qx "image options:" "$T/h-$cmd" ||
        fail "help $cmd: no image options group"
done
for cmd in fetch transform run; do
    sed -n '/^common options:/,$p' "$T/h-$cmd" | grep -q -- "--wait-lock" ||
        fail "help $cmd: no common options group"
done
ok "help: grouped as the man page, within 80 columns"

grep -q -- "--shard K/N" "$T/h-run" || fail "help run: --shard"
"$IMGBATCH" --help | grep -q "^  run " || fail "run is not in the command list"
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww "$MAN" >"$T/out" 2>"$T/warn" || fail "groff failed"
    [ ! -s "$T/warn" ] || { cat "$T/warn" >&2; fail "groff warnings"; }
    grep -q "SHARDING" "$T/out" || fail "man page did not render"
    ok "the man page renders without warnings"
fi
