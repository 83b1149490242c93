#!/usr/bin/env bash
# Renditions at their edges, through the CLI: malformed --size/--width
# values are usage errors; -v names every rendition an item made, on one
# line per item.
. "$IB_TESTS/cli/lib.sh"

mkdir -p "$T/in"
convert -seed 3 -size 400x300 plasma:fractal -quality 95 "$T/in/photo.jpg"

# --- malformed sizes: exit 2, one message line plus the usual hint ------
for v in 1x 10x x 0x10 10x0 -5 10xx5 ' 10' '10 ' '10x 5' 99999999999 \
         1000001 '' , 10, ,10 10,,20 0 abc 10X5 10x5x2 +10; do
    for opt in --size --width; do
        expect_exit 2 "$IMGBATCH" transform -o "$T/o" "$opt" "$v" \
            "$T/in/photo.jpg"
        first=$(head -1 "$T/stderr")
        want="imgbatch transform: invalid $opt '$v' ("
        [ "${first:0:${#want}}" = "$want" ] || fail "$opt '$v': $first"
        [ "$(wc -l <"$T/stderr")" = 2 ] &&
            grep -q "^hint: see 'imgbatch help transform'" "$T/stderr" ||
            fail "$opt '$v': not one line and the hint: $(cat "$T/stderr")"
    done
done
[ ! -e "$T/o" ] || fail "a usage error created the output folder"
# a box or a format's quality given twice names what came twice
twice() {   # want args...
    local want=$1
    shift
    expect_exit 2 "$IMGBATCH" transform -o "$T/o" "$@" "$T/in/photo.jpg"
    [ "$(head -1 "$T/stderr")" = "imgbatch transform: $want" ] ||
        fail "$*: $(head -1 "$T/stderr")"
}
twice "invalid --size '480,480': size 480w given twice (--size and --width make one list)" \
    --size 480,480
twice "invalid --width '480': size 480w given twice (--size and --width make one list)" \
    --size 480 --width 480
twice "invalid --size '100': size 100w given twice (--size and --width make one list)" \
    --width 100 --size 100
twice "invalid --size '20,10x5': size 10x5 given twice (--size and --width make one list)" \
    --size 10x5 --size 20,10x5
twice "invalid --quality 'webp=80,webp=90': webp given twice" \
    --quality webp=80,webp=90
twice "invalid --quality 'jpeg=80,avif=40,jpg=90': jpeg given twice" \
    --quality jpeg=80,avif=40,jpg=90
twice "invalid --format 'jpg,png,jpeg': jpeg given twice" \
    --format jpg,png,jpeg
twice "invalid --format 'webp,webp': webp given twice" --format webp,webp
[ ! -e "$T/o" ] || fail "a usage error created the output folder"
# what is right stays right
for v in 10 x10 10x20 10,20x20,x30 1000000; do
    expect_exit 0 "$IMGBATCH" transform -q --size "$v" -o "$T/ok" \
        "$T/in/photo.jpg"
done
ok "--size/--width: empty or malformed sides, signs, blanks, out of range, repeats: usage errors; --quality repeats too"

# --- -v: one line per item, every rendition made named ------------------
expect_exit 0 "$IMGBATCH" transform -v --width 100,200 --format jpeg,webp \
    -o "$T/v" "$T/in/photo.jpg"
lines=$(grep -c "^ok '" "$T/stderr")
[ "$lines" = 1 ] || fail "-v: $lines ok lines for one item: $(cat "$T/stderr")"
line=$(grep "^ok '" "$T/stderr")
for f in photo-100w.jpg photo-100w.webp photo-200w.jpg photo-200w.webp; do
    case $line in
    *"/$f' ("*) ;;
    *) fail "-v does not name $f: $line" ;;
    esac
done
case $line in *"photo-200w.webp' (200x150)"*) ;; *) fail "-v sizes: $line" ;; esac
# one format's quality changed: the two redone are named, the rest counted
expect_exit 0 "$IMGBATCH" transform -v --width 100,200 --format jpeg,webp \
    --quality webp=60 -o "$T/v" "$T/in/photo.jpg"
