// ImageResizeCalculator: scales frames to a fixed size (stretching), or to a
// width or height keeping the aspect ratio.
//
// Input   IMAGE (ImageFrame)
// Output  IMAGE (ImageFrame), same format; the VideoHeader's size is updated.
// Options ImageResizeCalculatorOptions: width, height (either may be 0 to keep
//         the aspect ratio), interpolation.
//
// For a fixed model input size without distortion use LetterboxCalculator.
//
//   node {
//     calculator: "ImageResizeCalculator"
//     input_stream: "IMAGE:frames"
//     output_stream: "IMAGE:small_frames"
//     options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 384 height: 288 } }
//   }
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "calculators/image/image_resize_calculator.pb.h"
#include "calculators/types/header_forwarding.h"
#include "calculators/types/image_frame.h"
#include "core/calculator.h"

namespace edgepipe {

class ImageResizeCalculator : public CalculatorBase {
 public:
  using Options = ImageResizeCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<ImageFrame>("IMAGE").Doc("frames to resize");
    cc->Output<ImageFrame>("IMAGE").Doc("resized frames")
        .QueueLimit(kFrameQueueLimit);
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Resizes frames to width × height (stretching), or to one of them keeping the aspect ratio when "
        "the other is 0. AUTO interpolation uses area averaging to shrink and bilinear to enlarge.");
    cc->SetExampleConfig(R"(node {
  calculator: "ImageResizeCalculator"
  input_stream: "IMAGE:frames"
  output_stream: "IMAGE:small_frames"
  options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 384 height: 288 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (options_.width() < 0 || options_.height() < 0 || (options_.width() == 0 && options_.height() == 0)) {
      return InvalidArgumentError("ImageResizeCalculator needs a positive width or height, got {}x{}",
                                  options_.width(), options_.height());
    }
    // 0 keeps the aspect ratio: check the side(s) given now, the other at each frame.
    EP_RETURN_IF_ERROR(CheckImageSize(options_.width() ? options_.width() : 1, options_.height() ? options_.height() : 1,
                                      "ImageResizeCalculator output"));
    return ForwardHeader(cc, "IMAGE", 0, "IMAGE", 0, [this](VideoHeader& header) {
      if (header.width > 0 && header.height > 0) {
        cv::Size size = OutputSize(cv::Size(header.width, header.height));
        header.width = size.width;
        header.height = size.height;
      }
    });
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    const cv::Size input_size(image->width(), image->height());
    const cv::Size output_size = OutputSize(input_size);
    EP_RETURN_IF_ERROR(CheckImageSize(output_size.width, output_size.height, "ImageResizeCalculator output"));
    if (output_size == input_size) return cc->Outputs().Tag("IMAGE").Add(cc->Inputs().Tag("IMAGE").Value());
    cv::Mat resized;
    cv::resize(image->mat(), resized, output_size, 0, 0, Interpolation(input_size, output_size));
    EP_ASSIGN_OR_RETURN(ImageFrame output, ImageFrame::FromMat(image->format(), std::move(resized)));
    return cc->Outputs().Tag("IMAGE").Add(std::move(output), cc->InputTimestamp());
  }

 private:
  // The side left at 0 follows the aspect ratio, clamped just past kMaxImageSide
  // (a 1-pixel-high input would otherwise overflow int) so CheckImageSize refuses it.
  cv::Size OutputSize(cv::Size input) const {
    auto scaled = [](double side) {
      return static_cast<int>(std::clamp(std::round(side), 1.0, static_cast<double>(kMaxImageSide) + 1));
    };
    int width = options_.width(), height = options_.height();
    if (width == 0) width = scaled(static_cast<double>(input.width) * height / input.height);
    if (height == 0) height = scaled(static_cast<double>(input.height) * width / input.width);
    return {width, height};
  }

  int Interpolation(cv::Size input, cv::Size output) const {
    switch (options_.interpolation()) {
      case Options::NEAREST: return cv::INTER_NEAREST;
      case Options::LINEAR: return cv::INTER_LINEAR;
      case Options::CUBIC: return cv::INTER_CUBIC;
      case Options::AREA: return cv::INTER_AREA;
      case Options::AUTO:
      default:
        return (output.width < input.width && output.height < input.height) ? cv::INTER_AREA : cv::INTER_LINEAR;
    }
  }

  Options options_;
};

EDGEPIPE_REGISTER_CALCULATOR(ImageResizeCalculator);

}  // namespace edgepipe
