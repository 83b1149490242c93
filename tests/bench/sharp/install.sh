#!/usr/bin/env bash
# Installs sharp (pinned in package.json) into tests/bench/sharp/node_modules
# for the benchmarks. Needs node and npm and the npm registry; imgbatch itself
# never depends on it.
set -euo pipefail
cd "$(dirname "$0")"
[ -f node_modules/sharp/package.json ] && exit 0
npm install --no-audit --no-fund --no-save >/dev/null
node -e "console.log('sharp', require('sharp').versions.sharp, 'libvips', require('sharp').versions.vips)"
