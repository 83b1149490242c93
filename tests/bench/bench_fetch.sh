#!/usr/bin/env bash
# Fetch benchmark, run by hand (never by ctest): imgbatch fetch (multi,
# threads, serial) against aria2c, curl --parallel and xargs -P curl, on
# 127.0.0.1, files/s against concurrency. Writes a Markdown section to
# stdout, raw timings to $BENCH_DIR/fetch-*, a plot to $DOCS.
#
#   tests/bench/bench_fetch.sh [IMGBATCH]
#
# Environment: BENCH_DIR (default /tmp/imgbatch-bench), RUNS (default 5),
# DOCS (default docs/ of this repository), SMALL (1000 files), DELAYED
# (300 URLs), DELAY_MS (30).
#
# Two servers, two questions:
#   nginx      SMALL files of 1-16 kB plus 40 photographs from the corpus,
#              no delay: what each client costs per file when the server
#              answers at once (client overhead, connection reuse)
#   server.py  tests/server.py /delay: every reply waits DELAY_MS, as a
#              distant or busy server does: how well each client overlaps
#              waiting (nginx cannot delay a reply without modules)
# Each round runs every (client, concurrency) once, RUNS rounds, medians;
# aria2c only in the first round: it manages ~70 files/s whatever the
# concurrency, and RUNS rounds of it would take most of the time budget.
# xargs gets ceil(URLs / N) URLs per curl, so that all N processes have
# work and each reuses its connection: the best split xargs can do.
# Every run must leave exactly one file per URL, or the script stops.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMGBATCH=${1:-${IMGBATCH:-$ROOT/build/cmd/imgbatch}}
BENCH_DIR=${BENCH_DIR:-/tmp/imgbatch-bench}
RUNS=${RUNS:-5}
DOCS=${DOCS:-$ROOT/docs}
SMALL=${SMALL:-1000}
DELAYED=${DELAYED:-300}
DELAY_MS=${DELAY_MS:-30}
[ -x "$IMGBATCH" ] || { echo "no imgbatch at $IMGBATCH (build first)" >&2; exit 2; }
for t in nginx aria2c curl gnuplot; do
    command -v $t >/dev/null || { echo "no $t: see bench_all.sh" >&2; exit 2; }
done
mkdir -p "$DOCS"
W=$BENCH_DIR/fetch
rm -rf "$W"
mkdir -p "$W/www" "$W/nginx"
chmod 755 "$BENCH_DIR" "$W" "$W/www"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# the files nginx serves
python3 - "$W/www" "$SMALL" <<'PY'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
r = random.Random(1)
for i in range(n):
    with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
        f.write(r.randbytes(r.randint(1000, 16000)))
PY
n_img=0
for f in $(ls "$BENCH_DIR"/corpus/w*.jpg 2>/dev/null | head -40); do
    cp "$f" "$W/www/"
    n_img=$((n_img + 1))
done
chmod -R a+rX "$W/www"

NGINX_PORT=$(free_port)
cat >"$W/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path $W/nginx/body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $W/www;
    }
}
CONF
nginx -c "$W/nginx/nginx.conf" &
NGINX_PID=$!
python3 "$ROOT/tests/server.py" "$W/port" &
PY_PID=$!
trap 'kill $NGINX_PID $PY_PID 2>/dev/null; wait 2>/dev/null || true' EXIT
for i in $(seq 100); do
    [ -s "$W/port" ] && curl -sf "http://127.0.0.1:$NGINX_PORT/f00000.bin" \
        -o /dev/null && break
    sleep 0.1
done
PY_PORT=$(cat "$W/port")

(cd "$W/www" && ls) | sed "s|^|http://127.0.0.1:$NGINX_PORT/|" >"$W/list-nginx"
seq -f "http://127.0.0.1:$PY_PORT/delay/d%05g.bin?ms=$DELAY_MS&size=20000" \
    0 $((DELAYED - 1)) >"$W/list-delay"
for l in nginx delay; do
    sed 's/.*/url = "&"/' "$W/list-$l" >"$W/curl-$l.cfg"
done

# one CLIENT CONC LIST: seconds for one run into a fresh folder
one() {
    local client=$1 c=$2 list=$W/list-$3 d=$W/out n t0 t1
    rm -rf "$d"
    mkdir -p "$d"
    t0=$(now)
    case "$client" in
    imgbatch-multi|imgbatch-threads|imgbatch-serial)
        "$IMGBATCH" fetch -q --progress never --retries 0 \
            --mode "${client#imgbatch-}" -c "$c" --per-host "$c" \
            -o "$d" "$list" ;;
    aria2c)
        aria2c -q -i "$list" -d "$d" -j "$c" --max-connection-per-server=1 \
            --split=1 --file-allocation=none --allow-overwrite=true \
            --auto-file-renaming=false --async-dns=false ;;
    curl-parallel)
        curl -s --no-progress-meter --fail -Z --parallel-max "$c" \
            --remote-name-all \
            --output-dir "$d" -K "$W/curl-$3.cfg" ;;
    xargs-curl)
        local per=$((($(wc -l <"$list") + c - 1) / c))
        (cd "$d" && xargs -P "$c" -n $per curl -s --fail --remote-name-all \
            <"$list") ;;
    esac
    t1=$(now)
    n=$(ls "$d" | wc -l)
    [ "$n" = "$(wc -l <"$list")" ] ||
        { echo "$client -c $c on $3: $n files, want $(wc -l <"$list")" >&2; exit 1; }
    echo "$t1 - $t0" | bc -l
}

