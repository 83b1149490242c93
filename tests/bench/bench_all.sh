#!/usr/bin/env bash
# Every benchmark, one command (run by hand as root on Debian 12, never by
# ctest; about 15-20 minutes on 2 cores):
#
#   tests/bench/bench_all.sh
#
# 1. installs the competing tools and the wallpaper packages from Debian
#    (libvips-tools imagemagick graphicsmagick aria2 nginx-light hyperfine
#    gnuplot-nox time, mate-backgrounds plasma-workspace-wallpapers
#    lomiri-wallpapers) and imgbatch's build dependencies (scripts/deps.sh);
# 2. builds imgbatch Release with bench_pool (-DIMGBATCH_BENCH=ON) in $BUILD;
# 3. runs bench_transform.sh (which also builds the real-photo corpus from
#    the wallpapers in $BENCH_DIR/corpus), bench_pool.sh, bench_fetch.sh and
#    imgbatch bench, each interleaving its contenders, medians reported;
# 4. rewrites its own sections of docs/BENCHMARKS.md (the top,
#    imgbatch bench, Pool, Downloads, Transform operations) and the plots
#    docs/bench-*.png; every other section of the file is kept as it is.
#
# Environment: BUILD (default build-bench), BENCH_DIR (default
# /tmp/imgbatch-bench), RUNS (pool, default 3), FETCH_RUNS (default 5),
# TRANSFORM_RUNS (default 3), NO_INSTALL=1 to skip apt-get, SKIP="transform
# pool fetch builtin" (any of them) to keep those sections as they are.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
export BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench}
SKIP=${SKIP:-}
DOC=$ROOT/docs/BENCHMARKS.md
SECT=$BENCH_DIR/sections
T0=$(date +%s)
log() { echo "bench_all: $* ($(($(date +%s) - T0)) s)" >&2; }
skip() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }

if [ "${NO_INSTALL:-}" != 1 ]; then
    log "installing tools"
    bash "$ROOT/scripts/deps.sh" >&2
    want=(libvips-tools imagemagick graphicsmagick aria2 nginx-light
          hyperfine gnuplot-nox time bc mate-backgrounds
          plasma-workspace-wallpapers lomiri-wallpapers)
    missing=()
    for p in "${want[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        # a package this release lacks is left out, not fatal
        avail=()
        for p in "${missing[@]}"; do
            apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]' &&
                avail+=("$p")
        done
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${avail[@]}" >&2
    fi
fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "building $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DIMGBATCH_BENCH=ON \
    >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
IMGBATCH=$BUILD/cmd/imgbatch
mkdir -p "$BENCH_DIR" "$SECT"

# bench_transform.sh builds the corpus the pool benchmark uses
if ! skip transform || [ ! -f "$BENCH_DIR/corpus/.done" ]; then
    log "transform: imgbatch vs vipsthumbnail, ImageMagick, GraphicsMagick"
    RUNS=${TRANSFORM_RUNS:-3} NO_INSTALL=1 \
        bash "$ROOT/tests/bench/bench_transform.sh" "$IMGBATCH" \
        >"$SECT/transform.md"
fi
if ! skip pool; then
    log "pool: engines against workers, stages, dispatch, memory"
    RUNS=${RUNS:-3} BENCH_POOL=$BUILD/pool/bench_pool DOCS=$ROOT/docs \
        bash "$ROOT/tests/bench/bench_pool.sh" "$IMGBATCH" >"$SECT/pool.md"
fi
if ! skip fetch; then
    log "fetch: imgbatch vs aria2c, curl --parallel, xargs curl"
    RUNS=${FETCH_RUNS:-5} DOCS=$ROOT/docs \
        bash "$ROOT/tests/bench/bench_fetch.sh" "$IMGBATCH" >"$SECT/fetch.md"
fi
if ! skip builtin; then
    log "imgbatch bench"
    "$IMGBATCH" bench >"$SECT/builtin.txt"
fi
log "writing $DOC"

