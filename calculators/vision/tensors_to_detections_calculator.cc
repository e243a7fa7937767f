// TensorsToDetectionsCalculator: decodes an SSD-style detector's raw outputs
// (box regressions relative to anchors, and class logits) into detections.
//
// Input   TENSORS (std::vector<Tensor>): [0] boxes, float32 with num_boxes ×
//         num_coords values ([1, N, C]); [1] scores, float32 with num_boxes ×
//         num_classes values ([1, N, K]).
// Output  DETECTIONS (std::vector<Detection>): boxes scoring ≥ min_score_thresh,
//         normalised to the model input, in anchor order (one packet per input,
//         empty when nothing was found).
// Side    ANCHORS (std::vector<Anchor>, optional): from SsdAnchorsCalculator;
//         without it the `anchors` option is used.
// Options TensorsToDetectionsCalculatorOptions: num_classes, num_boxes,
//         num_coords, offsets, num_keypoints, box_format, x/y/w/h_scale,
//         apply_exponential_on_box_size, sigmoid_score, score_clipping_thresh,
//         min_score_thresh, allowed/ignored labels, anchors.
//
// With anchor a: xc = rx/x_scale·a.w + a.xc; yc = ry/y_scale·a.h + a.yc;
// w = rw/w_scale·a.w (or exp(rw/w_scale)·a.w); h likewise; keypoint k at
// keypoint_coord_offset + k·num_values_per_keypoint decoded like the centre.
// Score = max over allowed classes; with sigmoid_score the logit is clipped to
// ±score_clipping_thresh before the sigmoid (so exp never overflows).
//
//   node {
//     calculator: "TensorsToDetectionsCalculator"
//     input_stream: "TENSORS:raw_outputs"
//     output_stream: "DETECTIONS:raw_detections"
//     options { [edgepipe.TensorsToDetectionsCalculatorOptions.ext] {
//       num_classes: 1 num_boxes: 896 num_coords: 16 keypoint_coord_offset: 4 num_keypoints: 6
//       x_scale: 128 y_scale: 128 w_scale: 128 h_scale: 128
//       sigmoid_score: true score_clipping_thresh: 100 min_score_thresh: 0.5
//       anchors { input_size_width: 128 input_size_height: 128 num_layers: 4
//                 strides: [8, 16, 16, 16] aspect_ratios: 1 fixed_anchor_size: true } } }
//   }
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>
#include <vector>

#include "calculators/types/detection.h"
#include "calculators/types/tensor.h"
#include "calculators/vision/ssd_detection.h"
#include "calculators/vision/tensors_to_detections_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

namespace {
Status CheckDecoderOptions(const TensorsToDetectionsCalculatorOptions& options) {
  if (options.num_classes() <= 0 || options.num_boxes() <= 0 || options.num_coords() <= 0) {
    return InvalidArgumentError("TensorsToDetectionsCalculator needs positive num_classes, num_boxes and num_coords, got {}, {}, {}",
                                options.num_classes(), options.num_boxes(), options.num_coords());
  }
  if (options.box_coord_offset() < 0 || options.box_coord_offset() + 4 > options.num_coords()) {
    return InvalidArgumentError("TensorsToDetectionsCalculator: box_coord_offset {} + 4 values exceed num_coords {}",
                                options.box_coord_offset(), options.num_coords());
  }
  if (options.num_keypoints() < 0 || options.num_values_per_keypoint() < 2) {
    return InvalidArgumentError("TensorsToDetectionsCalculator: num_keypoints must be ≥ 0 and num_values_per_keypoint ≥ 2");
  }
  if (options.num_keypoints() > 0 &&
      (options.keypoint_coord_offset() < 0 ||
       options.keypoint_coord_offset() + options.num_keypoints() * options.num_values_per_keypoint() > options.num_coords())) {
    return InvalidArgumentError(
        "TensorsToDetectionsCalculator: {} keypoints × {} values from offset {} exceed num_coords {}",
        options.num_keypoints(), options.num_values_per_keypoint(), options.keypoint_coord_offset(), options.num_coords());
  }
  if (options.x_scale() == 0 || options.y_scale() == 0 || options.w_scale() == 0 || options.h_scale() == 0) {
    return InvalidArgumentError("TensorsToDetectionsCalculator: x/y/w/h_scale must be non-zero");
  }
  return OkStatus();
}
}  // namespace

