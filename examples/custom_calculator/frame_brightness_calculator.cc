// FrameBrightnessCalculator: the mean brightness (0–255, luma of BT.601) of
// each frame, e.g. to detect a covered lens or a scene cut. A user-defined
// calculator: it lives in this project, not in edgepipe, and registers itself
// with one macro.
//
// Ports: input IMAGE (ImageFrame) → output BRIGHTNESS (double).
//
// Example:
//   node {
//     calculator: "FrameBrightnessCalculator"
//     input_stream: "IMAGE:frames"
//     output_stream: "BRIGHTNESS:brightness"
//   }
#include <opencv2/imgproc.hpp>

#include "calculators/types/image_frame.h"
#include "core/calculator.h"

namespace example {

using edgepipe::CalculatorBase;
using edgepipe::CalculatorContext;
using edgepipe::CalculatorContract;
using edgepipe::ImageFrame;
using edgepipe::Status;

class FrameBrightnessCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("Mean brightness (BT.601 luma, 0-255) of each frame.");
    cc->Input<ImageFrame>("IMAGE").Doc("frames");
    cc->Output<double>("BRIGHTNESS").Doc("mean luma of the frame");
    cc->SetTimestampOffset(0);
    return edgepipe::OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    cv::Mat gray = image->mat();
    switch (image->format()) {
      case edgepipe::ImageFormat::kGray8: break;
      case edgepipe::ImageFormat::kRGB: cv::cvtColor(image->mat(), gray, cv::COLOR_RGB2GRAY); break;
      case edgepipe::ImageFormat::kBGR: cv::cvtColor(image->mat(), gray, cv::COLOR_BGR2GRAY); break;
      case edgepipe::ImageFormat::kRGBA: cv::cvtColor(image->mat(), gray, cv::COLOR_RGBA2GRAY); break;
    }
    return cc->Outputs().Tag("BRIGHTNESS").Add(cv::mean(gray)[0], cc->InputTimestamp());
  }
};

}  // namespace example

namespace edgepipe {
using example::FrameBrightnessCalculator;
EDGEPIPE_REGISTER_CALCULATOR(FrameBrightnessCalculator);
}  // namespace edgepipe
