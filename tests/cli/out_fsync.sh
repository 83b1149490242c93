# Outputs and downloads are durable before they get their final names:
# each temp file is fsync'ed before it is renamed (and its folder after),
# so a power cut after a "successful" night cannot leave empty files under
# final names. --no-fsync skips every fsync. Checked with strace.
. "$IB_TESTS/cli/lib.sh"
command -v strace >/dev/null || { echo "skip: no strace"; exit 0; }

mkdir -p "$T/in/sub" "$T/srv"
convert -size 64x48 xc:tomato "$T/in/a.jpg"
convert -size 64x48 xc:navy "$T/in/sub/b.png"
cp "$T/in/a.jpg" "$T/srv/c.jpg"
cp "$T/in/sub/b.png" "$T/srv/d.png"

# traced LOG CMD...: runs CMD under strace, following the workers
traced() {
    local log=$1
    shift
    # LeakSanitizer cannot run under ptrace (the sanitizer build)
    ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0" \
    strace -f -y -qq -o "$log" \
        -e trace=fsync,fdatasync,rename,renameat,renameat2 "$@" \
        >/dev/null 2>"$T/stderr" || { cat "$T/stderr" >&2; fail "$*"; }
}

# check LOG WANT: every rename of a temp file (".NAME.tmp-XXXXXX" or
# ".NAME.part.XXXXXX") into place follows an fsync of that very file in the
# same process, and the folder is fsync'ed after; WANT renames at least
cat >"$T/check.py" <<'PY'
import re, sys
log, want = sys.argv[1], int(sys.argv[2])
def same(a, b):   # strace -y paths are absolute; rename()'s may not be
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.endswith("/" + b.lstrip("./")) or \
        b.endswith("/" + a.lstrip("./"))
synced, pending, renames = {}, [], 0
for line in open(log):
    # a call may be split by another process's: "<unfinished ...>"
    m = re.match(r"(\d+)\s+f(?:data)?sync\(\d+<([^>]*)>", line)
    if m:
        pid, path = m.groups()
        synced.setdefault(pid, []).append(path)
        pending = [(p, f) for p, f in pending if p != pid or not same(f, path)]
        continue
    m = re.match(r'(\d+)\s+rename(?:at2?)?\((?:\d+<([^>]*)>, )?"([^"]+)", '
                 r'(?:\d+<([^>]*)>, )?"([^"]+)"', line)
    if not m:
        continue
    pid, d1, old, d2, new = m.groups()
    if not re.search(r"/?\.[^/]+\.(tmp-|part\.)[A-Za-z0-9]{6}$", old):
        continue   # an index or a journal: not an output
    full = d1 + "/" + old if d1 else old
    if not any(same(s, full) for s in synced.get(pid, [])):
        sys.exit(f"renamed without an fsync first: {line.strip()}")
    pending.append((pid, d2 if d2 else new.rsplit("/", 1)[0]))
    renames += 1
if pending:
    sys.exit(f"folders not fsync'ed after their renames: {pending}")
if renames < want:
    sys.exit(f"{renames} renames of temp files, want at least {want}")
PY
# none LOG: no fsync at all
none() {
    ! grep -Eq "f(data)?sync\(" "$1" || { grep -E "sync\(" "$1" >&2; fail "$2"; }
}

traced "$T/t1" "$IMGBATCH" transform -o "$T/out" "$T/in" --resize 32x32
python3 "$T/check.py" "$T/t1" 2 || fail "transform: no fsync before rename"
traced "$T/t2" "$IMGBATCH" transform -o "$T/out2" "$T/in" --resize 32x32 \
    --no-fsync
none "$T/t2" "transform --no-fsync still fsyncs"
ok "transform fsyncs each output before its rename; --no-fsync does not"

start_server
printf '%s\n' "$BASE/file/c.jpg" "$BASE/file/d.png" >"$T/urls"

traced "$T/f1" "$IMGBATCH" fetch -o "$T/dl" "$T/urls"
python3 "$T/check.py" "$T/f1" 2 || fail "fetch: no fsync before rename"
traced "$T/f2" "$IMGBATCH" fetch -o "$T/dl2" "$T/urls" --no-fsync
none "$T/f2" "fetch --no-fsync still fsyncs"
ok "fetch fsyncs each download before its rename; --no-fsync does not"

traced "$T/r1" "$IMGBATCH" run "$T/urls" -o "$T/run"
python3 "$T/check.py" "$T/r1" 4 || fail "run: no fsync before rename"
traced "$T/r2" "$IMGBATCH" run "$T/urls" -o "$T/run2" --no-fsync
none "$T/r2" "run --no-fsync still fsyncs"
ok "run fsyncs downloads and outputs before their renames; --no-fsync not"
