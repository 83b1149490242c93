#!/usr/bin/env bash
# The command-line contract: help, version, usage errors (exit 2, one line
# naming the problem plus a hint), fatal errors (exit 3).
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$IMGBATCH" --help
assert_grep "transform" "$T/stdout"
expect_exit 0 "$IMGBATCH" --version
assert_grep "^imgbatch [0-9]" "$T/stdout"
# the linked libraries, as loaded: libpng and zlib from the running process
assert_grep "^libjpeg-turbo [0-9]*\.[0-9]*\.[0-9]*, libpng $(dpkg-query -W -f='${Version}' libpng16-16 | cut -d- -f1), libdeflate [0-9.]*, zlib [0-9]" "$T/stdout"
assert_grep "^libcurl/[0-9]" "$T/stdout"
expect_exit 0 "$IMGBATCH" help transform
assert_grep "^usage: imgbatch transform" "$T/stdout"
assert_grep "--resize WxH" "$T/stdout"
expect_exit 0 "$IMGBATCH" transform --help
assert_grep "--max-pixels" "$T/stdout"
ok "help and version"

expect_exit 2 "$IMGBATCH"
expect_exit 2 "$IMGBATCH" frobnicate
assert_grep "unknown command 'frobnicate'" "$T/stderr"
expect_exit 2 "$IMGBATCH" help frobnicate

# usage errors: exactly one error line naming the culprit, then the hint
check_usage() {
    local what=$1
    shift
    expect_exit 2 "$IMGBATCH" transform "$@"
    [ "$(wc -l <"$T/stderr")" = 2 ] || { cat "$T/stderr"; fail "not 2 lines: $*"; }
    assert_grep "$what" "$T/stderr"
    assert_grep "^hint: see 'imgbatch help transform'" "$T/stderr"
}
mkdir -p "$T/in"
check_usage "unknown option '--frob'" -o "$T/o" --frob "$T/in"
check_usage "unknown option '-Z'" -o "$T/o" -Z "$T/in"
check_usage "option '--quality' needs a value" -o "$T/o" "$T/in" --quality
check_usage "invalid --quality '0'" -o "$T/o" --quality 0 "$T/in"
check_usage "invalid --quality '9x'" -o "$T/o" --quality 9x "$T/in"
check_usage "invalid --png-level '10'" -o "$T/o" --png-level 10 "$T/in"
check_usage "invalid --format 'gif'" -o "$T/o" --format gif "$T/in"
check_usage "invalid --resize '0x10'" -o "$T/o" --resize 0x10 "$T/in"
check_usage "invalid --resize 'axb'" -o "$T/o" --resize axb "$T/in"
check_usage "invalid --resize '10x!'" -o "$T/o" --resize '10x!' "$T/in"
check_usage "invalid --filter 'cubic'" -o "$T/o" --filter cubic "$T/in"
check_usage "invalid --engine 'gpu'" -o "$T/o" --engine gpu "$T/in"
check_usage "invalid --procs '0'" -o "$T/o" --procs 0 "$T/in"
check_usage "invalid --max-pixels '-1'" -o "$T/o" --max-pixels -1 "$T/in"
check_usage "missing -o/--out" "$T/in"
check_usage "no INPUT given" -o "$T/o"
[ ! -e "$T/o" ] || fail "a usage error created the output folder"
ok "usage errors exit 2 with one line and a hint, touching nothing"

# one wording for a bad value, whatever the option and the subcommand:
# "invalid --NAME 'VALUE' (what is expected)"
while read -r cmd args; do
    # shellcheck disable=SC2086
    expect_exit 2 "$IMGBATCH" $cmd $args
    assert_grep "^imgbatch $cmd: invalid --[a-z-]* '[^']*' (.*)\$" \
        "$T/stderr"
done <<'EOF'
fetch --mode fast u.txt
fetch --progress maybe u.txt
fetch --shard 3/3 u.txt
fetch --concurrency 0 u.txt
transform -o o --progress maybe in
transform -o o --shard x in
transform -o o --filter cubic in
transform -o o --max-pixels 0 in
run -o o --progress maybe u.txt
run -o o --fail-on 5 u.txt
run -o o --shard k8s/0 u.txt
EOF
ok "a bad value: one wording for every option of fetch, transform, run"

# cannot run at all: the output folder cannot be made
touch "$T/file"
expect_exit 3 "$IMGBATCH" transform -o "$T/file/sub" "$T/in"
assert_grep "cannot create '$T/file/sub'" "$T/stderr"
expect_exit 3 "$IMGBATCH" transform -o "$T/o" --report "$T/nodir/r.jsonl" "$T/in"
assert_grep "cannot open report" "$T/stderr"
# a report that cannot be written says why, after the batch has run
expect_exit 3 "$IMGBATCH" transform -o "$T/o-full" --report /dev/full "$T/in"
assert_grep "cannot write report '/dev/full': No space left on device" "$T/stderr"
ok "fatal errors exit 3"

# a missing input is a failed item: the others still run, exit 1
expect_exit 1 "$IMGBATCH" transform -o "$T/o" --report "$T/r.jsonl" \
    "$T/missing.jpg" "$T/in"
assert_grep "cannot transform '$T/missing.jpg': cannot read: No such file" \
    "$T/stderr"
json_check "$T/r.jsonl" 'len(items) == 1 and items[0]["status"] == "failed" and summary["failed"] == 1'
ok "missing input is a failed item"
