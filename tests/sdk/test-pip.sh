#!/usr/bin/env bash
# The Python package as a user gets it: `pip install .` into a new venv, then
# `import edgepipe` from another directory runs a graph and the engine on real
# data; `pip wheel .` makes a wheel that installs into a second venv.
# Usage: tests/sdk/test-pip.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=$ROOT/../shared
if [[ ! -d $SHARED/media ]]; then
  if [[ "${EDGEPIPE_REQUIRE_SHARED:-}" == "1" ]]; then echo "test-pip: $SHARED missing" >&2; exit 1; fi
  echo "test-pip: SKIPPED: $SHARED is absent (clone ../shared beside the repository to run it)"; exit 0
fi
SCRATCH=$(mktemp -d /tmp/edgepipe-pip.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
fail() { echo "test-pip: FAILED: $*" >&2; exit 1; }
# ccache keys on paths relative to this base, so the package build reuses the main build's objects.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$ROOT")}
if command -v ccache >/dev/null; then export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
export CMAKE_BUILD_PARALLEL_LEVEL=${JOBS:-$(nproc)}

# Imports the installed package from a directory holding no edgepipe sources,
# runs a video graph and the engine, and checks the results.
check_package() {
  local python=$1 what=$2
  (cd "$SCRATCH" && env -u PYTHONPATH "$python" - "$ROOT" "$SHARED" <<'PY'
import os, sys
import edgepipe
root, shared = sys.argv[1], sys.argv[2]
assert os.path.dirname(edgepipe.__file__).endswith("site-packages/edgepipe"), edgepipe.__file__
sizes = []
graph = edgepipe.Graph.from_file(os.path.join(root, "graphs/video_resize.pbtxt"))
graph.observe("small_frames", lambda image, t: sizes.append(image.shape))
graph.run({"input_path": os.path.join(shared, "media/vtest.avi"), "max_frames": "4"})
assert sizes == [(288, 384, 3)] * 4, sizes
try:
    edgepipe.Graph('node { calculator: "NoSuchCalculator" }')
    raise SystemExit("an unknown calculator was accepted")
except edgepipe.Error as error:
    assert "NoSuchCalculator" in str(error), error
interpreter = edgepipe.Interpreter(os.path.join(shared, "models/mobilenet_v2_1.0_224_quant.tflite"))
print("ok", edgepipe.__file__, len(sizes), "frames")
PY
  ) || fail "$what: the installed package does not work"
  echo "test-pip: $what: ok"
}

echo "test-pip: pip install . into a new venv"
python3 -m venv "$SCRATCH/venv"
"$SCRATCH/venv/bin/pip" install -q "$ROOT" || fail "pip install ."
"$SCRATCH/venv/bin/pip" show edgepipe >/dev/null || fail "pip show edgepipe"
check_package "$SCRATCH/venv/bin/python" "pip install ."

# Issue 13's check: each example of examples/python run from /tmp with the installed
# package (tests/python/test_examples.py compares them with the CLI), and the
# FaceDetector task's detections on Megamind.avi equal the C++ graph's.
if [[ -x $ROOT/build/bin/edgepipe ]]; then
  echo "test-pip: the examples and the FaceDetector task, from $SCRATCH, with the installed package"
  "$SCRATCH/venv/bin/pip" install -q pytest || fail "pip install pytest"
  (cd "$SCRATCH" && env -u PYTHONPATH EDGEPIPE_CLI="$ROOT/build/bin/edgepipe" EDGEPIPE_SHARED_DIR="$SHARED" \
     EDGEPIPE_REQUIRE_SHARED=1 "$SCRATCH/venv/bin/python" -m pytest -q -p no:cacheprovider --rootdir "$SCRATCH" \
     "$ROOT/tests/python/test_examples.py" \
     "$ROOT/tests/python/test_tasks.py::test_face_detector_equals_the_cpp_graph_on_megamind") \
    || fail "the examples or the FaceDetector task with the installed package"
else
  echo "test-pip: examples not run: build the CLI (build/bin/edgepipe) to compare them with"
fi

echo "test-pip: pip wheel ."
"$SCRATCH/venv/bin/pip" wheel -q --no-deps -w "$SCRATCH/wheels" "$ROOT" || fail "pip wheel ."
wheel=$(ls "$SCRATCH"/wheels/edgepipe-*.whl 2>/dev/null | head -1)
[[ -n $wheel ]] || fail "no wheel made"
python3 -m venv "$SCRATCH/venv2"
"$SCRATCH/venv2/bin/pip" install -q "$wheel" || fail "installing $wheel"
check_package "$SCRATCH/venv2/bin/python" "wheel"
echo "test-pip: all passed"
