// NonMaxSuppressionCalculator: merges or drops overlapping detections so that
// each object is reported once.
//
// Input   DETECTIONS (std::vector<Detection>)
// Output  DETECTIONS (std::vector<Detection>), best score first.
// Options NonMaxSuppressionCalculatorOptions: algorithm (DEFAULT | WEIGHTED),
//         overlap_type (INTERSECTION_OVER_UNION |
//         MEDIAPIPE_JACCARD_ENCLOSING_BOX_COMPAT), min_suppression_threshold,
//         min_score_threshold, max_num_detections.
//
// DEFAULT: walk detections by falling score, keep one unless it overlaps a
// kept one by more than the threshold. WEIGHTED (BlazeFace): the best remaining
// detection and every remaining one overlapping it by more than the threshold
// form a cluster, replaced by the best detection with corners and keypoints set
// to the score-weighted mean of the cluster — steadier boxes than DEFAULT.
// MediaPipe's "JACCARD" overlap divides the intersection by the area of the
// box enclosing both, not by the union; it is offered under a name that says
// so, only to reproduce MediaPipe graphs that use it.
//
//   node {
//     calculator: "NonMaxSuppressionCalculator"
//     input_stream: "DETECTIONS:raw_detections"
//     output_stream: "DETECTIONS:detections"
//     options { [edgepipe.NonMaxSuppressionCalculatorOptions.ext] {
//       algorithm: WEIGHTED min_suppression_threshold: 0.3 } }
//   }
#include <algorithm>
#include <numeric>
#include <vector>

#include "calculators/types/detection.h"
#include "calculators/vision/non_max_suppression_calculator.pb.h"
#include "calculators/vision/ssd_detection.h"
#include "core/calculator.h"

namespace edgepipe {

float BoxOverlap(const Detection& a, const Detection& b, NonMaxSuppressionCalculatorOptions::OverlapType type) {
  const float intersection_width = std::min(a.xmax(), b.xmax()) - std::max(a.xmin, b.xmin);
  const float intersection_height = std::min(a.ymax(), b.ymax()) - std::max(a.ymin, b.ymin);
  if (!(intersection_width > 0) || !(intersection_height > 0)) return 0.0f;
  const float intersection = intersection_width * intersection_height;
  float normalization = 0.0f;
  if (type == NonMaxSuppressionCalculatorOptions::MEDIAPIPE_JACCARD_ENCLOSING_BOX_COMPAT) {
    const float enclosing_width = std::max(a.xmax(), b.xmax()) - std::min(a.xmin, b.xmin);
    const float enclosing_height = std::max(a.ymax(), b.ymax()) - std::min(a.ymin, b.ymin);
    normalization = enclosing_width * enclosing_height;
  } else {
    normalization = a.width * a.height + b.width * b.height - intersection;
  }
  return normalization > 0 ? intersection / normalization : 0.0f;
}

namespace {
// Detection `best` with corners and keypoints replaced by the score-weighted
// mean over `cluster` (which includes `best`).
Detection WeightedMean(const Detection& best, const std::vector<const Detection*>& cluster) {
  float total_score = 0, xmin = 0, ymin = 0, xmax = 0, ymax = 0;
  std::vector<NormalizedKeypoint> keypoints(best.keypoints.size());
  for (const Detection* member : cluster) {
    const float weight = member->score;
    total_score += weight;
    xmin += member->xmin * weight;
    ymin += member->ymin * weight;
    xmax += member->xmax() * weight;
    ymax += member->ymax() * weight;
    // Detections from one decoder have the same keypoint count; a stray one with fewer keeps best's.
    for (size_t k = 0; k < keypoints.size(); ++k) {
      const NormalizedKeypoint& point = k < member->keypoints.size() ? member->keypoints[k] : best.keypoints[k];
      keypoints[k].x += point.x * weight;
      keypoints[k].y += point.y * weight;
    }
  }
  if (!(total_score > 0)) return best;  // all-zero scores: no meaningful weights
  Detection merged = best;
  merged.xmin = xmin / total_score;
  merged.ymin = ymin / total_score;
  merged.width = xmax / total_score - merged.xmin;
  merged.height = ymax / total_score - merged.ymin;
  for (size_t k = 0; k < keypoints.size(); ++k) {
    merged.keypoints[k] = {keypoints[k].x / total_score, keypoints[k].y / total_score};
  }
  return merged;
}
}  // namespace

std::vector<Detection> NonMaxSuppression(std::vector<Detection> detections,
                                         const NonMaxSuppressionCalculatorOptions& options) {
  const auto overlap_type = options.overlap_type();
  const float threshold = options.min_suppression_threshold();
  const size_t max_out = options.max_num_detections() < 0 ? detections.size()
                                                          : static_cast<size_t>(options.max_num_detections());
  // Stable: equal scores keep decoder (anchor) order, so results are deterministic.
  std::erase_if(detections, [&](const Detection& d) { return !(d.score >= options.min_score_threshold()); });
  std::stable_sort(detections.begin(), detections.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });

