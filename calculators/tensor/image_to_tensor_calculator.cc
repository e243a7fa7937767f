// ImageToTensorCalculator: turns a frame, or a region of interest of it, into a
// model input tensor (NHWC), normalised to a float range or quantized to uint8/int8.
//
// Input   IMAGE (ImageFrame), in the model's channel order (ColorConvertCalculator),
//         or in any format with tensor_format set to the model's order.
//         NORM_RECT (NormalizedRect, optional) or RECT (Rect, pixels, optional):
//         the region to crop, possibly rotated; the whole frame without one.
// Output  TENSOR (Tensor): [1, H, W, C] (or [H, W, C]).
//         TRANSFORM (LetterboxTransform, optional): where the source landed in
//         the tensor, for DetectionLetterboxRemovalCalculator (unrotated ROIs).
//         ROI (NormalizedRect, optional): the region actually sampled (after
//         growing it to the tensor's aspect ratio), to project landmarks back.
// Options ImageToTensorCalculatorOptions: output_width, output_height,
//         keep_aspect_ratio, border_mode, output_type, range_min, range_max,
//         quantization_scale, quantization_zero_point, add_batch_dimension,
//         tensor_format.
//
// tensor_format converts the sampled pixels, not the frame: a graph whose
// source decodes to BGR and runs the model on a few frames only converts
// 300×300 pixels on those (the tracking graph), instead of every full frame.
//
// With output_width/height set, sampling follows MediaPipe's ImageToTensor-
// Calculator: the ROI (centre, size, rotation in pixels) is grown to the
// tensor's aspect ratio when keep_aspect_ratio is set (the padding), and its
// corners are mapped onto the tensor's corners by one affine warp
// (cv::warpAffine, bilinear, zero or replicated border) — no area averaging, so
// a model sees exactly what it saw under MediaPipe. Without them, the frame must
// already be at the model's size (LetterboxCalculator, ImageResizeCalculator).
//
// Each pixel p (0..255) becomes real = range_min + p × (range_max − range_min)/255;
// quantized outputs store round(real / scale) + zero_point, saturated, with the
// scale and zero point recorded on the tensor (one OpenCV convertTo).
//
//   node {
//     calculator: "ImageToTensorCalculator"
//     input_stream: "IMAGE:frames"
//     output_stream: "TENSOR:input_tensor"
//     output_stream: "TRANSFORM:letterbox"
//     options { [edgepipe.ImageToTensorCalculatorOptions.ext] {
//       output_width: 128 output_height: 128 range_min: -1 range_max: 1 } }
//   }
#include <cmath>
#include <optional>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "calculators/tensor/image_to_tensor_calculator.pb.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/types/normalized_rect.h"
#include "calculators/types/tensor.h"
#include "core/calculator.h"

