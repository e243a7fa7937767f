// PostProcessedTensorsToDetectionsCalculator: turns the four outputs of a
// model ending in TFLite_Detection_PostProcess (SSD MobileNet, traffic_model)
// into detections with labels.
//
// Input   TENSORS (std::vector<Tensor>): from first_tensor on, float32 boxes
//         [1, N, 4] (ymin, xmin, ymax, xmax, normalised to the model input),
//         classes [1, N], scores [1, N] and count [1] (valid detections).
// Output  DETECTIONS (std::vector<Detection>): the first `count` detections
//         scoring ≥ min_score_thresh (and allowed), in the model's order (best
//         first), label_id = class and label from the label map.
// Side    LABEL_MAP_PATH (string, optional): overrides options.label_map_path.
// Options PostProcessedTensorsToDetectionsCalculatorOptions: min_score_thresh,
//         label_map_path, allow_labels, allow_label_ids, first_tensor.
//
// The post-processing op already decoded anchors and ran NMS, so this is a
// change of layout only; boxes are not clamped (they may reach past the edges,
// like the op's own output). The model's class c is label map line c (the
// TFLite object-detection convention, coco_labels.txt: 0 = person).
//
//   node {
//     calculator: "PostProcessedTensorsToDetectionsCalculator"
//     input_stream: "TENSORS:raw_outputs"
//     output_stream: "DETECTIONS:detections"
//     options { [edgepipe.PostProcessedTensorsToDetectionsCalculatorOptions.ext] {
//       min_score_thresh: 0.5 label_map_path: "../shared/models/coco_labels.txt" } }
//   }
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "calculators/types/detection.h"
#include "calculators/types/side_packet_values.h"
#include "calculators/types/tensor.h"
#include "calculators/vision/label_map.h"
#include "calculators/vision/post_processed_tensors_to_detections_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class PostProcessedTensorsToDetectionsCalculator : public CalculatorBase {
 public:
  using Options = PostProcessedTensorsToDetectionsCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<std::vector<Tensor>>("TENSORS").Doc("boxes [1,N,4], classes [1,N], scores [1,N], count [1] from first_tensor on");
    cc->Output<std::vector<Detection>>("DETECTIONS").Doc("detections normalised to the model input, with labels");
    cc->AddInputSidePacket("LABEL_MAP_PATH", TypeId::Any()).Optional().Doc("label map file (string)");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Converts the outputs of TFLite_Detection_PostProcess (boxes as ymin, xmin, ymax, xmax; classes; "
        "scores; count) into detections with label ids and labels from a label map, keeping those scoring at "
        "least min_score_thresh and, optionally, only some labels. Emits one (possibly empty) vector per input.");
    cc->SetExampleConfig(R"(node {
  calculator: "PostProcessedTensorsToDetectionsCalculator"
  input_stream: "TENSORS:raw_outputs"
  output_stream: "DETECTIONS:detections"
  options { [edgepipe.PostProcessedTensorsToDetectionsCalculatorOptions.ext] {
    min_score_thresh: 0.5 label_map_path: "../shared/models/coco_labels.txt" } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (options_.first_tensor() < 0) {
      return InvalidArgumentError("PostProcessedTensorsToDetectionsCalculator: first_tensor must be ≥ 0, got {}",
                                  options_.first_tensor());
    }
    EP_ASSIGN_OR_RETURN(std::optional<std::string> side_path, StringSidePacket(*cc, "LABEL_MAP_PATH"));
    const std::string label_map_path = side_path.value_or(options_.label_map_path());
    if (!label_map_path.empty()) {
      auto labels = ReadLabelMap(label_map_path);
      if (!labels.ok()) return labels.status().WithContext("PostProcessedTensorsToDetectionsCalculator");
      labels_ = std::move(*labels);
    }
    if (options_.allow_labels_size() > 0 && labels_.empty()) {
      return InvalidArgumentError("PostProcessedTensorsToDetectionsCalculator: allow_labels needs a label map");
    }
    for (const std::string& label : options_.allow_labels()) {
      if (std::find(labels_.begin(), labels_.end(), label) == labels_.end()) {
        return InvalidArgumentError("PostProcessedTensorsToDetectionsCalculator: allow_labels names '{}', which is not in the label map",
                                    label);
      }
    }
    allowed_labels_.insert(options_.allow_labels().begin(), options_.allow_labels().end());
    allowed_ids_.insert(options_.allow_label_ids().begin(), options_.allow_label_ids().end());
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const std::vector<Tensor>* tensors, cc->Inputs().Tag("TENSORS").Get<std::vector<Tensor>>());
    const size_t first = static_cast<size_t>(options_.first_tensor());
    if (tensors->size() < first + 4) {
      return InvalidArgumentError(
          "PostProcessedTensorsToDetectionsCalculator needs 4 tensors (boxes, classes, scores, count) from index {}, got {} tensors",
          first, tensors->size());
    }
    const Tensor& boxes = (*tensors)[first];
    const Tensor& classes = (*tensors)[first + 1];
    const Tensor& scores = (*tensors)[first + 2];
    const Tensor& count = (*tensors)[first + 3];
    EP_ASSIGN_OR_RETURN(const float* box_values, boxes.data<float>());
    EP_ASSIGN_OR_RETURN(const float* class_values, classes.data<float>());
    EP_ASSIGN_OR_RETURN(const float* score_values, scores.data<float>());
    EP_ASSIGN_OR_RETURN(const float* count_value, count.data<float>());
    const size_t capacity = scores.num_elements();
    if (count.num_elements() < 1 || classes.num_elements() != capacity || boxes.num_elements() != 4 * capacity) {
      return InvalidArgumentError(
          "PostProcessedTensorsToDetectionsCalculator: inconsistent tensors: boxes {}, classes {}, scores {}, count {}",
          boxes.DebugString(), classes.DebugString(), scores.DebugString(), count.DebugString());
    }
    if (!(count_value[0] >= 0) || count_value[0] > static_cast<float>(capacity)) {
      return InvalidArgumentError("PostProcessedTensorsToDetectionsCalculator: count {} outside 0..{}", count_value[0],
                                  capacity);
    }
    const size_t valid = static_cast<size_t>(count_value[0]);
    std::vector<Detection> detections;
    for (size_t i = 0; i < valid; ++i) {
      const float score = score_values[i];
      if (!(score >= options_.min_score_thresh())) continue;
      const int class_id = static_cast<int>(std::lround(class_values[i]));
      if (!allowed_ids_.empty() && !allowed_ids_.count(class_id)) continue;
      Detection detection;
      if (!labels_.empty()) {
        if (class_id < 0 || static_cast<size_t>(class_id) >= labels_.size()) {
          return InvalidArgumentError("PostProcessedTensorsToDetectionsCalculator: class {} but the label map has {} labels",
                                      class_id, labels_.size());
        }
        detection.label = labels_[static_cast<size_t>(class_id)];
        if (!allowed_labels_.empty() && !allowed_labels_.count(detection.label)) continue;
      }
      const float* box = box_values + 4 * i;  // ymin, xmin, ymax, xmax
      detection.ymin = box[0];
      detection.xmin = box[1];
      detection.height = box[2] - box[0];
      detection.width = box[3] - box[1];
      detection.score = score;
      detection.label_id = class_id;
      detections.push_back(std::move(detection));
    }
    return cc->Outputs().Tag("DETECTIONS").Add(std::move(detections), cc->InputTimestamp());
  }

 private:
  Options options_;
  std::vector<std::string> labels_;
  std::set<std::string> allowed_labels_;
  std::set<int> allowed_ids_;
};

EDGEPIPE_REGISTER_CALCULATOR(PostProcessedTensorsToDetectionsCalculator);

}  // namespace edgepipe