Result<std::vector<Detection>> DecodeSsdDetections(const float* raw_boxes, const float* raw_scores,
                                                   const std::vector<Anchor>& anchors,
                                                   const TensorsToDetectionsCalculatorOptions& options) {
  EP_RETURN_IF_ERROR(CheckDecoderOptions(options));
  const int num_boxes = options.num_boxes();
  if (anchors.size() != static_cast<size_t>(num_boxes)) {
    return InvalidArgumentError("TensorsToDetectionsCalculator: {} anchors for num_boxes {}", anchors.size(), num_boxes);
  }
  // Which classes count towards a box's score.
  std::vector<bool> class_counts(static_cast<size_t>(options.num_classes()), options.allowed_labels_size() == 0);
  for (int label : options.allowed_labels()) {
    if (label >= 0 && label < options.num_classes()) class_counts[static_cast<size_t>(label)] = true;
  }
  for (int label : options.ignored_labels()) {
    if (label >= 0 && label < options.num_classes()) class_counts[static_cast<size_t>(label)] = false;
  }
  const bool has_min_score = options.has_min_score_thresh();
  const bool xywh = options.box_format() == TensorsToDetectionsCalculatorOptions::XYWH;

  std::vector<Detection> detections;
  for (int box = 0; box < num_boxes; ++box) {
    // Best class first: most boxes fail the threshold and need no box decoding.
    const float* scores = raw_scores + static_cast<size_t>(box) * options.num_classes();
    int best_class = -1;
    float best_score = -std::numeric_limits<float>::infinity();
    for (int c = 0; c < options.num_classes(); ++c) {
      if (class_counts[static_cast<size_t>(c)] && scores[c] > best_score) {
        best_score = scores[c];
        best_class = c;
      }
    }
    if (best_class < 0) continue;
    if (options.sigmoid_score()) {
      // The sigmoid is monotonic, so the best logit gives the best probability.
      if (options.score_clipping_thresh() > 0) {
        best_score = std::clamp(best_score, -options.score_clipping_thresh(), options.score_clipping_thresh());
      }
      best_score = 1.0f / (1.0f + std::exp(-best_score));
    }
    if (std::isnan(best_score) || (has_min_score && best_score < options.min_score_thresh())) continue;

    const Anchor& anchor = anchors[static_cast<size_t>(box)];
    const float* values = raw_boxes + static_cast<size_t>(box) * options.num_coords();
    const float* box_values = values + options.box_coord_offset();
    const float raw_x = xywh ? box_values[0] : box_values[1];
    const float raw_y = xywh ? box_values[1] : box_values[0];
    const float raw_w = xywh ? box_values[2] : box_values[3];
    const float raw_h = xywh ? box_values[3] : box_values[2];
    const float x_center = raw_x / options.x_scale() * anchor.width + anchor.x_center;
    const float y_center = raw_y / options.y_scale() * anchor.height + anchor.y_center;
    const float width = options.apply_exponential_on_box_size() ? std::exp(raw_w / options.w_scale()) * anchor.width
                                                                : raw_w / options.w_scale() * anchor.width;
    const float height = options.apply_exponential_on_box_size() ? std::exp(raw_h / options.h_scale()) * anchor.height
                                                                 : raw_h / options.h_scale() * anchor.height;
    // `!(x > 0)` also rejects NaN: such boxes cannot be drawn or compared.
    if (!(width > 0) || !(height > 0) || !std::isfinite(x_center) || !std::isfinite(y_center)) continue;

    Detection detection;
    detection.xmin = x_center - width / 2;
    detection.ymin = y_center - height / 2;
    detection.width = width;
    detection.height = height;
    detection.score = best_score;
    detection.label_id = best_class;
    detection.keypoints.reserve(static_cast<size_t>(options.num_keypoints()));
    for (int k = 0; k < options.num_keypoints(); ++k) {
      const float* keypoint = values + options.keypoint_coord_offset() + k * options.num_values_per_keypoint();
      const float raw_kx = xywh ? keypoint[0] : keypoint[1];
      const float raw_ky = xywh ? keypoint[1] : keypoint[0];
      detection.keypoints.push_back({raw_kx / options.x_scale() * anchor.width + anchor.x_center,
                                     raw_ky / options.y_scale() * anchor.height + anchor.y_center});
    }
    detections.push_back(std::move(detection));
  }
  return detections;
}

