#!/usr/bin/env bash
# Installs what imgbatch needs to build and test, from Debian 12 packages.
# Runs apt-get (after apt-get update) only when something is missing.
set -euo pipefail

packages=(
    build-essential cmake pkg-config        # build
    libpng-dev libjpeg62-turbo-dev libcurl4-openssl-dev   # libraries
    libdeflate-dev zlib1g-dev               # PNG encoder's compressors
    libwebp-dev libavif-dev                 # WebP and AVIF in and out
    liblcms2-dev                            # ICC profiles converted to sRGB
    libgs-common                            # a CMYK press profile, color_cmyk.sh
    libcmocka-dev                           # unit tests
    python3                                 # loopback HTTP test server
    python3-jsonschema                      # tests/cli/check_report.py
    imagemagick                             # independent decoder, test oracle
    nginx-light openssl                     # real servers (HTTP, TLS) for fetch tests
    clang libclang-rt-14-dev libomp-dev     # fuzzers (libFuzzer, OpenMP)
    valgrind time                           # tests/valgrind.sh, peak RSS
    man-db                                  # the .deb test: man -w
    slurm-wlm munge                         # tests/scale/slurm.sh: a one-node cluster
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
