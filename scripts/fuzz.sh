#!/usr/bin/env bash
# Builds the TFLite reader fuzzer with clang/libFuzzer (ASan + UBSan) in
# build-fuzz/ and runs it for a number of seconds, seeded with ../shared/models.
#
#   scripts/fuzz.sh [SECONDS]      default 60; CI passes e.g. 30
#
# Environment: FUZZ_JOBS (parallel fuzzing processes, default 1),
#              CXX_FUZZ (clang++ to use, default clang++).
# Exits non-zero when the build fails or the fuzzer finds a crash (the
# reproducer is left in build-fuzz/artifacts/).
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
shared_models="${EDGEPIPE_SHARED_DIR:-$root/../shared}/models"
cxx="${CXX_FUZZ:-clang++}"

cmake -S "$root/tests/fuzz" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -j2 -C "$build" tflite_reader_fuzzer

# The corpus lives in the build dir; seeds are copied from ../shared/models (never into the repo).
corpus="$build/corpus"
artifacts="$build/artifacts"
mkdir -p "$corpus" "$artifacts"
if compgen -G "$shared_models/*.tflite" >/dev/null; then
  cp -n "$shared_models"/*.tflite "$corpus"/ 2>/dev/null || true
else
  echo "note: no seed models in $shared_models; fuzzing from an empty corpus" >&2
fi
# No shared model is sparse: seed the sparsity reader with the DENSIFY test's
# models when their Python builder (ai-edge-litert, flatbuffers) is installed.
python3 "$root/tests/python/test_densify_vs_litert.py" "$corpus" 2>/dev/null ||
  echo "note: no sparse seed models (needs numpy, ai-edge-litert, flatbuffers)" >&2

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# Models are up to a few MB: allow inputs that large so seeds are not truncated.
max_len=$((16 * 1024 * 1024))
jobs="${FUZZ_JOBS:-1}"
args=(-max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=4096 -timeout=25
      -artifact_prefix="$artifacts/" -print_final_stats=1)
if [[ "$jobs" -gt 1 ]]; then
  args+=(-jobs="$jobs" -workers="$jobs")
fi

echo "fuzzing the TFLite reader for ${seconds}s (corpus: $corpus)"
status=0
"$build/tflite_reader_fuzzer" "${args[@]}" "$corpus" || status=$?
if [[ $status -ne 0 ]]; then
  echo "fuzzer failed (exit $status); reproducers in $artifacts:" >&2
  ls -1 "$artifacts" >&2 || true
  exit "$status"
fi
echo "no crash in ${seconds}s"
