// Detection: one object found in an image, the payload of the detection
// calculators (TensorsToDetections → NonMaxSuppression → letterbox removal →
// AnnotationOverlay) and of JSON lines output.
//
// Coordinates are normalised to the image the detection refers to: x in
// [0, 1] across the width, y in [0, 1] down the height (a box may reach a
// little outside the image). Normalised boxes survive resizing unchanged, and
// DetectionLetterboxRemovalCalculator maps them from the model's letterboxed
// input back to the original frame.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgepipe {

struct NormalizedKeypoint {
  float x = 0.0f;
  float y = 0.0f;
};

struct Detection {
  float xmin = 0.0f;  // left edge
  float ymin = 0.0f;  // top edge
  float width = 0.0f;
  float height = 0.0f;
  float score = 0.0f;  // in [0, 1] when the decoder applied a sigmoid
  int label_id = 0;    // class index in the model's output
  std::string label;   // from the decoder's label map; empty without one
  int track_id = -1;   // set by ObjectTrackerCalculator: stable per object; -1 = not tracked
  std::vector<NormalizedKeypoint> keypoints;  // model-specific order (face: eyes, nose, mouth, ears)

  float xmax() const { return xmin + width; }
  float ymax() const { return ymin + height; }
};

// nlohmann conversions, found by ADL; std::vector<Detection> follows.
inline void to_json(nlohmann::json& json, const NormalizedKeypoint& keypoint) {
  json = nlohmann::json::array({keypoint.x, keypoint.y});
}
inline void to_json(nlohmann::json& json, const Detection& detection) {
  json = nlohmann::json{{"xmin", detection.xmin},   {"ymin", detection.ymin},         {"width", detection.width},
                        {"height", detection.height}, {"score", detection.score}, {"label_id", detection.label_id},
                        {"keypoints", detection.keypoints}};
  // Only when set, so that untracked, unlabelled detections keep their short form.
  if (!detection.label.empty()) json["label"] = detection.label;
  if (detection.track_id >= 0) json["track_id"] = detection.track_id;
}

}  // namespace edgepipe
