# fetch and run: per-URL names in the list (URL<TAB>NAME, as a CMS export
# writes them) name the downloads and, for run, the outputs; hostile names
# fail their own line only and never write outside the folder; two URLs
# naming one file do not overwrite each other; bad URLs (no host, another
# scheme, garbage) fail alone; Retry-After is honoured in both its forms.
. "$IB_TESTS/cli/lib.sh"
start_server
TAB=$'\t'
W=$T/work
O=$W/a/b/out        # deep enough that ../../ would land inside $W
mkdir -p "$O" "$T/elsewhere"
touch "$W/marker"
# a symlink planted in the folder: a name through it must not follow it
ln -s "$T/elsewhere" "$O/link"
etc_before=$(ls -l --full-time /etc/x 2>&1 || true)

{
    echo "$BASE/ok/a.jpg?size=100${TAB}shop/2024/first.jpg"
    echo "$BASE/ok/b.jpg?size=200${TAB}  plain.bin  "
    echo "$BASE/ok/c.jpg?size=300${TAB}../x"
    echo "$BASE/ok/d.jpg?size=400${TAB}/etc/x"
    echo "$BASE/ok/e.jpg?size=500${TAB}"
    echo "$BASE/ok/f.jpg?size=600${TAB}na${TAB}me"
    echo "$BASE/ok/g.jpg?size=700${TAB}same.jpg"
    echo "$BASE/ok/h.jpg?size=800${TAB}same.jpg"
    echo "$BASE/ok/i.jpg?size=900${TAB}a/../../y"
    echo "$BASE/ok/j.jpg?size=1000${TAB}link/x.jpg"
    echo "$BASE/ok/k.jpg?size=1100${TAB}.imgbatch-fetch.tsv"
    echo "$BASE/ok/l.jpg?size=1200${TAB}cr${TAB}x"$'\r'
    # a newline inside a name ends the line: the rest is a line of its own
    echo "$BASE/ok/m.jpg?size=1300${TAB}new"
    echo "line.jpg"
    echo "$BASE/ok/n.jpg?size=1400"
    echo "$BASE/etag/v.jpg${TAB}deep/er/v.jpg"
    # bad URLs, each failing alone
    echo "http:///nohost.jpg"
    echo "http://${TAB}nohost2.jpg"
    echo "ftp://127.0.0.1/x.jpg${TAB}ftp.jpg"
    echo "garbage here"
    echo "http://127.0.0.1:99999/port.jpg"
} >"$T/list"
run_fetch 1 -o "$O" --report "$T/rep" "$T/list"

# nothing outside the folder: beside $O, $W holds only the marker and the
# folders, and nothing went through the symlink
outside=$(cd "$W" && find . -path ./a/b/out -prune -o -print | sort |
    tr '\n' ' ')
[ "$outside" = ". ./a ./a/b ./marker " ] || fail "files outside: $outside"
[ -z "$(ls -A "$T/elsewhere")" ] || fail "written through the symlink"
[ "$(ls -l --full-time /etc/x 2>&1 || true)" = "$etc_before" ] ||
    fail "/etc/x touched"

expect "$T/rep" "$BASE/ok/a.jpg?size=100" status ok
expect "$T/rep" "$BASE/ok/a.jpg?size=100" file "$O/shop/2024/first.jpg"
same_body "$O/shop/2024/first.jpg" a.jpg 100
expect "$T/rep" "$BASE/ok/b.jpg?size=200" file "$O/plain.bin"
same_body "$O/plain.bin" b.jpg 200
expect "$T/rep" "$BASE/ok/n.jpg?size=1400" file "$O/n.jpg"
expect "$T/rep" "$BASE/ok/m.jpg?size=1300" file "$O/new"

# hostile names: the item fails with why, untried, and names no file
bad() {   # URL WHY
    expect "$T/rep" "$1" status failed
    expect "$T/rep" "$1" attempts 0
    expect "$T/rep" "$1" file null
    local e
    e=$(rget "$T/rep" "$1" error)
    case "$e" in *"$2"*) ;; *) fail "$1: error '$e', expected '$2'" ;; esac
}
bad "$BASE/ok/c.jpg?size=300" "bad name '../x': a '.' or '..' component"
bad "$BASE/ok/d.jpg?size=400" "bad name '/etc/x': absolute"
bad "$BASE/ok/e.jpg?size=500" "bad name '': empty"
bad "$BASE/ok/f.jpg?size=600" "bad name 'na?me': a control character"
bad "$BASE/ok/i.jpg?size=900" "bad name 'a/../../y': a '.' or '..'"
bad "$BASE/ok/k.jpg?size=1100" "starts with '.'"
bad "$BASE/ok/l.jpg?size=1200" "bad name 'cr?x': a control character"
bad "line.jpg" "not an http(s) URL"
bad "http:///nohost.jpg" "no host in the URL"
bad "http://" "no host in the URL"
bad "ftp://127.0.0.1/x.jpg" "not an http(s) URL"
bad "garbage here" "not an http(s) URL"
bad "http://127.0.0.1:99999/port.jpg" "bad URL: "
for u in c d e f i k l; do
    [ "$(hits "/ok/$u.jpg")" = 0 ] || fail "$u.jpg was requested"
