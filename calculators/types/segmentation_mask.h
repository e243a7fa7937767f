// SegmentationMask: a per-pixel result of a segmentation model, the payload of
// TensorsToSegmentationCalculator for the overlay, JSON lines and Python.
//
// Two kinds:
// - kLabels: CV_8UC1, each pixel the class index (argmax over the model's
//   classes, e.g. deeplab's 21 PASCAL VOC classes; 0 is usually background).
// - kProbability: CV_32FC1 in [0, 1], each pixel the foreground probability
//   (selfie segmentation: the person).
// The mask has the size of the image it was projected onto (the input frame,
// after undoing letterbox or resize), or the model's output size when the
// decoder was given no frame or transform.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core/mat.hpp>

namespace edgepipe {

struct SegmentationMask {
  enum class Kind { kLabels, kProbability };
  Kind kind = Kind::kLabels;
  cv::Mat mask;                     // CV_8UC1 labels or CV_32FC1 probabilities; shared, never written after sending
  std::vector<std::string> labels;  // names of the label values (kLabels), from a label map; may be empty

  int width() const { return mask.cols; }
  int height() const { return mask.rows; }
  // The name of label value `index`, or "" without a label map.
  const std::string& LabelName(int index) const;
  // Pixels per label value (kLabels masks).
  std::array<int64_t, 256> LabelPixelCounts() const;
};

// A probability pixel counts as foreground from this value on (JSON summary and overlay).
constexpr float kForegroundProbability = 0.5f;

// JSON summary of a mask (masks themselves are too big for JSON lines):
//   labels:      {"kind": "labels", "width": W, "height": H,
//                 "classes": [{"index": i, "label": name, "fraction": f, "box": [xmin, ymin, width, height]}, …]}
//                 one entry per label present, by index; fraction = share of the pixels, box normalised.
//   probability: {"kind": "probability", "width": W, "height": H, "threshold": 0.5,
//                 "foreground_fraction": f, "mean_probability": p, "box": [xmin, ymin, width, height] or null}
nlohmann::json SegmentationMaskToJson(const SegmentationMask& mask);

}  // namespace edgepipe
