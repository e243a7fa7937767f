// The arithmetic of SSD-style detection post-processing, as plain functions so
// that tests and other calculators can use it without a graph:
//   GenerateSsdAnchors   anchor grid (SsdAnchorsCalculator)
//   DecodeSsdDetections  raw box/score tensors → detections (TensorsToDetectionsCalculator)
//   NonMaxSuppression    overlapping detections → one per object (NonMaxSuppressionCalculator)
// Formulas follow MediaPipe's calculators of the same names (see each .cc).
#pragma once

#include <vector>

#include "calculators/types/detection.h"
#include "calculators/vision/non_max_suppression_calculator.pb.h"
#include "calculators/vision/ssd_anchors_calculator.pb.h"
#include "calculators/vision/tensors_to_detections_calculator.pb.h"
#include "core/status.h"

namespace edgepipe {

// One SSD anchor, normalised to the model input (centre and size).
struct Anchor {
  float x_center = 0.0f;
  float y_center = 0.0f;
  float width = 0.0f;
  float height = 0.0f;
};

// The anchors in the model's output order (layer, then y, x, anchor per cell);
// an error for inconsistent options (no layers, strides ≠ num_layers, …).
Result<std::vector<Anchor>> GenerateSsdAnchors(const SsdAnchorsCalculatorOptions& options);

// Decodes num_boxes boxes: raw_boxes holds num_boxes × num_coords floats,
// raw_scores num_boxes × num_classes. Returns the boxes scoring at least
// min_score_thresh, in anchor order; boxes with empty, negative or NaN size are dropped.
Result<std::vector<Detection>> DecodeSsdDetections(const float* raw_boxes, const float* raw_scores,
                                                   const std::vector<Anchor>& anchors,
                                                   const TensorsToDetectionsCalculatorOptions& options);

// Overlap of two boxes in [0, 1] (0 when disjoint or degenerate).
float BoxOverlap(const Detection& a, const Detection& b, NonMaxSuppressionCalculatorOptions::OverlapType type);

// DEFAULT or WEIGHTED non-maximum suppression; the result is sorted by score, best first.
std::vector<Detection> NonMaxSuppression(std::vector<Detection> detections,
                                         const NonMaxSuppressionCalculatorOptions& options);

}  // namespace edgepipe
