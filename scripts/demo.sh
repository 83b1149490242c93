#!/usr/bin/env bash
# Installs, builds, and runs imgbatch's main job on images it generates:
# a batch of photo-sized JPEGs and PNGs (plus the generator's deliberately
# broken files) resized to fit 1024x1024 on every core, with a report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null

demo=${DEMO_DIR:-/tmp/imgbatch-demo}
rm -rf "$demo"
mkdir -p "$demo/in/photos" "$demo/in/generated"
echo "generating test images in $demo/in"
for i in 1 2 3 4 5 6; do
    convert -seed "$i" -size 2400x1600 plasma:fractal -blur 0x1 \
        -quality 90 "$demo/in/photos/photo$i.jpg"
done
convert -seed 9 -size 1800x1800 plasma:fractal "$demo/in/photos/square.png"
build/testdata/ib-gen "$demo/in/generated" >/dev/null

echo "running: imgbatch transform -o $demo/out --resize 1024x1024" \
     "--report $demo/report.jsonl $demo/in"
set +e
build/cmd/imgbatch transform -o "$demo/out" --resize 1024x1024 \
    --report "$demo/report.jsonl" "$demo/in" 2>"$demo/stderr"
rc=$?
set -e
grep -v '^imgbatch transform: cannot transform' "$demo/stderr" || true
echo "($(grep -c 'cannot transform' "$demo/stderr") broken test files" \
     "failed as expected; reasons in $demo/stderr)"
echo "exit code $rc (1: some items failed, the rest done)"
echo "last report line: $(tail -n 1 "$demo/report.jsonl")"
