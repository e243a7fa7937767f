#!/usr/bin/env bash
# The face-detection demo: installs what is missing, builds, and runs
# graphs/face_detection_video.pbtxt (BlazeFace short range → weighted NMS →
# boxes, keypoints and scores drawn on the frames) on a sample video.
#   scripts/demo.sh [VIDEO]      default: ../shared/media/Megamind.avi
#   scripts/demo.sh tracking [VIDEO]   people detected 3×/s and tracked on every
#       frame (graphs/object_detection_tracking.pbtxt), default ../shared/media/vtest.avi
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j "$(nproc)" edgepipe_cli

if [[ ${1:-} == tracking ]]; then
  MODEL=../shared/models/zoo/ssd_mobilenet_v1_coco_quant.tflite
  VIDEO=${2:-../shared/media/vtest.avi}
  # Debian's opencv-doc package ships the same clip.
  [[ -f $VIDEO ]] || VIDEO=/usr/share/doc/opencv-doc/examples/data/vtest.avi
  for file in "$MODEL" "$VIDEO"; do
    [[ -f $file ]] || { echo "demo: missing $file (../shared)" >&2; exit 1; }
  done
  mkdir -p out
  OUTPUT=out/tracking.avi JSON=out/tracking.jsonl TRACKS=out/tracks.txt
  START=$(date +%s.%N)
  build/bin/edgepipe run graphs/object_detection_tracking.pbtxt --input "$VIDEO" --output "$OUTPUT" \
    --side "model_path=$MODEL" --side "json_path=$JSON" --side "tracks_path=$TRACKS" --quiet
  END=$(date +%s.%N)
  echo "demo: annotated video (boxes, IDs, trails): $(pwd)/$OUTPUT"
  echo "demo: tracks and detections (JSON lines, one per frame): $(pwd)/$JSON"
  echo "demo: tracks (MOT Challenge text): $(pwd)/$TRACKS"
  python3 - "$JSON" "$START" "$END" <<'PY'
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
boxes = sum(len(line["tracks"]) for line in lines)
ids = {t["track_id"] for line in lines for t in line["tracks"]}
runs = sum("detections" in line for line in lines)
seconds = float(sys.argv[3]) - float(sys.argv[2])
print(f"demo: {len(lines)} frames, {runs} detector runs, {boxes} tracked objects (boxes), {len(ids)} IDs, "
      f"{len(lines) / seconds:.1f} fps (whole run)")
PY
  exit 0
fi

# The model: ../shared/models, else the copy MediaPipe's PyPI wheel ships
# (0.10.x wheels carry the .tflite files; only the wheel is fetched, not installed).
MODEL=../shared/models/face_detection_short_range.tflite
if [[ ! -f $MODEL ]]; then
  MODEL=build/models/face_detection_short_range.tflite
  if [[ ! -f $MODEL ]]; then
    echo "demo: fetching the face detection model from the mediapipe==0.10.14 wheel on PyPI"
    mkdir -p build/models/wheel
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux2014_x86_64 -d build/models/wheel "mediapipe==0.10.14"
    python3 - "$MODEL" build/models/wheel/mediapipe-0.10.14-*.whl <<'PY'
import sys, zipfile
target, wheel = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive, open(target, "wb") as out:
    out.write(archive.read("mediapipe/modules/face_detection/face_detection_short_range.tflite"))
PY
  fi
fi

VIDEO=${1:-../shared/media/Megamind.avi}
# Debian's opencv-doc package ships the same clip; installed only when needed.
if [[ ! -f $VIDEO ]]; then
  VIDEO=/usr/share/doc/opencv-doc/examples/data/Megamind.avi
  if [[ ! -f $VIDEO ]]; then
    echo "demo: installing Debian's opencv-doc for its sample video"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get install -y -qq --no-install-recommends opencv-doc >/dev/null
  fi
fi
if [[ ! -f $VIDEO ]]; then
  echo "demo: no sample video (../shared/media/Megamind.avi or Debian's opencv-doc package)" >&2
  exit 1
fi
mkdir -p out
OUTPUT=out/faces.avi
JSON=out/faces.jsonl
START=$(date +%s.%N)
build/bin/edgepipe run graphs/face_detection_video.pbtxt --input "$VIDEO" --output "$OUTPUT" \
  --side "model_path=$MODEL" --side "json_path=$JSON" --quiet
END=$(date +%s.%N)
echo "demo: annotated video: $(pwd)/$OUTPUT"
echo "demo: detections (JSON lines, one per frame): $(pwd)/$JSON"
python3 - "$JSON" "$START" "$END" <<'PY'
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
faces = sum(len(line.get("detections", [])) for line in lines)
seconds = float(sys.argv[3]) - float(sys.argv[2])
print(f"demo: {len(lines)} frames, {faces} faces, {len(lines) / seconds:.1f} fps (whole run)")
PY
