// TensorsToSegmentationCalculator: turns a segmentation model's output into a
// SegmentationMask projected back onto the input frame.
//
// Input   TENSORS (std::vector<Tensor>): the model outputs; tensor_index picks
//         the mask tensor, one of
//           [1, H, W] or [1, H, W, 1] integer (int64/int32/uint8 without
//             quantization): class labels already (deeplab's ARG_MAX output);
//           [1, H, W, C], C > 1: per-class scores → labels by argmax (first
//             maximum wins, as ARG_MAX);
//           [1, H, W, 1] float32 or quantized: a probability (or a logit with
//             activation SIGMOID).
//         TRANSFORM (LetterboxTransform, optional): how the frame was
//           letterboxed into the model input; the padding is cut off and the
//           mask mapped onto the source frame.
//         IMAGE (ImageFrame, optional): the frame; without TRANSFORM the mask
//           is stretched to its size (the model input was a plain resize).
// Output  MASK (SegmentationMask): labels (CV_8U) or probabilities (CV_32F) at
//         the frame's size (the model's size without TRANSFORM and IMAGE).
// Options TensorsToSegmentationCalculatorOptions: tensor_index, activation,
//         label_map_path.
//
// Labels are projected with nearest-neighbour sampling (labels cannot be
// interpolated), probabilities bilinearly, both as one OpenCV warp through
// pixel centres; frame pixels in the letterbox's padding take the nearest
// mask value.
//
//   node {
//     calculator: "TensorsToSegmentationCalculator"
//     input_stream: "TENSORS:raw_outputs"
//     input_stream: "TRANSFORM:letterbox"
//     output_stream: "MASK:mask"
//     options { [edgepipe.TensorsToSegmentationCalculatorOptions.ext] {
//       label_map_path: "../shared/models/pascal_voc_segmentation_labels.txt" } }
//   }
#include <cmath>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "calculators/types/image_frame.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/types/segmentation_mask.h"
#include "calculators/types/tensor.h"
#include "calculators/vision/label_map.h"
#include "calculators/vision/tensors_to_segmentation_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

namespace {
template <typename T>
float RealValue(const T* data, size_t i, float scale, float zero_point) {
  return scale * (static_cast<float>(data[i]) - zero_point);
}

// Label masks: the tensor holds class indices already.
template <typename T>
Status CopyLabels(const Tensor& tensor, cv::Mat& labels) {
  const T* data = static_cast<const T*>(tensor.raw_data());
  for (int y = 0; y < labels.rows; ++y) {
    uint8_t* row = labels.ptr<uint8_t>(y);
    for (int x = 0; x < labels.cols; ++x) {
      const T value = data[static_cast<size_t>(y) * labels.cols + x];
      if (value < 0 || value > 255) {
        return InvalidArgumentError("label {} at ({}, {}) of {} is outside 0..255", static_cast<int64_t>(value), x, y,
                                    tensor.DebugString());
      }
      row[x] = static_cast<uint8_t>(value);
    }
  }
  return OkStatus();
}

// Per-class scores → argmax labels. Dequantizing keeps the order, so raw values compare directly.
template <typename T>
void ArgmaxLabels(const Tensor& tensor, int channels, cv::Mat& labels) {
  const T* data = static_cast<const T*>(tensor.raw_data());
  for (int y = 0; y < labels.rows; ++y) {
    uint8_t* row = labels.ptr<uint8_t>(y);
    for (int x = 0; x < labels.cols; ++x) {
      const T* scores = data + (static_cast<size_t>(y) * labels.cols + x) * channels;
      int best = 0;
      for (int c = 1; c < channels; ++c) {
        if (scores[c] > scores[best]) best = c;
      }
      row[x] = static_cast<uint8_t>(best);
    }
  }
}

template <typename T>
void Probabilities(const Tensor& tensor, bool sigmoid, cv::Mat& probability) {
  const T* data = static_cast<const T*>(tensor.raw_data());
  const auto& quantization = tensor.quantization();
  const float scale = quantization.scale.empty() ? 1.0f : quantization.scale[0];
  const float zero_point = quantization.zero_point.empty() ? 0.0f : static_cast<float>(quantization.zero_point[0]);
  for (int y = 0; y < probability.rows; ++y) {
    float* row = probability.ptr<float>(y);
    for (int x = 0; x < probability.cols; ++x) {
      float value = RealValue(data, static_cast<size_t>(y) * probability.cols + x, scale, zero_point);
      if (sigmoid) value = 1.0f / (1.0f + std::exp(-value));
      row[x] = std::clamp(value, 0.0f, 1.0f);
    }
  }
}

}  // namespace

