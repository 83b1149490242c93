#!/usr/bin/env bash
# Installs, builds with warnings as errors, runs every test; then builds
# again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
# suite once more; then a sample run under valgrind and a short fuzz run.
# This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DIMGBATCH_WERROR=ON
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DIMGBATCH_WERROR=ON \
    -DIMGBATCH_SANITIZE=ON
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"

# valgrind: a sample transform and fetch of the release build, clean
bash tests/valgrind.sh build

# fuzz smoke: each libFuzzer target ~12 s from its seeds, after replaying
# its regression inputs (the long runs are by hand: tests/fuzz/README.md)
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DIMGBATCH_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF
cmake --build build-fuzz --target fuzzers -j "$jobs"
bash tests/fuzz/run.sh build-fuzz 12
echo "all tests passed (release, ASan+UBSan, valgrind, fuzz smoke)"