# ---- the top of the document: machine, versions, commands ----
ver() { "$@" 2>&1 | head -1; }
{
    echo "# Benchmarks"
    echo
    echo "Written by \`tests/bench/bench_all.sh\` ($(date -u +%F),"
    echo "imgbatch $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), Release build)."
    echo "Every figure is a median of interleaved runs (A B C A B C ...), and"
    echo "every ratio compares tools measured in the same run on the same cores."
    echo
    echo "Load average (1, 5, 15 min) when the run began: $LOAD_START; at the"
    echo "end: $(cut -d' ' -f1-3 /proc/loadavg). The benchmarks themselves load"
    echo "the machine; a load well above 0 at the start means other jobs shared"
    echo "the cores, and then speedups over 1 worker understate the engines."
    echo "Rerun \`bench_all.sh\` on your own machine, or \`imgbatch bench\` for"
    echo "the concurrency models alone."
    echo
    echo "## Machine and versions"
    echo
    echo "| | |"
    echo "|---|---|"
    echo "| CPU | $(lscpu | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2; exit}'), $(nproc) CPUs online ($(lscpu | awk -F: '/^Thread\(s\) per core/ {gsub(/ /,"",$2); print $2}') thread(s) per core), $(lscpu | awk -F: '/^L3 cache/ {gsub(/^ +/,"",$2); print $2}') L3 |"
    echo "| RAM | $(free -g | awk '/Mem:/ {print $2}') GiB |"
    echo "| OS | Debian $(cat /etc/debian_version), $(uname -sr) |"
    echo "| compiler | $(ver cc --version) |"
    echo "| imgbatch | $("$IMGBATCH" --version) |"
    echo "| libjpeg-turbo, libpng | $(dpkg-query -W -f='${Version}' libjpeg62-turbo), $(dpkg-query -W -f='${Version}' libpng16-16) |"
    echo "| vips | $(ver vips --version) |"
    echo "| ImageMagick | $(convert -version | head -1 | cut -d' ' -f2-3) |"
    echo "| GraphicsMagick | $(gm version | head -1 | cut -d' ' -f2) |"
    echo "| aria2 | $(ver aria2c --version | cut -d' ' -f3) |"
    echo "| curl | $(ver curl --version | cut -d' ' -f2) |"
    echo "| nginx | $(nginx -v 2>&1 | sed 's|.*/||') |"
    echo "| Python (tests/server.py) | $(python3 --version | cut -d' ' -f2) |"
    echo "| gnuplot | $(gnuplot --version | cut -d' ' -f2) |"
    echo
    echo "To reproduce (as root on Debian 12; installs what is missing):"
    echo
    echo '```sh'
    echo "tests/bench/bench_all.sh                       # everything, this file"
    echo "tests/bench/bench_transform.sh build-bench/cmd/imgbatch   # one part"
    echo "tests/bench/bench_pool.sh build-bench/cmd/imgbatch"
    echo "tests/bench/bench_fetch.sh build-bench/cmd/imgbatch"
    echo "build-bench/cmd/imgbatch bench [--quick] [--json]"
    echo '```'
    echo
    echo "Corpus (\`\$BENCH_DIR/corpus\`, made by bench_transform.sh): every JPEG"
    echo "of Debian's mate-backgrounds, plasma-workspace-wallpapers and"
    echo "lomiri-wallpapers of at least 1 MP (the largest size of each), plus"
    echo "12 and 24 MP camera-sized images made by tiling crops of them (never"
    echo "rescaled): $(ls "$BENCH_DIR"/corpus/*.jpg | wc -l) files, $(du -sh "$BENCH_DIR/corpus" | cut -f1)."
} >"$SECT/top.md"

if [ -f "$SECT/builtin.txt" ]; then
    {
        echo "## \`imgbatch bench\` on this machine"
        echo
        echo "The built-in comparison of the concurrency models (synthetic"
        echo "images, a loopback server in the process; see \`imgbatch help"
        echo "bench\`). Its measurement order is fixed: the process engine is"
        echo "measured first, before any thread exists; then the downloads (the"
        echo "server and fetch threads, all ended before going on); OpenMP last,"
        echo "since nothing may fork once OpenMP threads exist."
        echo
        echo '```'
        cat "$SECT/builtin.txt"
        echo '```'
    } >"$SECT/builtin.md"
fi
[ -f "$SECT/pool.md" ] && { printf '## Pool: engines and workers\n\n'; cat "$SECT/pool.md"; } >"$SECT/pool-h.md"
[ -f "$SECT/fetch.md" ] && { printf '## Downloads: imgbatch fetch against aria2c and curl\n\n'; cat "$SECT/fetch.md"; } >"$SECT/fetch-h.md"

python3 - "$DOC" "$SECT" <<'PY'
"""Replaces (or inserts) this script's sections of BENCHMARKS.md by their
"## " heading, keeping every other section where it is."""
import os, re, sys
doc, sect = sys.argv[1], sys.argv[2]
old = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
parts = re.split(r"(?m)^(?=## )", old)
top, secs = parts[0], parts[1:]
def read(name):
    p = os.path.join(sect, name)
    return open(p).read().rstrip("\n") + "\n\n" if os.path.exists(p) else None
new_top = read("top.md")
if new_top:
    # top.md carries "## Machine and versions" as its own section
    head, _, machine = new_top.partition("## Machine and versions")
    top = head
    generated = [("## Machine and versions", "## Machine and versions" + machine)]
else:
    generated = []
for prefix, name in [("## `imgbatch bench`", "builtin.md"),
                     ("## Pool:", "pool-h.md"),
                     ("## Downloads:", "fetch-h.md"),
                     ("## Transform operations", "transform.md")]:
    text = read(name)
    if text:
        generated.append((prefix, text))
at = 0
for prefix, text in generated:
    idx = [i for i, s in enumerate(secs) if s.startswith(prefix)]
    if idx:
        secs[idx[0]] = text
        at = idx[0] + 1
    else:
        secs.insert(at, text)
        at += 1
out = top + "".join(s if s.endswith("\n\n") else s.rstrip("\n") + "\n\n"
                    for s in secs)
open(doc, "w").write(out.rstrip("\n") + "\n")
PY
log "done: $DOC"
