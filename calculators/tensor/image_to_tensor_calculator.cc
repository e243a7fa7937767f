// ImageToTensorCalculator: turns a frame into a model input tensor (NHWC),
// normalised to a float range or quantized to uint8/int8.
//
// Input   IMAGE (ImageFrame), already at the model's size and channel order
//         (LetterboxCalculator / ImageResizeCalculator, ColorConvertCalculator).
// Output  TENSOR (Tensor): [1, H, W, C] (or [H, W, C]).
// Options ImageToTensorCalculatorOptions: output_type, range_min, range_max,
//         quantization_scale, quantization_zero_point, add_batch_dimension.
//
// Each pixel p (0..255) becomes real = range_min + p × (range_max − range_min)/255;
// quantized outputs store round(real / scale) + zero_point, saturated, with the
// scale and zero point recorded on the tensor. The whole conversion is one
// OpenCV convertTo (vectorised) straight into the tensor's buffer.
//
//   node {
//     calculator: "ImageToTensorCalculator"
//     input_stream: "IMAGE:model_input"
//     output_stream: "TENSOR:input_tensor"
//     options { [edgepipe.ImageToTensorCalculatorOptions.ext] { range_min: -1 range_max: 1 } }
//   }
#include <cmath>

#include <opencv2/core.hpp>

#include "calculators/tensor/image_to_tensor_calculator.pb.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/tensor.h"
#include "core/calculator.h"

namespace edgepipe {

class ImageToTensorCalculator : public CalculatorBase {
 public:
  using Options = ImageToTensorCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<ImageFrame>("IMAGE").Doc("frame at the model's input size");
    cc->Output<Tensor>("TENSOR").Doc("NHWC tensor");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Converts a frame into an NHWC model input tensor: float32 with pixels mapped linearly onto "
        "[range_min, range_max] (e.g. [-1, 1] or [0, 1]), or uint8/int8 quantized with a given scale "
        "and zero point. Resize, letterbox and colour-convert the frame first.");
    cc->SetExampleConfig(R"(node {
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:model_input"
  output_stream: "TENSOR:input_tensor"
  options { [edgepipe.ImageToTensorCalculatorOptions.ext] { range_min: -1 range_max: 1 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (!(options_.range_max() > options_.range_min())) {
      return InvalidArgumentError("ImageToTensorCalculator needs range_max > range_min, got [{}, {}]",
                                  options_.range_min(), options_.range_max());
    }
    // real = alpha * p + beta
    alpha_ = (static_cast<double>(options_.range_max()) - options_.range_min()) / 255.0;
    beta_ = options_.range_min();
    if (options_.output_type() != Options::FLOAT32) {
      if (options_.quantization_scale() > 0) {
        scale_ = options_.quantization_scale();
        zero_point_ = options_.quantization_zero_point();
      } else {
        // Map [range_min, range_max] onto the full integer range: pixel p is stored as p (uint8) or p − 128 (int8).
        scale_ = alpha_;
        zero_point_ = std::lround(-beta_ / scale_) - (options_.output_type() == Options::INT8 ? 128 : 0);
      }
      if (!(scale_ > 0)) return InvalidArgumentError("quantization_scale must be positive, got {}", scale_);
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    const int channels = image->channels();
    std::vector<int32_t> shape = {image->height(), image->width(), channels};
    if (options_.add_batch_dimension()) shape.insert(shape.begin(), 1);

    TensorDType dtype = TensorDType::kFloat32;
    int cv_depth = CV_32F;
    double alpha = alpha_, beta = beta_;
    TensorQuantization quantization;
    if (options_.output_type() != Options::FLOAT32) {
      dtype = options_.output_type() == Options::UINT8 ? TensorDType::kUInt8 : TensorDType::kInt8;
      cv_depth = options_.output_type() == Options::UINT8 ? CV_8U : CV_8S;
      // q = real / scale + zero_point = (alpha / scale) p + (beta / scale + zero_point); convertTo rounds and saturates.
      alpha = alpha_ / scale_;
      beta = beta_ / scale_ + static_cast<double>(zero_point_);
      quantization.scale = {static_cast<float>(scale_)};
      quantization.zero_point = {zero_point_};
    }
    EP_ASSIGN_OR_RETURN(Tensor tensor, Tensor::Create(dtype, std::move(shape), std::move(quantization)));
    cv::Mat destination(image->height(), image->width(), CV_MAKETYPE(cv_depth, channels), tensor.mutable_raw_data());
    image->mat().convertTo(destination, CV_MAKETYPE(cv_depth, channels), alpha, beta);
    return cc->Outputs().Tag("TENSOR").Add(std::move(tensor), cc->InputTimestamp());
  }

 private:
  Options options_;
  double alpha_ = 1.0, beta_ = 0.0;
  double scale_ = 1.0;
  int64_t zero_point_ = 0;
};

EDGEPIPE_REGISTER_CALCULATOR(ImageToTensorCalculator);

}  // namespace edgepipe