  std::vector<Detection> kept;
  if (options.algorithm() == NonMaxSuppressionCalculatorOptions::WEIGHTED) {
    std::vector<const Detection*> remaining;
    for (const Detection& detection : detections) remaining.push_back(&detection);
    while (!remaining.empty() && kept.size() < max_out) {
      const Detection& best = *remaining.front();
      // `best` always joins its own cluster, even when degenerate (overlap 0 with itself).
      std::vector<const Detection*> cluster = {&best};
      std::vector<const Detection*> rest;
      for (size_t i = 1; i < remaining.size(); ++i) {
        (BoxOverlap(*remaining[i], best, overlap_type) > threshold ? cluster : rest).push_back(remaining[i]);
      }
      kept.push_back(WeightedMean(best, cluster));
      remaining = std::move(rest);
    }
  } else {
    for (const Detection& candidate : detections) {
      if (kept.size() >= max_out) break;
      const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const Detection& k) {
        return BoxOverlap(candidate, k, overlap_type) > threshold;
      });
      if (!suppressed) kept.push_back(candidate);
    }
  }
  return kept;
}

class NonMaxSuppressionCalculator : public CalculatorBase {
 public:
  using Options = NonMaxSuppressionCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<std::vector<Detection>>("DETECTIONS").Doc("detections, possibly overlapping");
    cc->Output<std::vector<Detection>>("DETECTIONS").Doc("one detection per object, best score first");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Non-maximum suppression. DEFAULT keeps the best detection and drops those overlapping a kept one "
        "above min_suppression_threshold; WEIGHTED replaces each cluster by its best detection with "
        "score-weighted mean corners and keypoints (BlazeFace). Overlap is IoU, or MediaPipe's "
        "\"JACCARD\" (intersection over the enclosing box) as MEDIAPIPE_JACCARD_ENCLOSING_BOX_COMPAT.");
    cc->SetExampleConfig(R"(node {
  calculator: "NonMaxSuppressionCalculator"
  input_stream: "DETECTIONS:raw_detections"
  output_stream: "DETECTIONS:detections"
  options { [edgepipe.NonMaxSuppressionCalculatorOptions.ext] { algorithm: WEIGHTED min_suppression_threshold: 0.3 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (!(options_.min_suppression_threshold() >= 0 && options_.min_suppression_threshold() <= 1)) {
      return InvalidArgumentError("NonMaxSuppressionCalculator: min_suppression_threshold must be in [0, 1], got {}",
                                  options_.min_suppression_threshold());
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const std::vector<Detection>* detections,
                        cc->Inputs().Tag("DETECTIONS").Get<std::vector<Detection>>());
    return cc->Outputs().Tag("DETECTIONS").Add(NonMaxSuppression(*detections, options_), cc->InputTimestamp());
  }

 private:
  Options options_;
};

EDGEPIPE_REGISTER_CALCULATOR(NonMaxSuppressionCalculator);

}  // namespace edgepipe
