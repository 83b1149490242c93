#!/usr/bin/env bash
# bash completion: every option of every subcommand is offered, values of
# the options that list choices complete to those choices, folders for
# DIR; and cmake --install puts the script where bash-completion looks.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$IB_TESTS/.." && pwd)
# shellcheck source=/dev/null
. "$SRC/cmd/completion.bash"
comp() {
    COMP_WORDS=("$IMGBATCH" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _imgbatch
    printf '%s\n' "${COMPREPLY[@]}" | sort
}

want=$("$IMGBATCH" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p' | sort)
[ -n "$want" ] || fail "no subcommands in --help"
got=$(comp "" | grep -v '^-' | grep -vx help)
[ "$got" = "$want" ] || fail "subcommands: got '$got', want '$want'"
for cmd in $want; do
    # an independent reading of the help: every --name at a line's start
    want_opts=$("$IMGBATCH" help "$cmd" | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' |
        grep -oE -- '--[a-z0-9-]+$' | sort)
    got_opts=$(comp "$cmd" --)
    [ "$got_opts" = "$want_opts" ] ||
        fail "$cmd: options differ: $(diff <(echo "$want_opts") <(echo "$got_opts") | tr '\n' ' ')"
    echo "# $cmd: $(echo "$got_opts" | wc -l) options"
done
ok "every option of every subcommand completes"

[ "$(comp transform --format "" | tr '\n' ' ')" = "avif jpeg png same webp " ] || fail "--format values"
[ "$(comp run --progress "" | tr '\n' ' ')" = "always auto never " ] || fail "--progress values"
[ "$(comp fetch --mode "" | tr '\n' ' ')" = "multi serial threads " ] || fail "--mode values"
[ "$(comp transform --filter l | tr '\n' ' ')" = "lanczos3 " ] || fail "--filter values"
[ "$(comp run --jpeg-subsample "" | tr '\n' ' ')" = "420 422 444 " ] || fail "--jpeg-subsample values"
mkdir -p "$T/somedir" && touch "$T/somefile"
[ "$(comp transform -o "$T/some" | tr '\n' ' ')" = "$T/somedir " ] || fail "-o completes folders only"
ok "values: choices from the help, folders for DIR"

BUILD=$(cd "$(dirname "$IMGBATCH")/.." && pwd)
cmake --install "$BUILD" --prefix "$T/inst" >/dev/null
cmp "$T/inst/share/bash-completion/completions/imgbatch" "$SRC/cmd/completion.bash" ||
    fail "not installed as share/bash-completion/completions/imgbatch"
[ -x "$T/inst/bin/imgbatch" ] || fail "cmake --install: no bin/imgbatch"
ok "cmake --install installs the completion"
