#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: ctest (release build,
# plus an ASan/UBSan build of the core, thread-pool, engine, kernel and
# calculator tests, a TSan build of the graph runtime tests), the fuzzers' short
# run and pytest. Each step prints how long it took.
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

step_start=$SECONDS
step() {
  printf '(%d s)\n\n=== %s ===\n' "$((SECONDS - step_start))" "$*"
  step_start=$SECONDS
}
trap 'printf "(%d s)\n" "$((SECONDS - step_start))"' EXIT

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
  # One sanitizer build (clang, shared with scripts/fuzz.sh): only the test targets are built.
  step "core, thread-pool, engine, kernel and calculator tests under ASan + UBSan"
  bash scripts/configure-asan.sh build-asan
  ninja -C build-asan -j "$JOBS" core_tests thread_pool_test edgepipe_engine_test edgepipe_kernels_test calculators_test
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
  step "model and graph-config fuzzers (short run, ${FUZZ_SECONDS:-30} s each)"
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
