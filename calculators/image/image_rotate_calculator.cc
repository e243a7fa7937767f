// ImageRotateCalculator: rotates frames by a multiple of 90° and/or mirrors them
// (e.g. a camera mounted upside down, or a selfie view).
//
// Input   IMAGE (ImageFrame)
// Output  IMAGE (ImageFrame), same format; width and height swap for 90/270.
// Options ImageRotateCalculatorOptions: rotation_degrees (clockwise),
//         flip_horizontal, flip_vertical (applied after the rotation).
//
//   node {
//     calculator: "ImageRotateCalculator"
//     input_stream: "IMAGE:frames"
//     output_stream: "IMAGE:upright"
//     options { [edgepipe.ImageRotateCalculatorOptions.ext] { rotation_degrees: 180 } }
//   }
#include <opencv2/core.hpp>

#include "calculators/image/image_rotate_calculator.pb.h"
#include "calculators/types/header_forwarding.h"
#include "calculators/types/image_frame.h"
#include "core/calculator.h"

namespace edgepipe {

class ImageRotateCalculator : public CalculatorBase {
 public:
  using Options = ImageRotateCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<ImageFrame>("IMAGE").Doc("frames to rotate");
    cc->Output<ImageFrame>("IMAGE").Doc("rotated / mirrored frames")
        .QueueLimit(kFrameQueueLimit);
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Rotates frames clockwise by 0, 90, 180 or 270 degrees and optionally mirrors them horizontally "
        "and/or vertically. Lossless (no interpolation).");
    cc->SetExampleConfig(R"(node {
  calculator: "ImageRotateCalculator"
  input_stream: "IMAGE:frames"
  output_stream: "IMAGE:upright"
  options { [edgepipe.ImageRotateCalculatorOptions.ext] { rotation_degrees: 180 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    const int degrees = options_.rotation_degrees();
    if (degrees != 0 && degrees != 90 && degrees != 180 && degrees != 270) {
      return InvalidArgumentError("ImageRotateCalculator rotation_degrees must be 0, 90, 180 or 270, got {}", degrees);
    }
    return ForwardHeader(cc, "IMAGE", 0, "IMAGE", 0, [degrees](VideoHeader& header) {
      if (degrees == 90 || degrees == 270) std::swap(header.width, header.height);
    });
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    const bool flip = options_.flip_horizontal() || options_.flip_vertical();
    if (options_.rotation_degrees() == 0 && !flip) return cc->Outputs().Tag("IMAGE").Add(cc->Inputs().Tag("IMAGE").Value());
    cv::Mat result = image->mat();
    if (options_.rotation_degrees() != 0) {
      const int code = options_.rotation_degrees() == 90    ? cv::ROTATE_90_CLOCKWISE
                       : options_.rotation_degrees() == 180 ? cv::ROTATE_180
                                                            : cv::ROTATE_90_COUNTERCLOCKWISE;
      cv::Mat rotated;
      cv::rotate(result, rotated, code);
      result = rotated;
    }
    if (flip) {
      // cv::flip codes: 1 = around the vertical axis, 0 = horizontal axis, -1 = both.
      const int code = options_.flip_horizontal() && options_.flip_vertical() ? -1 : (options_.flip_horizontal() ? 1 : 0);
      cv::Mat flipped;
      cv::flip(result, flipped, code);
      result = flipped;
    }
    EP_ASSIGN_OR_RETURN(ImageFrame output, ImageFrame::FromMat(image->format(), std::move(result)));
    return cc->Outputs().Tag("IMAGE").Add(std::move(output), cc->InputTimestamp());
  }

 private:
  Options options_;
};

EDGEPIPE_REGISTER_CALCULATOR(ImageRotateCalculator);

}  // namespace edgepipe
