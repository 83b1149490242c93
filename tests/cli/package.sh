#!/usr/bin/env bash
# The Debian package: cpack -G DEB builds imgbatch_<version>_<arch>.deb from
# this build; dpkg installs it, the installed imgbatch and its man page
# work, dpkg removes it and nothing of it is left. Needs root (dpkg -i):
# without it the test reports itself skipped (exit 77), never passed.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: installing a .deb needs root (CI runs as root)"
    exit 77
fi
if dpkg-query -W -f='${Status}' imgbatch 2>/dev/null | grep -q installed; then
    fail "an imgbatch package is installed already; not touching it"
fi
BUILD=$(cd "$(dirname "$IMGBATCH")/.." && pwd)
(cd "$BUILD" && cpack -G DEB -B "$T/pkg") >"$T/cpack.log" 2>&1 ||
    { cat "$T/cpack.log"; fail "cpack failed"; }
deb=$(ls "$T"/pkg/imgbatch_*.deb)
dpkg-deb -f "$deb" Depends >"$T/depends"
for lib in libcurl4 libjpeg62-turbo libpng16-16 libc6; do
    assert_grep "$lib" "$T/depends"
done
ok "cpack made $(basename "$deb"), Depends: $(cat "$T/depends")"

at_exit 'dpkg -r imgbatch >/dev/null 2>&1 || true'
# a minimal image may exclude man pages from every package: not this one's
dpkg -i --path-include='/usr/share/man/man1/imgbatch.1' "$deb" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -i failed"; }
[ "$(command -v imgbatch)" = /usr/bin/imgbatch ] || fail "not on PATH as /usr/bin/imgbatch"
want=$("$IMGBATCH" --version)
[ "$(/usr/bin/imgbatch --version)" = "$want" ] || fail "installed --version differs"
man -w imgbatch >"$T/man" || fail "man -w imgbatch found no page"
assert_grep "^/usr/share/man/man1/imgbatch.1" "$T/man"
[ -f /usr/share/bash-completion/completions/imgbatch ] || fail "no bash completion installed"
# the installed binary does a real job
gen "$T/in"
expect_exit 1 /usr/bin/imgbatch transform -q -o "$T/out" --resize 64x64 "$T/in"
ls "$T"/out/*.jpg >/dev/null || fail "the installed imgbatch wrote nothing"
ok "installed: /usr/bin/imgbatch runs, man -w finds its page"

dpkg -r imgbatch >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -r failed"; }
[ ! -e /usr/bin/imgbatch ] && [ ! -e /usr/share/man/man1/imgbatch.1 ] ||
    fail "files left after dpkg -r"
ok "dpkg -r removes it"