line=$(grep "^ok '" "$T/stderr")
case $line in
*"photo-100w.webp' (100x75), '"*"photo-200w.webp' (200x150); 2 up to date") ;;
*) fail "-v after a quality change: $line" ;;
esac
case $line in *w.jpg\'*) fail "-v names an output not made: $line" ;; esac
# nothing to do: one line, the count
expect_exit 0 "$IMGBATCH" transform -v --width 100,200 --format jpeg,webp \
    --quality webp=60 -o "$T/v" "$T/in/photo.jpg"
assert_grep "^skipped '.*photo.jpg': its 4 renditions are up to date$" \
    "$T/stderr"
# one rendition: the line is as it always was
expect_exit 0 "$IMGBATCH" transform -v -o "$T/one" "$T/in/photo.jpg"
assert_grep "^ok '.*photo.jpg' -> '.*one/photo.jpg' (400x300)$" "$T/stderr"
ok "-v names every rendition made, one line per item"

# --- output names of 244..255 bytes: their temp names are shortened -----
long() { printf "%${1}s" "" | tr ' ' "$2"; }
mkdir -p "$T/long"
for n in 240 244 251; do   # stems; + ".png" / ".jpg": 244, 248, 255 bytes
    convert -size 20x10 xc:red "$T/long/$(long $n x).png"
done
expect_exit 0 "$IMGBATCH" transform -q -o "$T/lo" --report "$T/lo.jsonl" \
    "$T/long"
json_check "$T/lo.jsonl" "summary['ok'] == 3 and summary['failed'] == 0"
for n in 240 244 251; do
    [ "$(dims "$T/lo/$(long $n x).png")" = "20 10" ] || fail "no $n-byte stem output"
done
# renditions too, a name of exactly NAME_MAX from a template
mkdir -p "$T/long2"
convert -size 20x10 xc:red "$T/long2/$(long 248 y).png"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/lr" --width 8,16 \
    --format jpeg,png --name "{stem}-{w}.{ext}" "$T/long2"
for f in 8.jpg 8.png 16.jpg 16.png; do
    [ -f "$T/lr/$(long 248 y)-$f" ] || fail "no rendition $f of a long name"
done
[ -z "$(find "$T/lo" "$T/lr" -name '*.tmp-*')" ] || fail "temp files left"
# a killed run's temp file of a long name (its shortened stem) is swept by
# an unsharded run; a --shard copy cannot tell whose it is and keeps it
stale=".$(long 226 x)~0123456789abcdef.tmp-AbC123"
[ ${#stale} = 255 ] || fail "test setup: ${#stale}"
echo left >"$T/lo/$stale"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/lo" --shard 0/2 "$T/long"
[ -e "$T/lo/$stale" ] || fail "a --shard copy removed a temp file it cannot own"
expect_exit 0 "$IMGBATCH" transform -q -o "$T/lo" "$T/long"
[ ! -e "$T/lo/$stale" ] || fail "an unsharded run left a long name's temp file"
ok "output names of 244..255 bytes are written (shortened temp names) and swept"

# --- an error naming a long path keeps its end --------------------------
# (the message once went through a 256-byte buffer in the pool's result)
a=$(long 200 d) b=$(long 200 e)
mkdir -p "$T/deep/$a/$b" "$T/dout/$a"
convert -size 20x10 xc:red "$T/deep/$a/$b/x.png"
ln -s "$T" "$T/dout/$a/$b"   # an output folder that is a symlink: refused
for engine in procs omp serial; do
    for w in '' 8,16; do
        expect_exit 1 "$IMGBATCH" transform -o "$T/dout" --engine "$engine" \
            ${w:+--width "$w"} --report "$T/deep.jsonl" "$T/deep"
        tail="$a/$b' is a symlink, not followed"
        grep -qF -- "$tail" "$T/stderr" || fail "$engine: cut: $(cat "$T/stderr")"
        json_check "$T/deep.jsonl" "len(items) == 1 and items[0]['error'].endswith(\"/$b' is a symlink, not followed\") and len(items[0]['error']) > 400"
    done
done
ok "an error naming a long path is whole on stderr and in the report, on every engine"
