# An output is its input plus its recipe: changing any option that changes
# output bytes (ops, their arguments and order, --filter, --upscale,
# --format, --quality, --png-level, --progressive, orientation, --strip,
# shrink-on-load) redoes the output, in transform and in run; options that
# change no byte, an option spelled out at its default and an unchanged
# rerun redo nothing; outputs from before recipes were recorded are redone
# once.
. "$IB_TESTS/cli/lib.sh"
start_server

# x.jpg: 400x300, an ICC profile and EXIF orientation 6 (so --strip,
# --no-auto-orient and shrink-on-load each change the output's bytes)
convert -size 400x300 -seed 3 plasma:fractal -quality 90 "$T/x0.jpg"
mkdir -p "$T/g" "$T/in"
"$IB_GEN" "$T/g" >/dev/null
convert "$T/g/jpeg-icc.jpg" "$T/prof.icc"
convert "$T/x0.jpg" -profile "$T/prof.icc" "$T/x1.jpg"
python3 - "$T/g/orient-6.jpg" "$T/x1.jpg" "$T/srv/x.jpg" <<'PY'
import sys
src = open(sys.argv[1], "rb").read()
i = 2
while src[i + 1] != 0xE1:   # the EXIF (APP1) segment
    i += 2 + int.from_bytes(src[i + 2:i + 4], "big")
app1 = src[i:i + 2 + int.from_bytes(src[i + 2:i + 4], "big")]
dst = open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(dst[:2] + app1 + dst[2:])
PY
[ "$(identify -format '%[orientation]' "$T/srv/x.jpg")" = RightTop ] ||
    fail "test input has no EXIF orientation"
cp -p "$T/srv/x.jpg" "$T/in/x.jpg"
echo "$BASE/file/x.jpg" >"$T/urls"

# field REPORT KEY: the one item's string field KEY (sed, not python:
# this test reads ~300 reports)
field() {
    local n
    n=$(grep -vc '^{"summary"' "$1") || true
    [ "$n" = 1 ] || fail "$n items in $1"
    grep -v '^{"summary"' "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"
}
status() { field "$1" status; }
out_of() { field "$1" output; }

# go CMD WANT ARGS...: imgbatch CMD (transform or run) with ARGS on x.jpg
# into $T/out-CMD; the item's status must be WANT (any: ok or unchanged).
go() {
    local cmd=$1 want=$2 rc=0 got
    shift 2
    if [ "$cmd" = transform ]; then
        "$IMGBATCH" transform -o "$T/out-$cmd" "$T/in/x.jpg" "$@" \
            --report "$T/rep" 2>"$T/stderr" || rc=$?
    else
        "$IMGBATCH" run "$T/urls" -o "$T/out-$cmd" "$@" \
            --report "$T/rep" 2>"$T/stderr" || rc=$?
    fi
    [ "$rc" = 0 ] || { cat "$T/stderr" >&2; fail "exit $rc: $cmd $*"; }
    got=$(status "$T/rep")
    [ "$want" = any ] && [ "$got" != failed ] && return
    [ "$got" = "$want" ] || fail "$cmd $*: $got, want $want"
}

R="--resize 40x40"
# BEFORE | AFTER | 1 if the output's bytes must differ too
changes=(
    "$R|--resize 30x30|1"
    "$R|$R --flip|1"
    "$R --blur 2|--blur 2 $R|1"
    "$R --blur 2|$R --blur 3|1"
    "$R --sharpen 1|$R --sharpen 1,2|1"
    "$R|$R --filter box|1"
    "$R|$R --upscale|0"
    "$R|$R --format png|0"
    "$R|$R --quality 50|1"
    "$R|$R --progressive|1"
    "$R --format png|$R --format png --png-level 1|1"
    "$R|$R --no-auto-orient|1"
    "$R|$R --strip|1"
    "$R|$R --no-shrink-on-load|1"
)
# BEFORE | AFTER that makes the same bytes
same=(
    "$R|$R --max-pixels 100000000 --job-timeout 60 --worker-mem 512"
    "$R|$R --procs 1"
    "$R|$R --quality 85"
    "$R|$R --format jpeg"
    "$R --format png|$R --format png --quality 50"
)

for cmd in transform run; do
    redo=ok keep=skipped
    [ "$cmd" = run ] && keep=unchanged
    for row in "${changes[@]}"; do
        IFS='|' read -r before after bytes <<<"$row"
        # shellcheck disable=SC2086
        {
            go "$cmd" any $before
            go "$cmd" "$keep" $before
            out=$(out_of "$T/rep")
            cp "$out" "$T/before"
            go "$cmd" "$redo" $after
            [ "$bytes" = 0 ] || ! cmp -s "$T/before" "$(out_of "$T/rep")" ||
                fail "$cmd: '$after' after '$before' left the same bytes"
            go "$cmd" "$keep" $after
        }
    done
    ok "$cmd: each byte-changing option, changed alone, redoes the output"

    for row in "${same[@]}"; do
        IFS='|' read -r before after <<<"$row"
        # shellcheck disable=SC2086
        {
            go "$cmd" any $before
            go "$cmd" "$keep" $before
            go "$cmd" "$keep" $after
        }
    done
    ok "$cmd: options that change no byte redo nothing"
done

# Outputs from before recipes were recorded: transform's outputs carried
# only their input's mtime; run's journal lines had no recipe column.
go transform any $R
go transform skipped $R
o="$T/out-transform/x.jpg"
[ -z "$(find "$T/out-transform" -name '.*' ! -name .imgbatch.lock)" ] || fail "transform: dot-files"
cp "$o" "$T/plain" && mv "$T/plain" "$o"   # no extended attributes
touch -r "$T/in/x.jpg" "$o"
go transform ok $R
go transform skipped $R
ok "transform: an output with no recorded recipe is redone once"

go run any $R
go run unchanged $R
j="$T/out-run/.imgbatch-run.tsv"
grep -q "^r1	" "$j" || fail "journal lines carry no recipe"
# the journal as the code before recipes wrote it
python3 - "$j" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
old = []
for l in lines:
    f = l.split("\t")
    old.append("\t".join(f[1:5] + f[6:]))
open(sys.argv[1], "w").write("\n".join(old) + "\n")
PY
go run ok $R
go run unchanged $R
ok "run: a journal line with no recipe redoes its output once"
