#!/usr/bin/env bash
# Cross-builds all of edgepipe for aarch64 (Debian 12 arm64 sysroot + GCC
# cross compiler) into build-arm64/ and runs its tests under qemu-aarch64,
# then compares every shared model's outputs on arm64 with LiteRT on the host.
#
#   scripts/test-arm64.sh [--sysroot-only | --build-only]
#
# The sysroot (build-arm64/sysroot) is made once with mmdebstrap from the
# Debian mirror apt uses and kept while its package list is unchanged.
# Environment: JOBS (build jobs, default nproc), EDGEPIPE_SHARED_DIR (default ../shared).
# Needs root (or sudo) only to install missing host packages.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
MODE=${1:-all}
case $MODE in
  all | --sysroot-only | --build-only) ;;
  *) echo "usage: $0 [--sysroot-only | --build-only]" >&2; exit 2 ;;
esac
BUILD=$ROOT/build-arm64
SYSROOT=$BUILD/sysroot
SHARED=${EDGEPIPE_SHARED_DIR:-$(cd "$ROOT/.." && pwd)/shared}
SUITE=bookworm
if [[ "${CI:-}" == "true" ]]; then export EDGEPIPE_REQUIRE_SHARED=1; fi

step() { printf '\n=== arm64: %s ===\n' "$*"; }
SECONDS=0
declare -a SUMMARY=()
FAILED=0
PASSED_STEPS=0
FAILED_STEPS=0
record() {  # record NAME STATUS SECONDS
  SUMMARY+=("$(printf '%-44s %-4s %5ss' "$1" "$2" "$3")")
  if [[ "$2" == ok ]]; then PASSED_STEPS=$((PASSED_STEPS + 1)); else FAILED=1; FAILED_STEPS=$((FAILED_STEPS + 1)); fi
}

# --- host packages ---------------------------------------------------------
# The host's own build tools, protoc/flatc and the Python oracle (LiteRT).
bash scripts/install-deps.sh
HOST_PACKAGES=(crossbuild-essential-arm64 qemu-user-static mmdebstrap debian-archive-keyring)
missing=()
for pkg in "${HOST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  step "installing host packages ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- sysroot ---------------------------------------------------------------
# The arm64 -dev packages of scripts/install-deps.sh (host-only tools left out:
# the compilers, flatc and protoc run on the host), and numpy, which the Python
# module loads when imported.
SYSROOT_PACKAGES=(
  libc6-dev libstdc++-12-dev linux-libc-dev
  libopencv-dev
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  libflatbuffers-dev
  libprotobuf-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  pybind11-dev python3-dev python3-numpy
  libcli11-dev nlohmann-json3-dev libfmt-dev
)

# The Debian mirrors apt uses for $SUITE (and its -updates/-security), read from
# /etc/apt/sources.list*, as one-line sources for mmdebstrap.
debian_mirrors() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    # deb [options] URI SUITE COMPONENT...
    sed -E 's/#.*//' "$f" | awk -v suite="$SUITE" '
      $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                    if ($(i+1) ~ "^" suite "(-updates|-security)?$") { line = "deb"; for (j = 2; j <= NF; j++) line = line " " $j; print line } }'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # deb822 stanzas: Types/URIs/Suites/Components[/Signed-By/Enabled].
    awk -v suite="$SUITE" '
      function flush(   n, u, s, us, ss, i, j, opt) {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
          opt = signed != "" ? "[signed-by=" signed "] " : ""
          n = split(uris, us, " "); s = split(suites, ss, " ")
          for (i = 1; i <= n; i++) for (j = 1; j <= s; j++)
            if (ss[j] ~ "^" suite "(-updates|-security)?$") print "deb " opt us[i] " " ss[j] " " comps
        }
        types = uris = suites = comps = signed = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, ""); val = $0
        if (key == "types") types = val; else if (key == "uris") uris = val; else if (key == "suites") suites = val
        else if (key == "components") comps = val; else if (key == "signed-by") signed = val
        else if (key == "enabled") enabled = tolower(val) }
      END { flush() }' "$f"
  done
}

