#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: ctest (release build,
# plus ASan/UBSan and TSan builds of the graph runtime tests) and pytest.
# Usage: scripts/test.sh [--quick]   (--quick skips the sanitizer builds)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1

bash scripts/install-deps.sh

# In CI the shared models and media are always present: a test that would skip fails instead.
if [[ "${CI:-}" == "true" ]]; then export EDGEPIPE_REQUIRE_SHARED=1; fi

step() { printf '\n=== %s ===\n' "$*"; }

# ccache (installed above) keeps rebuilds of the three build trees short; the
# base dir lets clones in other folders share it.
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$ROOT")}
fi

step "build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j "$JOBS"

step "ctest"
ctest --test-dir build --output-on-failure -j "$JOBS" --timeout 300

if [[ $QUICK -eq 0 ]]; then
  step "core and thread-pool tests under ASan + UBSan"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEDGEPIPE_CORE_ONLY=ON \
        -DEDGEPIPE_SANITIZE=address,undefined >/dev/null
  ninja -C build-asan -j "$JOBS" core_tests thread_pool_test
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$JOBS" --timeout 300

  step "core and thread-pool tests under TSan"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGEPIPE_CORE_ONLY=ON \
        -DEDGEPIPE_SANITIZE=thread >/dev/null
  ninja -C build-tsan -j "$JOBS" core_tests thread_pool_test
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -j "$JOBS" --timeout 300
fi

if [[ -x scripts/fuzz.sh && $QUICK -eq 0 ]]; then
  step "TFLite reader fuzzer (short run)"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi

if compgen -G "tests/python/test_*.py" >/dev/null; then
  step "pytest"
  PYTHONPATH="$ROOT/python:$ROOT/build/python${PYTHONPATH:+:$PYTHONPATH}" \
    EDGEPIPE_BUILD_DIR="$ROOT/build" python3 -m pytest -q tests/python
fi

if [[ $QUICK -eq 0 ]]; then
  step "SDK: install, CMake package, pkg-config, .deb (tests/sdk/test-sdk.sh)"
  bash tests/sdk/test-sdk.sh build
  step "Python package: pip install . and pip wheel . (tests/sdk/test-pip.sh)"
  bash tests/sdk/test-pip.sh
fi
