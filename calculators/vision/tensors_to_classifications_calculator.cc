// TensorsToClassificationsCalculator: turns an image classifier's score
// tensor into its top-K classes with labels.
//
// Input   TENSORS (std::vector<Tensor>): the model outputs; tensor_index picks
//         the scores, [1, N] or [N] (float32, or uint8/int8 with their
//         quantization). Or TENSOR (Tensor): the scores alone.
// Output  CLASSIFICATIONS (std::vector<Classification>): best first, at most
//         top_k, each with index, dequantized score and label.
// Side    LABEL_MAP_PATH (string, optional): overrides options.label_map_path.
// Options TensorsToClassificationsCalculatorOptions: tensor_index, top_k,
//         min_score_thresh, label_map_path, allow_labels, deny_labels,
//         apply_softmax.
//
// Equal scores (common with uint8 outputs) are ordered by class index, so the
// order is deterministic and matches `edgepipe infer --top`. A label map must
// have one line per class: a map of the wrong length is an error naming both
// counts (a 1000-line map on a 1001-class model would shift every label).
//
//   node {
//     calculator: "TensorsToClassificationsCalculator"
//     input_stream: "TENSORS:scores"
//     output_stream: "CLASSIFICATIONS:classifications"
//     options { [edgepipe.TensorsToClassificationsCalculatorOptions.ext] {
//       top_k: 3 label_map_path: "../shared/models/imagenet_labels.txt" deny_labels: "background" } }
//   }
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <unordered_set>
#include <vector>

#include "calculators/types/classification.h"
#include "calculators/types/side_packet_values.h"
#include "calculators/types/tensor.h"
#include "calculators/vision/label_map.h"
#include "calculators/vision/tensors_to_classifications_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

namespace {

template <typename T>
void Dequantize(const Tensor& tensor, std::vector<float>& scores) {
  const T* data = static_cast<const T*>(tensor.raw_data());
  const auto& quantization = tensor.quantization();
  const float scale = quantization.scale.empty() ? 1.0f : quantization.scale[0];
  const float zero_point = quantization.zero_point.empty() ? 0.0f : static_cast<float>(quantization.zero_point[0]);
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = scale * (static_cast<float>(data[i]) - zero_point);
}

// The scores as floats; an error naming the tensor when it is not a score vector.
Result<std::vector<float>> Scores(const Tensor& tensor) {
  const auto& shape = tensor.shape();
  if (tensor.empty() || shape.empty()) return InvalidArgumentError("the score tensor {} is empty", tensor.DebugString());
  for (size_t d = 0; d + 1 < shape.size(); ++d) {
    if (shape[d] != 1) return InvalidArgumentError("expected scores of shape [1, N] or [N], got {}", tensor.DebugString());
  }
  std::vector<float> scores(static_cast<size_t>(shape.back()));
  switch (tensor.dtype()) {
    case TensorDType::kFloat32: Dequantize<float>(tensor, scores); break;
    case TensorDType::kUInt8: Dequantize<uint8_t>(tensor, scores); break;
    case TensorDType::kInt8: Dequantize<int8_t>(tensor, scores); break;
    default: return InvalidArgumentError("scores must be float32, uint8 or int8, got {}", tensor.DebugString());
  }
  return scores;
}

void Softmax(std::vector<float>& scores) {
  const float max_score = *std::max_element(scores.begin(), scores.end());
  double sum = 0.0;
  for (float& score : scores) sum += (score = std::exp(score - max_score));
  for (float& score : scores) score = static_cast<float>(score / sum);
}
}  // namespace