class TensorsToSegmentationCalculator : public CalculatorBase {
 public:
  using Options = TensorsToSegmentationCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<std::vector<Tensor>>("TENSORS").Doc("model outputs; tensor_index picks the mask");
    cc->Input<LetterboxTransform>("TRANSFORM").Optional().Doc("letterbox of the model input, to undo");
    cc->Input<ImageFrame>("IMAGE").Optional().Doc("the frame: its size, for a stretched (resized) input");
    cc->Output<SegmentationMask>("MASK").Doc("labels or probabilities at the frame's size");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Decodes a segmentation output into a SegmentationMask: class labels (integer tensors as they are, "
        "multi-channel scores by argmax) or a foreground probability (one channel, optional sigmoid), "
        "projected back onto the frame by undoing the letterbox (TRANSFORM) or the resize (IMAGE size).");
    cc->SetExampleConfig(R"(node {
  calculator: "TensorsToSegmentationCalculator"
  input_stream: "TENSORS:raw_outputs"
  input_stream: "TRANSFORM:letterbox"
  output_stream: "MASK:mask"
  options { [edgepipe.TensorsToSegmentationCalculatorOptions.ext] {
    label_map_path: "../shared/models/pascal_voc_segmentation_labels.txt" } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (options_.tensor_index() < 0) return InvalidArgumentError("tensor_index must be ≥ 0, got {}", options_.tensor_index());
    if (!options_.label_map_path().empty()) {
      auto labels = ReadLabelMap(options_.label_map_path());
      if (!labels.ok()) return labels.status().WithContext("TensorsToSegmentationCalculator");
      labels_ = std::move(*labels);
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const std::vector<Tensor>* tensors, cc->Inputs().Tag("TENSORS").Get<std::vector<Tensor>>());
    if (options_.tensor_index() >= static_cast<int>(tensors->size())) {
      return InvalidArgumentError("TensorsToSegmentationCalculator: tensor_index {} but only {} tensors arrived",
                                  options_.tensor_index(), tensors->size());
    }
    auto decoded = Decode((*tensors)[options_.tensor_index()]);
    if (!decoded.ok()) return decoded.status().WithContext("TensorsToSegmentationCalculator");
    SegmentationMask mask = std::move(*decoded);

    const bool has_transform = cc->Inputs().HasTag("TRANSFORM") && !cc->Inputs().Tag("TRANSFORM").IsEmpty();
    const bool has_image = cc->Inputs().HasTag("IMAGE") && !cc->Inputs().Tag("IMAGE").IsEmpty();
    const int interpolation = mask.kind == SegmentationMask::Kind::kLabels ? cv::INTER_NEAREST : cv::INTER_LINEAR;
    if (has_transform) {
      EP_ASSIGN_OR_RETURN(const LetterboxTransform* transform,
                          cc->Inputs().Tag("TRANSFORM").Get<LetterboxTransform>());
      mask.mask = Unletterbox(mask.mask, *transform, interpolation);
    } else if (has_image) {
      EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
      cv::Mat resized;
      cv::resize(mask.mask, resized, cv::Size(image->width(), image->height()), 0, 0, interpolation);
      mask.mask = resized;
    }
    return cc->Outputs().Tag("MASK").Add(std::move(mask), cc->InputTimestamp());
  }

 private:
  Result<SegmentationMask> Decode(const Tensor& tensor) const {
    const auto& shape = tensor.shape();
    if (tensor.empty() || (shape.size() != 3 && shape.size() != 4) || shape[0] != 1) {
      return InvalidArgumentError("expected a mask tensor [1, H, W] or [1, H, W, C], got {}", tensor.DebugString());
    }
    const int height = shape[1], width = shape[2];
    const int channels = shape.size() == 4 ? shape[3] : 1;
    const TensorDType dtype = tensor.dtype();
    const bool quantized = !tensor.quantization().empty();
    const bool integer_labels =
        dtype == TensorDType::kInt64 || dtype == TensorDType::kInt32 || (dtype == TensorDType::kUInt8 && !quantized);
    SegmentationMask mask;
    mask.labels = labels_;
    if (channels == 1 && integer_labels) {
      mask.kind = SegmentationMask::Kind::kLabels;
      mask.mask.create(height, width, CV_8UC1);
      switch (dtype) {
        case TensorDType::kInt64: EP_RETURN_IF_ERROR(CopyLabels<int64_t>(tensor, mask.mask)); break;
        case TensorDType::kInt32: EP_RETURN_IF_ERROR(CopyLabels<int32_t>(tensor, mask.mask)); break;
        default: EP_RETURN_IF_ERROR(CopyLabels<uint8_t>(tensor, mask.mask)); break;
      }
    } else if (channels > 1) {
      if (channels > 256) return InvalidArgumentError("{} has {} classes; masks hold at most 256", tensor.DebugString(), channels);
      mask.kind = SegmentationMask::Kind::kLabels;
      mask.mask.create(height, width, CV_8UC1);
      switch (dtype) {
        case TensorDType::kFloat32: ArgmaxLabels<float>(tensor, channels, mask.mask); break;
        case TensorDType::kUInt8: ArgmaxLabels<uint8_t>(tensor, channels, mask.mask); break;
        case TensorDType::kInt8: ArgmaxLabels<int8_t>(tensor, channels, mask.mask); break;
        default: return InvalidArgumentError("class scores must be float32, uint8 or int8, got {}", tensor.DebugString());
      }
    } else {
      mask.kind = SegmentationMask::Kind::kProbability;
      mask.labels.clear();
      mask.mask.create(height, width, CV_32FC1);
      const bool sigmoid = options_.activation() == Options::SIGMOID;
      switch (dtype) {
        case TensorDType::kFloat32: Probabilities<float>(tensor, sigmoid, mask.mask); break;
        case TensorDType::kUInt8: Probabilities<uint8_t>(tensor, sigmoid, mask.mask); break;
        case TensorDType::kInt8: Probabilities<int8_t>(tensor, sigmoid, mask.mask); break;
        default: return InvalidArgumentError("a probability mask must be float32, uint8 or int8, got {}", tensor.DebugString());
      }
    }
    return mask;
  }

  // The mask (covering the letterboxed model input, possibly at another
  // resolution) resampled onto the source frame: source pixel centre
  // (i + 0.5) maps to target (i + 0.5)·scale + pad, then to mask pixels.
  static cv::Mat Unletterbox(const cv::Mat& mask, const LetterboxTransform& transform, int interpolation) {
    const double to_mask_x = static_cast<double>(mask.cols) / transform.target_width;
    const double to_mask_y = static_cast<double>(mask.rows) / transform.target_height;
    const double ax = transform.scale_x * to_mask_x, ay = transform.scale_y * to_mask_y;
    const double bx = (0.5 * transform.scale_x + transform.pad_left) * to_mask_x - 0.5;
    const double by = (0.5 * transform.scale_y + transform.pad_top) * to_mask_y - 0.5;
    const cv::Matx23d source_to_mask(ax, 0, bx, 0, ay, by);
    cv::Mat projected;
    cv::warpAffine(mask, projected, source_to_mask, cv::Size(transform.source_width, transform.source_height),
                   interpolation | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
    return projected;
  }

  Options options_;
  std::vector<std::string> labels_;
};

EDGEPIPE_REGISTER_CALCULATOR(TensorsToSegmentationCalculator);

}  // namespace edgepipe
