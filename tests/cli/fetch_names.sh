# fetch: names from hostile URL paths stay inside --out; collisions get
# distinct, complete, deterministic files.
. "$IB_TESTS/cli/lib.sh"
start_server
W=$T/work
O=$W/a/b/c/d/out   # deep enough that ../../../ would land inside $W
mkdir -p "$O"
touch "$W/marker"

cat >"$T/list" <<EOF
$BASE/any/..%2f..%2f..%2fevil1.txt
$BASE/any/%2e%2e%2f%2e%2e%2fevil2.txt
$BASE/any/%2E%2E%2F%2E%2E%2Fevil3.txt
$BASE/../../evil4.txt
$BASE/any/x/..%5c..%5cevil5.txt
$BASE/any/%2e%2e
$BASE/any/.hidden
$BASE/any/nul%00byte.txt
$BASE/any/
$BASE/any/a/cat.jpg?size=100
$BASE/any/b/cat.jpg?size=200
$BASE/any/c/cat.jpg?size=300
EOF
run_fetch 1 -q -o "$O" --report "$T/rep" "$T/list"

# nothing outside --out: beside $O, $W holds only the marker and the dirs
outside=$(cd "$W" && find . -path ./a/b/c/d/out -prune -o -print | sort |
    tr '\n' ' ')
[ "$outside" = ". ./a ./a/b ./a/b/c ./a/b/c/d ./marker " ] ||
    fail "files outside --out: $outside"
[ -z "$(find "$T" -maxdepth 1 -name 'evil*')" ] || fail "evil file in $T"

# every file landed directly in $O, under a safe name
while read -r url; do
    st=$(rget "$T/rep" "$url" status)
    f=$(rget "$T/rep" "$url" file)
    case "$url" in */../../evil4.txt)
        # curl resolves the dot segments itself: /evil4.txt, a 404
        [ "$st" = failed ] || fail "evil4: $st"; continue ;;
    esac
    # a report's file is a path: the folder as given, then the name
    [ "${f#"$O/"}" != "$f" ] || fail "$url: '$f' not in $O"
    f=${f#"$O/"}
    [ "$st" = ok ] || fail "$url: status $st"
    case "$f" in .* | */* | '') fail "unsafe name '$f' for $url" ;; esac
    [ -f "$O/$f" ] || fail "$url: no file $O/$f"
done <"$T/list"
expect "$T/rep" "$BASE/any/..%2f..%2f..%2fevil1.txt" file "$O/_.._.._evil1.txt"
expect "$T/rep" "$BASE/any/%2e%2e%2f%2e%2e%2fevil2.txt" file "$O/_.._evil2.txt"
expect "$T/rep" "$BASE/any/%2e%2e" file "$O/index"
expect "$T/rep" "$BASE/any/.hidden" file "$O/hidden"
expect "$T/rep" "$BASE/any/nul%00byte.txt" file "$O/nul_byte.txt"

# three cat.jpg URLs: three files, each the complete body of its URL
a=$(rget "$T/rep" "$BASE/any/a/cat.jpg?size=100" file)
b=$(rget "$T/rep" "$BASE/any/b/cat.jpg?size=200" file)
c=$(rget "$T/rep" "$BASE/any/c/cat.jpg?size=300" file)
a=${a#"$O/"} b=${b#"$O/"} c=${c#"$O/"}
[ "$a" != "$b" ] && [ "$b" != "$c" ] && [ "$a" != "$c" ] ||
    fail "colliding names: $a $b $c"
[ "$a" = cat.jpg ] || fail "first URL should keep its plain name, got $a"
case "$b" in cat-????????.jpg) ;; *) fail "hashed name $b" ;; esac
same_body "$O/$a" cat.jpg 100
same_body "$O/$b" cat.jpg 200
same_body "$O/$c" cat.jpg 300
no_temps "$O"

# deterministic: a fresh folder, the same list, the same names
run_fetch 1 -q -o "$T/out2" --report "$T/rep2" "$T/list"
while read -r url; do
    a=$(rget "$T/rep" "$url" file) b=$(rget "$T/rep2" "$url" file)
    [ "${a#"$O/"}" = "${b#"$T/out2/"}" ] ||
        fail "name of $url changed between runs"
done <"$T/list"
echo "fetch_names: ok"