class TensorsToClassificationsCalculator : public CalculatorBase {
 public:
  using Options = TensorsToClassificationsCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<std::vector<Tensor>>("TENSORS").Optional().Doc("model outputs; tensor_index picks the scores");
    cc->Input<Tensor>("TENSOR").Optional().Doc("the score tensor alone");
    cc->Output<std::vector<Classification>>("CLASSIFICATIONS").Doc("top classes, best first");
    cc->AddInputSidePacket("LABEL_MAP_PATH", TypeId::Any()).Optional().Doc("label map file (string)");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Turns a classifier's score tensor (float32, or uint8/int8 dequantized) into the top-K classes with "
        "labels from a label map, best first (ties by class index). Filters: min_score_thresh, allow_labels, "
        "deny_labels; optional softmax for logits.");
    cc->SetExampleConfig(R"(node {
  calculator: "TensorsToClassificationsCalculator"
  input_stream: "TENSORS:scores"
  output_stream: "CLASSIFICATIONS:classifications"
  options { [edgepipe.TensorsToClassificationsCalculatorOptions.ext] {
    top_k: 3 label_map_path: "../shared/models/imagenet_labels.txt" deny_labels: "background" } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (cc->Inputs().HasTag("TENSORS") == cc->Inputs().HasTag("TENSOR")) {
      return InvalidArgumentError("TensorsToClassificationsCalculator takes either TENSORS or TENSOR, not {}",
                                  cc->Inputs().HasTag("TENSOR") ? "both" : "neither");
    }
    if (options_.top_k() < 0) return InvalidArgumentError("top_k must be ≥ 0, got {}", options_.top_k());
    if (options_.tensor_index() < 0) return InvalidArgumentError("tensor_index must be ≥ 0, got {}", options_.tensor_index());
    EP_ASSIGN_OR_RETURN(std::optional<std::string> side_path, StringSidePacket(*cc, "LABEL_MAP_PATH"));
    const std::string label_map_path = side_path.value_or(options_.label_map_path());
    if (!label_map_path.empty()) {
      auto labels = ReadLabelMap(label_map_path);
      if (!labels.ok()) return labels.status().WithContext("TensorsToClassificationsCalculator");
      labels_ = std::move(*labels);
    }
    if (labels_.empty() && (options_.allow_labels_size() > 0 || options_.deny_labels_size() > 0)) {
      return InvalidArgumentError("TensorsToClassificationsCalculator: allow_labels/deny_labels need a label map");
    }
    for (const std::string& label : options_.allow_labels()) EP_RETURN_IF_ERROR(CheckKnown(label, "allow_labels"));
    for (const std::string& label : options_.deny_labels()) EP_RETURN_IF_ERROR(CheckKnown(label, "deny_labels"));
    allowed_.insert(options_.allow_labels().begin(), options_.allow_labels().end());
    denied_.insert(options_.deny_labels().begin(), options_.deny_labels().end());
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    const Tensor* tensor = nullptr;
    if (cc->Inputs().HasTag("TENSOR")) {
      EP_ASSIGN_OR_RETURN(tensor, cc->Inputs().Tag("TENSOR").Get<Tensor>());
    } else {
      EP_ASSIGN_OR_RETURN(const std::vector<Tensor>* tensors, cc->Inputs().Tag("TENSORS").Get<std::vector<Tensor>>());
      if (options_.tensor_index() >= static_cast<int>(tensors->size())) {
        return InvalidArgumentError("TensorsToClassificationsCalculator: tensor_index {} but only {} tensors arrived",
                                    options_.tensor_index(), tensors->size());
      }
      tensor = &(*tensors)[options_.tensor_index()];
    }
    auto scores = Scores(*tensor);
    if (!scores.ok()) return scores.status().WithContext("TensorsToClassificationsCalculator");
    if (!labels_.empty() && labels_.size() != scores->size()) {
      return InvalidArgumentError("TensorsToClassificationsCalculator: the label map has {} labels, the model {} classes",
                                  labels_.size(), scores->size());
    }
    if (options_.apply_softmax()) Softmax(*scores);

    std::vector<int> candidates;
    for (int index = 0; index < static_cast<int>(scores->size()); ++index) {
      if (options_.has_min_score_thresh() && (*scores)[index] < options_.min_score_thresh()) continue;
      if (!labels_.empty()) {
        const std::string& label = labels_[index];
        if (!allowed_.empty() && !allowed_.count(label)) continue;
        if (denied_.count(label)) continue;
      }
      candidates.push_back(index);
    }
    const size_t k = options_.top_k() == 0 ? candidates.size()
                                           : std::min(candidates.size(), static_cast<size_t>(options_.top_k()));
    std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(), [&](int a, int b) {
      return (*scores)[a] > (*scores)[b] || ((*scores)[a] == (*scores)[b] && a < b);
    });
    std::vector<Classification> classifications;
    classifications.reserve(k);
    for (size_t r = 0; r < k; ++r) {
      const int index = candidates[r];
      classifications.push_back({index, (*scores)[index], labels_.empty() ? std::string() : labels_[index]});
    }
    return cc->Outputs().Tag("CLASSIFICATIONS").Add(std::move(classifications), cc->InputTimestamp());
  }

 private:
  Status CheckKnown(const std::string& label, const char* field) const {
    if (std::find(labels_.begin(), labels_.end(), label) == labels_.end()) {
      return InvalidArgumentError("TensorsToClassificationsCalculator: {} names \"{}\", which the label map does not have",
                                  field, label);
    }
    return OkStatus();
  }

  Options options_;
  std::vector<std::string> labels_;
  std::unordered_set<std::string> allowed_, denied_;
};

EDGEPIPE_REGISTER_CALCULATOR(TensorsToClassificationsCalculator);

}  // namespace edgepipe
