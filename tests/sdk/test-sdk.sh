#!/usr/bin/env bash
# The SDK as a user gets it: installs the build tree into a scratch prefix, builds
# examples/custom_calculator against it (CMake package, then pkg-config), packs
# the .deb files, unpacks them into a scratch root and builds the example again
# against that. Each build runs the example on a real video.
# Usage: tests/sdk/test-sdk.sh [BUILD_DIR]   (default build/)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=$(realpath "${1:-build}")
VIDEO=$ROOT/../shared/media/vtest.avi
if [[ ! -f $VIDEO ]]; then
  if [[ "${EDGEPIPE_REQUIRE_SHARED:-}" == "1" ]]; then echo "test-sdk: $VIDEO missing" >&2; exit 1; fi
  echo "test-sdk: SKIPPED: $VIDEO is absent (clone ../shared beside the repository to run it)"; exit 0
fi
SCRATCH=$(mktemp -d /tmp/edgepipe-sdk.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
fail() { echo "test-sdk: FAILED: $*" >&2; exit 1; }

# Runs an example binary on 5 frames and checks that the project's own calculator
# produced one brightness per frame.
check_example() {
  local binary=$1 what=$2 out
  out=$("$binary" "$VIDEO" 5) || fail "$what: the example exited with $?"
  [[ $(grep -c 'brightness' <<<"$out") == 5 ]] || fail "$what: expected 5 brightness lines, got: $out"
  grep -qx '5 frames' <<<"$out" || fail "$what: no '5 frames' line in: $out"
  echo "test-sdk: $what: ok"
}

build_with_cmake() {
  local prefix=$1 what=$2
  cmake -S examples/custom_calculator -B "$SCRATCH/example-$what" -G Ninja \
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$SCRATCH/example-$what" >/dev/null
  check_example "$SCRATCH/example-$what/frame_brightness" "$what (find_package)"
}

echo "test-sdk: cmake --install into a scratch prefix"
cmake --install "$BUILD" --prefix "$SCRATCH/prefix" >/dev/null
for f in bin/edgepipe include/edgepipe/core/calculator.h include/edgepipe/core/graph_config.pb.h \
         share/edgepipe/graphs/face_detection_video.pbtxt; do
  [[ -e $SCRATCH/prefix/$f ]] || fail "the install has no $f"
done
"$SCRATCH/prefix/bin/edgepipe" describe VideoFileSourceCalculator >/dev/null || fail "installed CLI"
build_with_cmake "$SCRATCH/prefix" install

echo "test-sdk: pkg-config"
PC_DIR=$(dirname "$(find "$SCRATCH/prefix" -name edgepipe.pc | head -1)")
# shellcheck disable=SC2046
g++ -O1 -o "$SCRATCH/frame_brightness_pc" examples/custom_calculator/main.cc \
    examples/custom_calculator/frame_brightness_calculator.cc \
    -DFRAME_BRIGHTNESS_GRAPH="\"$ROOT/examples/custom_calculator/frame_brightness.pbtxt\"" \
    $(PKG_CONFIG_PATH=$PC_DIR pkg-config --cflags --libs edgepipe) >"$SCRATCH/pc-build.log" 2>&1 ||
  { cat "$SCRATCH/pc-build.log" >&2; fail "pkg-config build"; }
check_example "$SCRATCH/frame_brightness_pc" "install (pkg-config)"

echo "test-sdk: cpack -G DEB"
(cd "$BUILD" && cpack -G DEB -B "$SCRATCH/debs" >/dev/null) || fail "cpack"
for package in edgepipe edgepipe-dev; do
  deb=$(ls "$SCRATCH"/debs/${package}_*.deb 2>/dev/null | head -1)
  [[ -n $deb ]] || fail "no ${package}_*.deb made"
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "test-sdk: $package Depends: $depends"
  case $package in
    edgepipe) grep -q 'libopencv' <<<"$depends" || fail "$package does not depend on OpenCV: $depends" ;;
    edgepipe-dev) grep -q 'edgepipe (=' <<<"$depends" || fail "$package does not depend on edgepipe: $depends" ;;
  esac
  dpkg-deb -x "$deb" "$SCRATCH/root"
done
[[ -x $SCRATCH/root/usr/bin/edgepipe ]] || fail "the edgepipe package has no /usr/bin/edgepipe"
build_with_cmake "$SCRATCH/root/usr" deb
echo "test-sdk: all passed"