make_sysroot() {
  local mirrors=() line
  while IFS= read -r line; do mirrors+=("$line"); done < <(debian_mirrors)
  if ((${#mirrors[@]} == 0)); then
    echo "no Debian $SUITE source in /etc/apt/sources.list*; cannot make the arm64 sysroot" >&2
    return 1
  fi
  local stamp_text
  stamp_text="$(printf 'suite %s merged-usr alternatives\n' "$SUITE"; printf 'package %s\n' "${SYSROOT_PACKAGES[@]}")"
  if [[ -f $SYSROOT/.edgepipe-sysroot-stamp && "$(cat "$SYSROOT/.edgepipe-sysroot-stamp")" == "$stamp_text" ]]; then
    echo "sysroot $SYSROOT is up to date (delete it to remake it)"
    return 0
  fi
  step "making the arm64 sysroot from ${mirrors[0]#deb }"
  rm -rf "$SYSROOT"
  mkdir -p "$BUILD"
  local includes
  includes=$(IFS=,; echo "${SYSROOT_PACKAGES[*]}")
  # extract: unpack the packages and their dependencies, nothing else (no
  # maintainer scripts, so nothing runs emulated). /lib, /bin... are symlinks
  # into /usr as on every Debian 12 system.
  mmdebstrap --variant=extract --architectures=arm64 --mode=auto --format=directory \
    --aptopt='APT::Install-Recommends "false"' --aptopt='APT::Install-Suggests "false"' \
    --include="$includes" --setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
    --skip=output/dev --skip=output/mknod "$SUITE" "$SYSROOT" "${mirrors[@]}" >"$BUILD/mmdebstrap.log" \
    2> >(grep -Ev '^(I: |W: skipping mounting)' >&2 || true) || { rm -rf "$SYSROOT"; return 1; }
  # Absolute symlinks (libfoo.so -> /lib/...) point to the host when used
  # from outside: make them relative to the sysroot.
  find "$SYSROOT" -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
    local target
    target=$(readlink "$link")
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$SYSROOT$target")" "$link"
  done
  # What maintainer scripts would have done and linking needs: the BLAS and
  # LAPACK that OpenCV's dependencies link against are update-alternatives links.
  local lib libdir=$SYSROOT/usr/lib/aarch64-linux-gnu
  for lib in blas lapack; do
    if [[ -e $libdir/$lib/lib$lib.so.3 && ! -e $libdir/lib$lib.so.3 ]]; then
      ln -s "$lib/lib$lib.so.3" "$libdir/lib$lib.so.3"
    fi
  done
  printf '%s\n' "$stamp_text" >"$SYSROOT/.edgepipe-sysroot-stamp"
}

t0=$SECONDS
make_sysroot
record "sysroot" ok $((SECONDS - t0))
[[ $MODE == --sysroot-only ]] && exit 0

# --- cross build -----------------------------------------------------------
step "cross-build (aarch64, RelWithDebInfo) into build-arm64/"
t0=$SECONDS
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$ROOT")}  # clones in other folders share the cache
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# Test discovery at ctest time (PRE_TEST), not after each link: the build runs
# nothing under qemu. The Python module is named for the arm64 interpreter,
# with the sysroot's headers and Debian's python3.11 (the sysroot's version)
# standing in as the interpreter CMake asks about. (pybind11 drops a given
# PYTHON_MODULE_EXTENSION when the interpreter differs from
# PYBIND11_PYTHON_EXECUTABLE_LAST, as on a first configure: set that too.)
python_include=$(echo "$SYSROOT"/usr/include/python3.*/Python.h)
python_include=${python_include%/Python.h}
python_version=${python_include##*/python}
if ! cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-aarch64-linux-gnu.cmake" "${launcher[@]}" \
      -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST \
      -DPython3_EXECUTABLE="/usr/bin/python$python_version" -DPython3_INCLUDE_DIR="$python_include" \
      -DPYBIND11_PYTHON_EXECUTABLE_LAST="/usr/bin/python$python_version" \
      -DPYTHON_MODULE_EXTENSION=".cpython-${python_version/./}-aarch64-linux-gnu.so" -DPYTHON_IS_DEBUG=OFF \
      >"$BUILD/configure.log" 2>&1; then
  cat "$BUILD/configure.log" >&2
  echo "cmake configure failed (log: $BUILD/configure.log)" >&2
  exit 1
fi
# What runs below under qemu: the core, thread-pool, kernel and engine tests, the CLI (every
# calculator and tool links into it) and the Python module. The calculator, tool and bench
# binaries only re-test on arm64 what the x86 suite covers, and building them would add a
# third to the cross-build in CI's time budget.
ARM64_TARGETS=(core_tests thread_pool_test edgepipe_kernels_test edgepipe_engine_test edgepipe_cli _edgepipe)
ninja -C "$BUILD" -j "$JOBS" "${ARM64_TARGETS[@]}"
record "cross-build (libraries, CLI, tested binaries)" ok $((SECONDS - t0))
[[ $MODE == --build-only ]] && { printf '%s\n' "${SUMMARY[@]}"; exit 0; }

# --- tests under qemu ------------------------------------------------------
# User-mode qemu with the sysroot as the library root: the arm64 binaries run
# directly on the host (no binfmt registration needed).
QEMU=$(command -v qemu-aarch64-static || command -v qemu-aarch64)
export QEMU_LD_PREFIX=$SYSROOT
run_arm64() {  # run_arm64 NAME TIMEOUT BINARY ARGS...
  local name=$1 limit=$2 status=ok
  shift 2
  step "$name"
  t0=$SECONDS
  timeout "$limit" "$QEMU" "$@" || status=FAIL
  record "$name" "$status" $((SECONDS - t0))
}
bin=$BUILD/bin
# Left out under qemu: the two tests that cap the address space (RLIMIT_AS) to
# make the system refuse threads. qemu-user does not pass that limit on (it
# would break the emulator's own mappings) and a death test cannot re-execute
# an arm64 binary without a binfmt handler; they run in the x86 suite and
# natively on an arm64 board.
NOT_UNDER_QEMU='--gtest_filter=-*RefusedThreadsAreAnErrorNotAnAbort'
run_arm64 "core tests" 300 "$bin/core_tests" --gtest_brief=1 "$NOT_UNDER_QEMU"
run_arm64 "thread pool tests" 300 "$bin/thread_pool_test" --gtest_brief=1 "$NOT_UNDER_QEMU"
run_arm64 "kernel tests" 600 "$bin/edgepipe_kernels_test" --gtest_brief=1
run_arm64 "engine tests" 900 "$bin/edgepipe_engine_test" --gtest_brief=1

# The Python module loads in the arm64 interpreter and runs a model.
step "Python module (arm64 interpreter)"
t0=$SECONDS
status=ok
PYTHONPATH="$ROOT/python:$BUILD/python" timeout 300 "$QEMU" "$SYSROOT/usr/bin/python$python_version" - \
  "$SHARED/models/mobilenet_v1_0.25_128_quant.tflite" <<'PY' || status=FAIL
import os, sys, platform
import numpy as np
import edgepipe
print("edgepipe imported on", platform.machine())
if os.path.exists(sys.argv[1]):
    interpreter = edgepipe.Interpreter(sys.argv[1])
    interpreter.set_input(0, np.full((1, 128, 128, 3), 128, np.uint8))
    interpreter.invoke()
    print("mobilenet_v1 output", interpreter.get_output(0).shape)
PY
record "python module (import, one model)" "$status" $((SECONDS - t0))

# --- oracle: every shared model against LiteRT on the host -----------------
step "oracle: arm64 edgepipe infer vs LiteRT (host) on $SHARED/models"
t0=$SECONDS
status=ok
# LiteRT for aarch64 too (PyPI's aarch64 wheel, pinned; unpacked once), the
# second reference for outputs that follow the platform's rounding at near-ties
# (scripts/litert_oracle.py says which and why).
LITERT_ARM_VERSION=1.4.0
LITERT_ARM=$BUILD/litert-aarch64-$LITERT_ARM_VERSION
if [[ -d $SHARED/models && ! -d $LITERT_ARM/site ]]; then
  rm -rf "$LITERT_ARM" && mkdir -p "$LITERT_ARM"
  python3 -m pip download -q --only-binary=:all: --no-deps --platform manylinux_2_17_aarch64 \
    --python-version "${python_version//./}" "ai-edge-litert==$LITERT_ARM_VERSION" -d "$LITERT_ARM"
  python3 -m zipfile -e "$LITERT_ARM"/ai_edge_litert-*.whl "$LITERT_ARM/site.partial"
  mv "$LITERT_ARM/site.partial" "$LITERT_ARM/site"
fi
if [[ -d $SHARED/models ]]; then
  python3 scripts/litert_oracle.py --models "$SHARED/models" --edgepipe "$bin/edgepipe" \
    --runner "$QEMU -L $SYSROOT" --work "$BUILD/oracle" --threads 2 \
    --arm-python "$SYSROOT/usr/bin/python$python_version" --arm-pythonpath "$LITERT_ARM/site" || status=FAIL
elif [[ "${EDGEPIPE_REQUIRE_SHARED:-}" == 1 ]]; then
  echo "EDGEPIPE_REQUIRE_SHARED=1 but $SHARED/models is missing" >&2
  status=FAIL
else
  echo "no $SHARED/models (clone without ../shared): oracle skipped"
  status=skip
fi
[[ $status == skip ]] && SUMMARY+=("$(printf '%-44s %-4s' "oracle vs LiteRT" skip)") ||
  record "oracle vs LiteRT (every shared model)" "$status" $((SECONDS - t0))

printf '\n=== arm64 summary (%ss in all) ===\n' "$SECONDS"
printf '%s\n' "${SUMMARY[@]}"
# The closing line CI reads: steps, not test cases (each step above says how many of its tests ran).
printf 'arm64: %d passed, %d failed\n' "$PASSED_STEPS" "$FAILED_STEPS"
[[ $FAILED -eq 0 ]]
