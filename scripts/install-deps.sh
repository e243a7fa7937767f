#!/usr/bin/env bash
# Installs every system and Python package edgepipe needs to build and test.
# Idempotent and quiet when everything is already there.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libopencv-dev
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  libflatbuffers-dev flatbuffers-compiler
  libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  pybind11-dev python3-dev python3-venv
  libcli11-dev nlohmann-json3-dev libfmt-dev
  clang libclang-rt-14-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base
  python3-matplotlib
  graphviz
  dataset-fashion-mnist
)
# mediapipe: test-only peer (tests/python/test_mediapipe_zoo.py compares face_landmark_with_attention with its FaceMesh).
# motmetrics: its bundled TUD-Campus/TUD-Stadtmitte files and golden values check `edgepipe mot-eval` (tests/python/test_object_detection.py).
# dataset-fashion-mnist: bench/quantization_table.py trains on it (/usr/share/datasets/fashion-mnist); its
# TensorFlow and litert-quantizer (bench/requirements-quantization.txt) it installs itself into build/bench-venv.
PIP_PACKAGES=(numpy pytest pillow ai-edge-litert mediapipe==0.10.14 motmetrics)

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" - "${PIP_PACKAGES[@]}" <<'PY' 2>/dev/null
import importlib.util, sys
names = {"ai-edge-litert": "ai_edge_litert", "mediapipe==0.10.14": "mediapipe", "pillow": "PIL"}
missing = [p for p in sys.argv[1:] if importlib.util.find_spec(names.get(p, p)) is None]
sys.exit(1 if missing else 0)
PY
then
  echo "install-deps: installing Python packages ${PIP_PACKAGES[*]}"
  if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  fi
  pip_flags=(-q)
  # Debian's own Python refuses pip installs outside a venv (PEP 668); these are test tools only.
  if "$PYTHON" -c 'import sys, sysconfig, os; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    pip_flags+=(--break-system-packages)
  fi
  "$PYTHON" -m pip install "${pip_flags[@]}" "${PIP_PACKAGES[@]}"
fi