done
# the symlink: tried, then refused at the rename
expect "$T/rep" "$BASE/ok/j.jpg?size=1000" status failed
e=$(rget "$T/rep" "$BASE/ok/j.jpg?size=1000" error)
case "$e" in *"'link'"*"a symlink or a file is there"*) ;;
    *) fail "symlink: error '$e'" ;; esac
# one line on stderr per failure, naming the line's URL
line="imgbatch fetch: cannot fetch '$BASE/ok/c.jpg?size=300': bad name"
line="$line '../x': a '.' or '..' component: it would leave the output folder"
grep -qxF "$line" "$T/stderr" ||
    { cat "$T/stderr" >&2; fail "no line for ../x"; }
line="imgbatch fetch: cannot fetch 'http:///nohost.jpg': no host in the URL"
grep -qxF "$line" "$T/stderr" || fail "no line for the hostless URL"
[ "$(grep -c "^imgbatch fetch: cannot fetch " "$T/stderr")" = 14 ] ||
    { cat "$T/stderr" >&2; fail "expected 14 failure lines"; }

# two URLs, one name: both kept, whole, the second beside the first
g=$(rget "$T/rep" "$BASE/ok/g.jpg?size=700" file)
h=$(rget "$T/rep" "$BASE/ok/h.jpg?size=800" file)
[ "$g" = "$O/same.jpg" ] || fail "first of a pair renamed: $g"
case "$h" in "$O"/same-????????.jpg) ;; *) fail "second of a pair: $h" ;; esac
same_body "$g" g.jpg 700
same_body "$h" h.jpg 800
json_check "$T/rep" 'summary["ok"] == 7 and summary["failed"] == 14'
no_temps "$O"
ok "fetch: listed names used, hostile ones and bad URLs fail alone"

# a rerun: the same names, and validators kept for a name with folders
run_fetch 1 -q -o "$O" --report "$T/rep2" "$T/list"
expect "$T/rep2" "$BASE/etag/v.jpg" status unchanged
expect "$T/rep2" "$BASE/ok/h.jpg?size=800" file "$h"
expect "$T/rep2" "$BASE/ok/a.jpg?size=100" file "$O/shop/2024/first.jpg"
no_temps "$O"
ok "fetch: a rerun keeps the listed names and their validators"

# Retry-After as an HTTP date: the server answers 400 to an early retry
echo "$BASE/429/dated.bin?after=2&date=1${TAB}dated.bin" >"$T/list429"
run_fetch 0 -q -o "$O" --report "$T/rep3" "$T/list429"
expect "$T/rep3" "$BASE/429/dated.bin?after=2&date=1" status ok
expect "$T/rep3" "$BASE/429/dated.bin?after=2&date=1" attempts 2
[ -s "$O/dated.bin" ] || fail "no dated.bin"
ok "fetch: Retry-After as a date is honoured"

# run: the transformed output is named after the listed name, the output
# format's extension per the usual rule; a hostile name fails at fetch
convert -size 64x48 gradient:red-blue "$T/srv/a.png"
convert -size 40x30 plasma:fractal -seed 3 "jpg:$T/srv/b.jpg"
{
    echo "$BASE/file/a.png${TAB}products/red.png"
    echo "$BASE/file/b.jpg${TAB}products/blue.jpg"
    echo "$BASE/file/b.jpg?v=2${TAB}products/blue.jpg"
    echo "$BASE/file/a.png?v=3${TAB}../evil.png"
    echo "http:///nohost.png${TAB}x.png"
} >"$T/rlist"
R=$T/rout
run_expect 1 "$T/rlist" -o "$R" --format jpeg --report "$T/rrep"
json_check "$T/rrep" 'summary["ok"] == 3 and summary["failed"] == 2'
expect "$T/rrep" "$BASE/file/a.png" output "$R/products/red.jpg"
[ "$(identify -format '%m %w %h' "$R/products/red.jpg")" = "JPEG 64 48" ] ||
    fail "red.jpg is not a.png's"
case "$(rget "$T/rrep" "$BASE/file/a.png" file)" in
    */products/red.png) ;; *) fail "download not named products/red.png" ;;
esac
b1=$(rget "$T/rrep" "$BASE/file/b.jpg" output)
b2=$(rget "$T/rrep" "$BASE/file/b.jpg?v=2" output)
[ "$b1" != "$b2" ] || fail "two URLs, one output: $b1"
for b in "$b1" "$b2"; do
    case "$b" in "$R"/products/*.jpg) ;; *) fail "output $b" ;; esac
    [ "$(identify -format '%w %h' "$b")" = "40 30" ] || fail "$b is not b's"
done
expect "$T/rrep" "$BASE/file/a.png?v=3" stage fetch
e=$(rget "$T/rrep" "$BASE/file/a.png?v=3" error)
case "$e" in "bad name '../evil.png': "*) ;; *) fail "run: error '$e'" ;; esac
expect "$T/rrep" "http:///nohost.png" error "no host in the URL"
[ ! -e "$T/evil.png" ] && [ ! -e "$T/evil.jpg" ] || fail "evil outside"
line="imgbatch run: cannot fetch 'http:///nohost.png': no host in the URL"
grep -qxF "$line" "$T/stderr" ||
    { cat "$T/stderr" >&2; fail "run: no line for no host"; }
ok "run: outputs named after the listed names, hostile ones fail alone"