CLIENTS=(imgbatch-multi imgbatch-threads aria2c curl-parallel xargs-curl)
declare -A CONCS=([nginx]="1 4 16 64" [delay]="4 16 64")
for l in nginx delay; do
    for c in imgbatch-serial "${CLIENTS[@]}"; do
        for k in ${CONCS[$l]}; do : >"$W/t-$l-$c-$k"; done
    done
    one imgbatch-multi 16 $l >/dev/null   # warm up
    for ((r = 0; r < RUNS; r++)); do
        one imgbatch-serial 1 $l >>"$W/t-$l-imgbatch-serial-1"
        for k in ${CONCS[$l]}; do
            for c in "${CLIENTS[@]}"; do
                [ $c = aria2c ] && [ $r -gt 0 ] && continue
                one $c $k $l >>"$W/t-$l-$c-$k"
            done
        done
    done
done
rate() { echo "$(wc -l <"$W/list-$1") / $(median <"$W/t-$1-$2-$3")" | bc -l; }

section() {
    local l=$1 k c
    echo "| client | ${CONCS[$l]// / | } |"
    echo "|---|$(for k in ${CONCS[$l]}; do printf -- '---:|'; done)"
    printf '| imgbatch fetch --mode serial | %.0f (c=1) |' "$(rate $l imgbatch-serial 1)"
    for k in ${CONCS[$l]}; do [ "$k" = 1 ] || printf ' |'; done
    echo
    for c in "${CLIENTS[@]}"; do
        printf '| %s |' "$c"
        for k in ${CONCS[$l]}; do printf ' %.0f |' "$(rate $l $c $k)"; done
        echo
    done
    printf '| **imgbatch-multi / best other tool** |'
    for k in ${CONCS[$l]}; do
        local best=0 r
        for c in aria2c curl-parallel xargs-curl; do
            r=$(rate $l $c $k)
            best=$(echo "if ($r > $best) $r else $best" | bc -l)
        done
        printf ' **%.2fx** |' "$(echo "$(rate $l imgbatch-multi $k) / $best" | bc -l)"
    done
    echo
    : >"$W/$l.dat"
    for k in ${CONCS[$l]}; do
        printf '%s' "$k" >>"$W/$l.dat"
        for c in "${CLIENTS[@]}"; do printf ' %.2f' "$(rate $l $c $k)" >>"$W/$l.dat"; done
        echo >>"$W/$l.dat"
    done
}

echo "### Downloads: nginx, no delay"
echo
echo "$SMALL files of 1-16 kB and $n_img photographs ($(du -sh "$W/www" | cut -f1)"
echo "in all) from nginx $(nginx -v 2>&1 | sed 's|.*/||') on 127.0.0.1; files/s, median of"
echo "$RUNS interleaved rounds; columns are the concurrency (-c, -j,"
echo "--parallel-max, -P); aria2c: one run (see the script)."
echo
section nginx
echo
echo "### Downloads: every reply delayed $DELAY_MS ms"
echo
echo "$DELAYED URLs of 20 kB from tests/server.py (Python, one thread per"
echo "connection) whose /delay route waits $DELAY_MS ms before each reply;"
echo "files/s, median of $RUNS interleaved rounds (aria2c: one run). The ideal is"
echo "concurrency x $((1000 / DELAY_MS)) files/s; at 64 the Python server"
echo "itself is near its limit on this machine."
echo
section delay
echo
gnuplot <<GP
set terminal pngcairo size 960,420 noenhanced
set output "$DOCS/bench-fetch.png"
set multiplot layout 1,2 title "files/s against concurrency, 127.0.0.1, $(nproc) CPUs"
set logscale xy 2
set xlabel "concurrency"
set ylabel "files/s"
set grid
set key bottom right font ",9"
set xtics (1, 4, 16, 64)
set xrange [0.8:90]
set title "nginx, no delay ($SMALL small files + $n_img photos)"
plot for [i=2:6] "$W/nginx.dat" using 1:i with linespoints lw 2 \
    title word("imgbatch-multi imgbatch-threads aria2c curl-parallel xargs-curl", i-1)
set title "server.py, $DELAY_MS ms per reply ($DELAYED URLs)"
plot for [i=2:6] "$W/delay.dat" using 1:i with linespoints lw 2 \
    title word("imgbatch-multi imgbatch-threads aria2c curl-parallel xargs-curl", i-1), \
    [4:64] x * $((1000 / DELAY_MS)) with lines dt 2 lc rgb "gray" title "ideal"
unset multiplot
GP
echo "![files/s against concurrency](bench-fetch.png)"
echo
echo "Commands (D a fresh folder, LIST the URL list, N the concurrency):"
echo
echo '```'
echo "imgbatch fetch -q --retries 0 --mode multi|threads|serial -c N --per-host N -o D LIST"
echo "aria2c -q -i LIST -d D -j N --max-connection-per-server=1 --split=1 --file-allocation=none --async-dns=false"
echo "curl -s --fail -Z --parallel-max N --remote-name-all --output-dir D -K LIST.cfg"
echo "(cd D && xargs -P N -n ceil(URLs/N) curl -s --fail --remote-name-all < LIST)"
echo '```'
rm -rf "$W/out"