class TensorsToDetectionsCalculator : public CalculatorBase {
 public:
  using Options = TensorsToDetectionsCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<std::vector<Tensor>>("TENSORS").Doc("[0] boxes (num_boxes × num_coords), [1] scores (num_boxes × num_classes)");
    cc->Output<std::vector<Detection>>("DETECTIONS").Doc("decoded detections, normalised to the model input");
    cc->InputSidePacket<std::vector<Anchor>>("ANCHORS").Optional().Doc("from SsdAnchorsCalculator; else the anchors option");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Decodes an SSD-style detector's raw box and score tensors into detections (MediaPipe's "
        "TensorsToDetectionsCalculator semantics): boxes and keypoints relative to anchors, divided by "
        "x/y/w/h_scale, optional exp on sizes; score = best allowed class, optionally clipped then "
        "sigmoid; boxes below min_score_thresh or with empty/NaN size are dropped. Emits one (possibly "
        "empty) vector per input.");
    cc->SetExampleConfig(R"(node {
  calculator: "TensorsToDetectionsCalculator"
  input_stream: "TENSORS:raw_outputs"
  output_stream: "DETECTIONS:raw_detections"
  options { [edgepipe.TensorsToDetectionsCalculatorOptions.ext] {
    num_classes: 1 num_boxes: 896 num_coords: 16 keypoint_coord_offset: 4 num_keypoints: 6
    x_scale: 128 y_scale: 128 w_scale: 128 h_scale: 128
    sigmoid_score: true score_clipping_thresh: 100 min_score_thresh: 0.5
    anchors { input_size_width: 128 input_size_height: 128 num_layers: 4
              strides: [8, 16, 16, 16] aspect_ratios: 1 fixed_anchor_size: true } } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    auto checked = CheckDecoderOptions(options_);
    if (!checked.ok()) return checked;
    const auto& side_packets = cc->InputSidePackets();
    if (side_packets.HasTag("ANCHORS") && !side_packets.Tag("ANCHORS").IsEmpty()) {
      EP_ASSIGN_OR_RETURN(const std::vector<Anchor>* anchors, side_packets.Tag("ANCHORS").Get<std::vector<Anchor>>());
      anchors_ = *anchors;
    } else if (options_.has_anchors()) {
      auto anchors = GenerateSsdAnchors(options_.anchors());
      if (!anchors.ok()) return anchors.status().WithContext("TensorsToDetectionsCalculator");
      anchors_ = std::move(*anchors);
    } else {
      return InvalidArgumentError("TensorsToDetectionsCalculator needs anchors: the ANCHORS side packet or the anchors option");
    }
    if (anchors_.size() != static_cast<size_t>(options_.num_boxes())) {
      return InvalidArgumentError("TensorsToDetectionsCalculator: {} anchors but num_boxes is {}", anchors_.size(),
                                  options_.num_boxes());
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const std::vector<Tensor>* tensors, cc->Inputs().Tag("TENSORS").Get<std::vector<Tensor>>());
    if (tensors->size() < 2) {
      return InvalidArgumentError("TensorsToDetectionsCalculator needs two tensors (boxes, scores), got {}", tensors->size());
    }
    const Tensor& boxes = (*tensors)[0];
    const Tensor& scores = (*tensors)[1];
    const size_t expected_box_values = static_cast<size_t>(options_.num_boxes()) * options_.num_coords();
    const size_t expected_score_values = static_cast<size_t>(options_.num_boxes()) * options_.num_classes();
    if (boxes.num_elements() != expected_box_values || boxes.empty()) {
      return InvalidArgumentError("TensorsToDetectionsCalculator: box tensor {} should hold {} boxes × {} coords",
                                  boxes.DebugString(), options_.num_boxes(), options_.num_coords());
    }
    if (scores.num_elements() != expected_score_values || scores.empty()) {
      return InvalidArgumentError("TensorsToDetectionsCalculator: score tensor {} should hold {} boxes × {} classes",
                                  scores.DebugString(), options_.num_boxes(), options_.num_classes());
    }
    EP_ASSIGN_OR_RETURN(const float* box_values, boxes.data<float>());
    EP_ASSIGN_OR_RETURN(const float* score_values, scores.data<float>());
    EP_ASSIGN_OR_RETURN(std::vector<Detection> detections,
                        DecodeSsdDetections(box_values, score_values, anchors_, options_));
    return cc->Outputs().Tag("DETECTIONS").Add(std::move(detections), cc->InputTimestamp());
  }

 private:
  Options options_;
  std::vector<Anchor> anchors_;
};

EDGEPIPE_REGISTER_CALCULATOR(TensorsToDetectionsCalculator);

}  // namespace edgepipe
