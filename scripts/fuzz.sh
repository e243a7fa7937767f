#!/usr/bin/env bash
# Builds the libFuzzer targets (ASan + UBSan, clang) in build-asan/ (shared with
# the sanitizer tests of scripts/test.sh, scripts/configure-asan.sh) and runs
# each for a number of seconds:
#   tflite_model_fuzzer  TFLite reader, semantic checks, planner, one Invoke;
#                        seeded with ../shared/models (and sparse models when
#                        ai-edge-litert is installed)
#   graph_config_fuzzer  text-format graph configs: parser, validation, a bounded
#                        run; seeded with graphs/*.pbtxt and the configs of the
#                        core and calculator tests (extracted at run time)
#
#   scripts/fuzz.sh [SECONDS]      per fuzzer, default 60; CI passes e.g. 30
#
# Environment: FUZZ_JOBS (parallel fuzzing processes, default 1),
#              FUZZERS (which to run, default "tflite_model_fuzzer graph_config_fuzzer"),
#              CXX_FUZZ / CC_FUZZ (clang to use).
# Exits non-zero when the build fails or a fuzzer finds a crash (the
# reproducer is left in build-asan/fuzz/<fuzzer>/artifacts/).
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-asan"
shared="${EDGEPIPE_SHARED_DIR:-$root/../shared}"
fuzzers="${FUZZERS:-tflite_model_fuzzer graph_config_fuzzer}"

bash "$root/scripts/configure-asan.sh" "$build"
# shellcheck disable=SC2086  # the list is words
ninja -j2 -C "$build" $fuzzers

# Corpora live in the build dir; seeds are copied from ../shared and the sources (never into the repo).
seed_tflite_model_fuzzer() {
  local corpus="$1"
  if compgen -G "$shared/models/*.tflite" >/dev/null; then
    cp -n "$shared/models"/*.tflite "$corpus"/ 2>/dev/null || true
  else
    echo "note: no seed models in $shared/models; fuzzing from an empty corpus" >&2
  fi
  # No shared model is sparse: seed the sparsity reader with the DENSIFY test's
  # models when their Python builder (ai-edge-litert, flatbuffers) is installed.
  python3 "$root/tests/python/test_densify_vs_litert.py" "$corpus" 2>/dev/null ||
    echo "note: no sparse seed models (needs numpy, ai-edge-litert, flatbuffers)" >&2
}
seed_graph_config_fuzzer() {
  local corpus="$1"
  cp -n "$root"/graphs/*.pbtxt "$corpus"/
  # Every raw-string config (R"(...)" holding a node) of the core and calculator tests.
  python3 - "$corpus" "$root"/tests/core/*.cc "$root"/tests/calculators/*.cc <<'PY'
import hashlib, pathlib, re, sys
corpus = pathlib.Path(sys.argv[1])
for source in sys.argv[2:]:
    for text in re.findall(r'R"(?:pb)?\((.*?)\)(?:pb)?"', pathlib.Path(source).read_text(), re.S):
        if "calculator:" in text:
            (corpus / ("test_" + hashlib.sha1(text.encode()).hexdigest()[:12] + ".pbtxt")).write_text(text)
PY
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
jobs="${FUZZ_JOBS:-1}"

for fuzzer in $fuzzers; do
  dir="$build/fuzz/$fuzzer"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  "seed_$fuzzer" "$dir/corpus"
  # Models are up to a few MB: allow inputs that large so seeds are not truncated.
  case "$fuzzer" in
    tflite_model_fuzzer) max_len=$((16 * 1024 * 1024)) ;;
    *) max_len=$((64 * 1024)) ;;
  esac
  args=(-max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=4096 -timeout=25
        -artifact_prefix="$dir/artifacts/" -print_final_stats=1)
  if [[ "$jobs" -gt 1 ]]; then
    args+=(-jobs="$jobs" -workers="$jobs")
  fi
  echo "fuzzing $fuzzer for ${seconds}s (corpus: $dir/corpus)"
  status=0
  # From the repository root: the graphs name their models as ../shared/models/...
  # Under a timeout: a sanitizer CHECK failure (heap metadata corrupted by
  # uninstrumented code) can hang instead of exiting.
  (cd "$root" && timeout --kill-after=10 "$((seconds + 300))" "$build/bin/$fuzzer" "${args[@]}" "$dir/corpus") ||
    status=$?
  if [[ $status -ne 0 ]]; then
    echo "$fuzzer failed (exit $status); reproducers in $dir/artifacts:" >&2
    ls -1 "$dir/artifacts" >&2 || true
    exit "$status"
  fi
  echo "$fuzzer: no crash in ${seconds}s"
done
