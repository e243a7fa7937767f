// LetterboxCalculator: fits frames into a fixed size keeping their aspect
// ratio, padding the rest, and records the transform for projecting results back.
//
// Input   IMAGE (ImageFrame)
// Output  IMAGE (ImageFrame) of exactly width × height, same format.
//         TRANSFORM (LetterboxTransform, optional): scale and padding, with
//         TargetToSource / NormalizedTargetToSource to map detections back.
// Options LetterboxCalculatorOptions: width, height, pad_value, center,
//         area_average_shrinking (cv::INTER_AREA when shrinking; else bilinear).
//
// This is not MediaPipe's sampling (it warps bilinearly with no averaging):
// ImageToTensorCalculator with output_width/height reproduces that.
//
//   node {
//     calculator: "LetterboxCalculator"
//     input_stream: "IMAGE:frames"
//     output_stream: "IMAGE:model_input"
//     output_stream: "TRANSFORM:letterbox"
//     options { [edgepipe.LetterboxCalculatorOptions.ext] { width: 128 height: 128 } }
//   }
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "calculators/image/letterbox_calculator.pb.h"
#include "calculators/types/header_forwarding.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/letterbox_transform.h"
#include "core/calculator.h"

namespace edgepipe {

LetterboxTransform ComputeLetterbox(int source_width, int source_height, int target_width, int target_height,
                                    bool center) {  // declared in letterbox_transform.h
  LetterboxTransform transform;
  transform.source_width = source_width;
  transform.source_height = source_height;
  transform.target_width = target_width;
  transform.target_height = target_height;
  const double scale = std::min(static_cast<double>(target_width) / source_width,
                                static_cast<double>(target_height) / source_height);
  const int content_width = std::clamp(static_cast<int>(std::lround(source_width * scale)), 1, target_width);
  const int content_height = std::clamp(static_cast<int>(std::lround(source_height * scale)), 1, target_height);
  transform.scale_x = static_cast<double>(content_width) / source_width;
  transform.scale_y = static_cast<double>(content_height) / source_height;
  transform.pad_left = center ? (target_width - content_width) / 2 : 0;
  transform.pad_top = center ? (target_height - content_height) / 2 : 0;
  return transform;
}

class LetterboxCalculator : public CalculatorBase {
 public:
  using Options = LetterboxCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<ImageFrame>("IMAGE").Doc("frames of any size");
    cc->Output<ImageFrame>("IMAGE").Doc("width × height frames, aspect ratio kept, padded")
        .QueueLimit(kFrameQueueLimit);
    cc->Output<LetterboxTransform>("TRANSFORM").Optional().Doc("scale and padding, to project results back");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Scales frames uniformly to fit width × height and pads the remaining bars (centred by default), "
        "as detection models expect. The TRANSFORM output records scale and padding so that boxes and "
        "keypoints found on the letterboxed image map back to the original (LetterboxTransform).");
    cc->SetExampleConfig(R"(node {
  calculator: "LetterboxCalculator"
  input_stream: "IMAGE:frames"
  output_stream: "IMAGE:model_input"
  output_stream: "TRANSFORM:letterbox"
  options { [edgepipe.LetterboxCalculatorOptions.ext] { width: 128 height: 128 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (options_.width() <= 0 || options_.height() <= 0) {
      return InvalidArgumentError("LetterboxCalculator needs a positive width and height, got {}x{}", options_.width(),
                                  options_.height());
    }
    EP_RETURN_IF_ERROR(CheckImageSize(options_.width(), options_.height(), "LetterboxCalculator output"));
    if (options_.pad_value() < 0 || options_.pad_value() > 255) {
      return InvalidArgumentError("LetterboxCalculator pad_value must be 0-255, got {}", options_.pad_value());
    }
    return ForwardHeader(cc, "IMAGE", 0, "IMAGE", 0, [this](VideoHeader& header) {
      header.width = options_.width();
      header.height = options_.height();
    });
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    const LetterboxTransform transform =
        ComputeLetterbox(image->width(), image->height(), options_.width(), options_.height(), options_.center());
    const int content_width = static_cast<int>(std::lround(transform.scale_x * image->width()));
    const int content_height = static_cast<int>(std::lround(transform.scale_y * image->height()));

    cv::Mat output(options_.height(), options_.width(), image->mat().type(), cv::Scalar::all(options_.pad_value()));
    cv::Mat content = output(cv::Rect(static_cast<int>(transform.pad_left), static_cast<int>(transform.pad_top),
                                      content_width, content_height));
    const bool area_average = options_.area_average_shrinking() && content_width < image->width();
    cv::resize(image->mat(), content, content.size(), 0, 0, area_average ? cv::INTER_AREA : cv::INTER_LINEAR);

    EP_ASSIGN_OR_RETURN(ImageFrame letterboxed, ImageFrame::FromMat(image->format(), std::move(output)));
    EP_RETURN_IF_ERROR(cc->Outputs().Tag("IMAGE").Add(std::move(letterboxed), cc->InputTimestamp()));
    if (cc->Outputs().HasTag("TRANSFORM")) {
      EP_RETURN_IF_ERROR(cc->Outputs().Tag("TRANSFORM").Add(transform, cc->InputTimestamp()));
    }
    return OkStatus();
  }

 private:
  Options options_;
};

EDGEPIPE_REGISTER_CALCULATOR(LetterboxCalculator);

}  // namespace edgepipe
