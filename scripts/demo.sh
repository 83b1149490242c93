#!/usr/bin/env bash
# Installs, builds, and runs imgbatch's main job on data it generates, with
# no network beyond loopback: photo-sized JPEGs and PNGs (plus the test
# generator's deliberately broken files) are served by a local HTTP server
# on 127.0.0.1, and `imgbatch run` downloads and resizes them to fit
# 1024x1024 on every core, overlapped, with a JSON Lines report. A second
# run shows the nightly case: nothing changed, so only 304s.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
ib=build/cmd/imgbatch

demo=${DEMO_DIR:-/tmp/imgbatch-demo}
rm -rf "$demo"
mkdir -p "$demo/www"
echo "generating images in $demo/www"
for i in $(seq 1 12); do
    convert -seed "$i" -size 2400x1600 plasma:fractal -blur 0x1 \
        -quality 90 "$demo/www/photo$i.jpg"
done
convert -seed 99 -size 1800x1800 plasma:fractal "$demo/www/square.png"
mkdir -p "$demo/gen" && build/testdata/ib-gen "$demo/gen" >/dev/null
cp "$demo"/gen/{truncated.jpg,huge-dims.png,orient-6.jpg,png-rgba8.png} \
    "$demo/www/"

# a loopback server; python's answers If-Modified-Since with 304. Its
# default listen backlog of 5 would drop the SYNs of imgbatch's 8
# connections per host (a 1 s retransmit), so it gets a longer one.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c '
import functools, http.server as h, sys
h.ThreadingHTTPServer.request_queue_size = 128
handler = functools.partial(h.SimpleHTTPRequestHandler, directory=sys.argv[2])
h.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
' "$port" "$demo/www" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
done
(cd "$demo/www" && ls) | sed "s|^|http://127.0.0.1:$port/|" >"$demo/urls.txt"
echo "http://127.0.0.1:$port/missing.jpg" >>"$demo/urls.txt"

for night in 1 2; do
    echo
    echo "night $night: $ib run $demo/urls.txt -o $demo/out --resize 1024x1024 --report $demo/report$night.jsonl"
    set +e
    "$ib" run "$demo/urls.txt" -o "$demo/out" --resize 1024x1024 \
        --report "$demo/report$night.jsonl"
    rc=$?
    set -e
    echo "exit code $rc (1: some items failed, the rest done)"
    echo "summary: $(tail -n 1 "$demo/report$night.jsonl")"
done
echo
echo "outputs: $(ls "$demo/out" | wc -l) files in $demo/out"
