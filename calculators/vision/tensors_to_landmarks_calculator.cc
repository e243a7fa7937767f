// TensorsToLandmarksCalculator: decodes a landmark or keypoint model's output
// tensor into a LandmarkList normalised to the original image.
//
// Input   TENSORS (std::vector<Tensor>): the model outputs; tensor_index holds
//         num_landmarks × values_per_landmark values (float32, or uint8/int8
//         dequantized with the tensor's scale and zero point).
//         TRANSFORM (LetterboxTransform, optional): the letterbox the model
//         input was made with; landmarks are mapped back through it.
//         ROI (NormalizedRect, optional): the (rotated) region the model input
//         was cut from (ImageToTensorCalculator's ROI output); landmarks are
//         projected from it onto the image, as MediaPipe's LandmarkProjection.
// Output  LANDMARKS (LandmarkList), with the options' connections.
// Options TensorsToLandmarksCalculatorOptions: layout, num_landmarks,
//         values_per_landmark, input_width, input_height, tensor_index, connections.
//
// XYZ_PIXELS (MediaPipe landmark models): x / input_width, y / input_height,
// z / input_width, score 1. YX_SCORE_NORMALIZED (MoveNet): y, x, score.
// ROI projection: the point relative to the ROI centre is rotated by the ROI's
// rotation and scaled by its size (z by its width).
//
//   node {
//     calculator: "TensorsToLandmarksCalculator"
//     input_stream: "TENSORS:raw_outputs"
//     input_stream: "TRANSFORM:letterbox"
//     output_stream: "LANDMARKS:pose"
//     options { [edgepipe.TensorsToLandmarksCalculatorOptions.ext] { layout: YX_SCORE_NORMALIZED num_landmarks: 17 } }
//   }
#include <cmath>
#include <vector>

#include "calculators/types/landmarks.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/types/normalized_rect.h"
#include "calculators/types/tensor.h"
#include "calculators/vision/tensors_to_landmarks_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

namespace {
// The tensor's values as floats (dequantized when quantized).
Result<std::vector<float>> FloatValues(const Tensor& tensor) {
  const size_t count = tensor.num_elements();
  std::vector<float> values(count);
  const float scale = tensor.quantization().scale.empty() ? 1.0f : tensor.quantization().scale[0];
  const float zero_point = tensor.quantization().zero_point.empty() ? 0.0f : static_cast<float>(tensor.quantization().zero_point[0]);
  switch (tensor.dtype()) {
    case TensorDType::kFloat32: {
      const float* data = static_cast<const float*>(tensor.raw_data());
      values.assign(data, data + count);
      return values;
    }
    case TensorDType::kUInt8: {
      const uint8_t* data = static_cast<const uint8_t*>(tensor.raw_data());
      for (size_t i = 0; i < count; ++i) values[i] = (static_cast<float>(data[i]) - zero_point) * scale;
      return values;
    }
    case TensorDType::kInt8: {
      const int8_t* data = static_cast<const int8_t*>(tensor.raw_data());
      for (size_t i = 0; i < count; ++i) values[i] = (static_cast<float>(data[i]) - zero_point) * scale;
      return values;
    }
    default: return InvalidArgumentError("landmark tensor {} must be float32, uint8 or int8", tensor.DebugString());
  }
}
}  // namespace

