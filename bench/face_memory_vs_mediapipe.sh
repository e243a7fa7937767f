#!/usr/bin/env bash
# Peak RSS and frames/s of the face demo against MediaPipe 0.10.14's Python
# solution on the same video, in one run (docs/benchmarks.md, "Face demo memory").
#
#   bench/face_memory_vs_mediapipe.sh [build/bin/edgepipe] [VIDEO]
#
# edgepipe: `edgepipe run graphs/face_detection_video.pbtxt` (decode, detect, draw,
# encode the annotated video, write JSON lines). MediaPipe: frames decoded one by one
# with OpenCV, `FaceDetection(model_selection=0)` on each (no drawing or encoding,
# which only favours it). Peak RSS from /usr/bin/time -v.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/bin/edgepipe}
VIDEO=${2:-../shared/media/Megamind.avi}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

peak() { grep "Maximum resident" "$1" | awk '{printf "%.1f", $NF / 1024}'; }

/usr/bin/time -v "$BIN" run graphs/face_detection_video.pbtxt --input "$VIDEO" --output "$OUT/faces.avi" \
  --side json_path="$OUT/faces.jsonl" -q 2>"$OUT/edgepipe.txt"
fps=$(grep -o '([0-9.]* fps)' "$OUT/edgepipe.txt" | tr -d '(fps )')
echo "edgepipe:  peak RSS $(peak "$OUT/edgepipe.txt") MiB, ${fps} frames/s"

mp_fps=$(/usr/bin/time -v python3 - "$VIDEO" 2>"$OUT/mediapipe.txt" <<'PY'
import sys, time
import cv2
import mediapipe as mp
capture = cv2.VideoCapture(sys.argv[1], cv2.CAP_FFMPEG)
frames = 0
start = time.perf_counter()
with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as detector:
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        detector.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        frames += 1
print(f"{frames / (time.perf_counter() - start):.1f}")
PY
)
echo "mediapipe: peak RSS $(peak "$OUT/mediapipe.txt") MiB, ${mp_fps} frames/s"