namespace edgepipe {

namespace {
// The ROI grown to the tensor's aspect ratio (pixels), and the affine map from
// source pixels to tensor pixels taking its corners to the tensor's corners.
struct RoiWarp {
  Rect roi;
  cv::Matx23d source_to_tensor;
};

RoiWarp ComputeRoiWarp(Rect roi, int tensor_width, int tensor_height, bool keep_aspect_ratio) {
  if (keep_aspect_ratio) {
    const double tensor_aspect = static_cast<double>(tensor_height) / tensor_width;
    const double roi_aspect = static_cast<double>(roi.height) / roi.width;
    if (tensor_aspect > roi_aspect) {
      roi.height = static_cast<float>(roi.width * tensor_aspect);
    } else {
      roi.width = static_cast<float>(roi.height / tensor_aspect);
    }
  }
  // A source point s = c + R(θ)·(u, v), (u, v) ∈ [−w/2, w/2] × [−h/2, h/2], lands
  // at ((u + w/2)·W/w, (v + h/2)·H/h): invert the rotation, then scale.
  const double cos_r = std::cos(roi.rotation), sin_r = std::sin(roi.rotation);
  const double sx = tensor_width / static_cast<double>(roi.width);
  const double sy = tensor_height / static_cast<double>(roi.height);
  const double cx = roi.x_center, cy = roi.y_center;
  const cv::Matx23d matrix(sx * cos_r, sx * sin_r, sx * (-cos_r * cx - sin_r * cy + roi.width / 2.0),
                           -sy * sin_r, sy * cos_r, sy * (sin_r * cx - cos_r * cy + roi.height / 2.0));
  return {roi, matrix};
}
}  // namespace

class ImageToTensorCalculator : public CalculatorBase {
 public:
  using Options = ImageToTensorCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<ImageFrame>("IMAGE").Doc("frame (at the model's size unless output_width/height are set)");
    cc->Input<NormalizedRect>("NORM_RECT").Optional().Doc("region to crop, normalised, rotation in radians");
    cc->Input<Rect>("RECT").Optional().Doc("region to crop, in pixels, rotation in radians");
    cc->Output<Tensor>("TENSOR").Doc("NHWC tensor");
    cc->Output<LetterboxTransform>("TRANSFORM").Optional().Doc("source → tensor placement (unrotated ROIs)");
    cc->Output<NormalizedRect>("ROI").Optional().Doc("the region sampled, grown to the tensor's aspect ratio");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Converts a frame, or a (rotated) region of interest of it, into an NHWC model input tensor: "
        "float32 with pixels mapped linearly onto [range_min, range_max], or uint8/int8 quantized. With "
        "output_width/height the region is letterboxed (keep_aspect_ratio) or stretched and sampled as "
        "MediaPipe's ImageToTensorCalculator does (one bilinear affine warp, zero or replicated border); "
        "TRANSFORM and ROI outputs let results be projected back.");
    cc->SetExampleConfig(R"(node {
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:frames"
  output_stream: "TENSOR:input_tensor"
  output_stream: "TRANSFORM:letterbox"
  options { [edgepipe.ImageToTensorCalculatorOptions.ext] {
    output_width: 128 output_height: 128 range_min: -1 range_max: 1
  } }
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
    warp_ = options_.output_width() > 0 || options_.output_height() > 0;
    if (warp_ && (options_.output_width() <= 0 || options_.output_height() <= 0)) {
      return InvalidArgumentError("ImageToTensorCalculator needs both output_width and output_height, got {}x{}",
                                  options_.output_width(), options_.output_height());
    }
    if (warp_) EP_RETURN_IF_ERROR(CheckImageSize(options_.output_width(), options_.output_height(), "ImageToTensorCalculator output"));
    if (!warp_ && (cc->Inputs().HasTag("NORM_RECT") || cc->Inputs().HasTag("RECT") ||
                   cc->Outputs().HasTag("TRANSFORM") || cc->Outputs().HasTag("ROI"))) {
      return InvalidArgumentError(
          "ImageToTensorCalculator: NORM_RECT / RECT / TRANSFORM / ROI need output_width and output_height");
    }
    if (!options_.tensor_format().empty()) {
      auto format = ParseImageFormat(options_.tensor_format());
      if (!format.ok()) return format.status().WithContext("ImageToTensorCalculator tensor_format");
      tensor_format_ = *format;
    }
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
    if (cc->Inputs().Tag("IMAGE").IsEmpty()) return OkStatus();
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    cv::Mat pixels = image->mat();
    if (warp_) {
      Rect roi{image->width() / 2.0f, image->height() / 2.0f, static_cast<float>(image->width()),
               static_cast<float>(image->height()), 0.0f};
      if (cc->Inputs().HasTag("NORM_RECT") && !cc->Inputs().Tag("NORM_RECT").IsEmpty()) {
        EP_ASSIGN_OR_RETURN(const NormalizedRect* rect, cc->Inputs().Tag("NORM_RECT").Get<NormalizedRect>());
        roi = {rect->x_center * image->width(), rect->y_center * image->height(), rect->width * image->width(),
               rect->height * image->height(), rect->rotation};
      } else if (cc->Inputs().HasTag("RECT") && !cc->Inputs().Tag("RECT").IsEmpty()) {
        EP_ASSIGN_OR_RETURN(const Rect* rect, cc->Inputs().Tag("RECT").Get<Rect>());
        roi = *rect;
      } else if (cc->Inputs().HasTag("NORM_RECT") || cc->Inputs().HasTag("RECT")) {
        return OkStatus();  // a ROI stream without a region at this timestamp: nothing to look at
      }
      if (!(roi.width > 0) || !(roi.height > 0)) {
        return InvalidArgumentError("ImageToTensorCalculator: empty region of interest {}x{} at {}", roi.width,
                                    roi.height, cc->InputTimestamp().DebugString());
      }
      const int width = options_.output_width(), height = options_.output_height();
      const RoiWarp warp = ComputeRoiWarp(roi, width, height, options_.keep_aspect_ratio());
      const int border = options_.border_mode() == Options::BORDER_REPLICATE ? cv::BORDER_REPLICATE : cv::BORDER_CONSTANT;
      cv::warpAffine(image->mat(), pixels, warp.source_to_tensor, cv::Size(width, height), cv::INTER_LINEAR, border,
                     cv::Scalar::all(0));
      if (cc->Outputs().HasTag("TRANSFORM")) {
        if (warp.roi.rotation != 0.0f) {
          return InvalidArgumentError("ImageToTensorCalculator: TRANSFORM describes unrotated regions only; use ROI");
        }
        LetterboxTransform transform;
        transform.source_width = image->width(), transform.source_height = image->height();
        transform.target_width = width, transform.target_height = height;
        transform.scale_x = warp.source_to_tensor(0, 0), transform.scale_y = warp.source_to_tensor(1, 1);
        transform.pad_left = warp.source_to_tensor(0, 2), transform.pad_top = warp.source_to_tensor(1, 2);
        EP_RETURN_IF_ERROR(cc->Outputs().Tag("TRANSFORM").Add(transform, cc->InputTimestamp()));
      }
      if (cc->Outputs().HasTag("ROI")) {
        const NormalizedRect sampled{warp.roi.x_center / image->width(), warp.roi.y_center / image->height(),
                                     warp.roi.width / image->width(), warp.roi.height / image->height(),
                                     warp.roi.rotation};
        EP_RETURN_IF_ERROR(cc->Outputs().Tag("ROI").Add(sampled, cc->InputTimestamp()));
      }
    }
    if (tensor_format_ && *tensor_format_ != image->format()) {
      EP_ASSIGN_OR_RETURN(ImageFrame sampled, ImageFrame::FromMat(image->format(), pixels));
      EP_ASSIGN_OR_RETURN(sampled, sampled.ConvertedTo(*tensor_format_));
      pixels = sampled.mat();
    }
    const int channels = pixels.channels();
    std::vector<int32_t> shape = {pixels.rows, pixels.cols, channels};
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
    cv::Mat destination(pixels.rows, pixels.cols, CV_MAKETYPE(cv_depth, channels), tensor.mutable_raw_data());
    pixels.convertTo(destination, CV_MAKETYPE(cv_depth, channels), alpha, beta);
    return cc->Outputs().Tag("TENSOR").Add(std::move(tensor), cc->InputTimestamp());
  }

 private:
  Options options_;
  bool warp_ = false;
  std::optional<ImageFormat> tensor_format_;  // unset: the frame's own
  double alpha_ = 1.0, beta_ = 0.0;
  double scale_ = 1.0;
  int64_t zero_point_ = 0;
};

EDGEPIPE_REGISTER_CALCULATOR(ImageToTensorCalculator);

}  // namespace edgepipe