class TensorsToLandmarksCalculator : public CalculatorBase {
 public:
  using Options = TensorsToLandmarksCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<std::vector<Tensor>>("TENSORS").Doc("model outputs");
    cc->Input<LetterboxTransform>("TRANSFORM").Optional().Doc("letterbox of the model input, to map back");
    cc->Input<NormalizedRect>("ROI").Optional().Doc("region the model input was cut from, to project back");
    cc->Output<LandmarkList>("LANDMARKS").Doc("landmarks normalised to the image, with the skeleton");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Decodes landmark / keypoint tensors (MediaPipe's x, y, z in input pixels, or MoveNet's y, x, score) "
        "into a LandmarkList normalised to the original image, through the model input's letterbox "
        "(TRANSFORM) or region of interest (ROI, rotated as MediaPipe projects landmarks).");
    cc->SetExampleConfig(R"(node {
  calculator: "TensorsToLandmarksCalculator"
  input_stream: "TENSORS:raw_outputs"
  input_stream: "TRANSFORM:letterbox"
  output_stream: "LANDMARKS:pose"
  options { [edgepipe.TensorsToLandmarksCalculatorOptions.ext] { layout: YX_SCORE_NORMALIZED num_landmarks: 17 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (options_.num_landmarks() <= 0) {
      return InvalidArgumentError("TensorsToLandmarksCalculator needs num_landmarks > 0, got {}", options_.num_landmarks());
    }
    if (options_.layout() == Options::XYZ_PIXELS && (options_.input_width() <= 0 || options_.input_height() <= 0)) {
      return InvalidArgumentError("TensorsToLandmarksCalculator: XYZ_PIXELS needs input_width and input_height");
    }
    if (options_.connections_size() % 2 != 0) {
      return InvalidArgumentError("TensorsToLandmarksCalculator: connections must be index pairs, got {} values",
                                  options_.connections_size());
    }
    for (int i = 0; i < options_.connections_size(); i += 2) {
      const int a = options_.connections(i), b = options_.connections(i + 1);
      if (a < 0 || b < 0 || a >= options_.num_landmarks() || b >= options_.num_landmarks()) {
        return InvalidArgumentError("TensorsToLandmarksCalculator: connection ({}, {}) outside 0..{}", a, b,
                                    options_.num_landmarks() - 1);
      }
      connections_.emplace_back(a, b);
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (cc->Inputs().Tag("TENSORS").IsEmpty()) return OkStatus();
    EP_ASSIGN_OR_RETURN(const std::vector<Tensor>* tensors, cc->Inputs().Tag("TENSORS").Get<std::vector<Tensor>>());
    if (options_.tensor_index() < 0 || options_.tensor_index() >= static_cast<int>(tensors->size())) {
      return InvalidArgumentError("TensorsToLandmarksCalculator: tensor_index {} but the model has {} outputs",
                                  options_.tensor_index(), tensors->size());
    }
    const Tensor& tensor = (*tensors)[options_.tensor_index()];
    EP_ASSIGN_OR_RETURN(std::vector<float> values, FloatValues(tensor));
    const int count = options_.num_landmarks();
    const int stride = options_.values_per_landmark() > 0 ? options_.values_per_landmark()
                                                          : static_cast<int>(values.size()) / count;
    const int needed = options_.layout() == Options::YX_SCORE_NORMALIZED ? 3 : 2;
    if (stride < needed || static_cast<size_t>(count) * stride > values.size()) {
      return InvalidArgumentError("TensorsToLandmarksCalculator: {} holds {} values, too few for {} landmarks × {}",
                                  tensor.DebugString(), values.size(), count, std::max(stride, needed));
    }
    LandmarkList list;
    list.connections = connections_;
    list.landmarks.resize(count);
    for (int i = 0; i < count; ++i) {
      const float* v = values.data() + static_cast<size_t>(i) * stride;
      Landmark& landmark = list.landmarks[i];
      if (options_.layout() == Options::YX_SCORE_NORMALIZED) {
        landmark = {v[1], v[0], 0.0f, v[2]};
      } else {
        landmark = {v[0] / options_.input_width(), v[1] / options_.input_height(),
                    stride > 2 ? v[2] / options_.input_width() : 0.0f, 1.0f};
      }
    }
    if (cc->Inputs().HasTag("TRANSFORM") && !cc->Inputs().Tag("TRANSFORM").IsEmpty()) {
      EP_ASSIGN_OR_RETURN(const LetterboxTransform* transform, cc->Inputs().Tag("TRANSFORM").Get<LetterboxTransform>());
      for (Landmark& landmark : list.landmarks) {
        const cv::Point2d point = transform->NormalizedTargetToSource({landmark.x, landmark.y});
        landmark.x = static_cast<float>(point.x), landmark.y = static_cast<float>(point.y);
      }
    }
    if (cc->Inputs().HasTag("ROI") && !cc->Inputs().Tag("ROI").IsEmpty()) {
      EP_ASSIGN_OR_RETURN(const NormalizedRect* roi, cc->Inputs().Tag("ROI").Get<NormalizedRect>());
      const float cos_r = std::cos(roi->rotation), sin_r = std::sin(roi->rotation);
      for (Landmark& landmark : list.landmarks) {
        const float x = landmark.x - 0.5f, y = landmark.y - 0.5f;
        landmark.x = (cos_r * x - sin_r * y) * roi->width + roi->x_center;
        landmark.y = (sin_r * x + cos_r * y) * roi->height + roi->y_center;
        landmark.z *= roi->width;
      }
    }
    return cc->Outputs().Tag("LANDMARKS").Add(std::move(list), cc->InputTimestamp());
  }

 private:
  Options options_;
  std::vector<std::pair<int, int>> connections_;
};

EDGEPIPE_REGISTER_CALCULATOR(TensorsToLandmarksCalculator);

}  // namespace edgepipe
