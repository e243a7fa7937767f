#!/usr/bin/env bash
# Configures build-asan/, the one sanitizer build scripts/test.sh (ASan + UBSan
# runs of the core, thread-pool, engine, kernel and calculator tests) and
# scripts/fuzz.sh (the libFuzzer targets of tests/fuzz/) share: clang, ASan +
# UBSan, coverage instrumentation for libFuzzer, -O1 with line tables.
#   scripts/configure-asan.sh [BUILD_DIR]     default <repo>/build-asan
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-asan}"
cc="${CC_FUZZ:-clang}"
cxx="${CXX_FUZZ:-clang++}"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" "-DCMAKE_C_FLAGS_DEBUG=-O1 -gline-tables-only" \
  -DEDGEPIPE_SANITIZE=address,undefined -DEDGEPIPE_FUZZ=ON -DEDGEPIPE_CORE_ONLY=OFF >/dev/null
