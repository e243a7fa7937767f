// ColorConvertCalculator: converts frames to another pixel format.
//
// Input   IMAGE (ImageFrame)
// Output  IMAGE (ImageFrame) in options.target_format; a frame already in
//         that format passes through without a copy.
// Options ColorConvertCalculatorOptions: target_format (RGB, BGR, RGBA, GRAY8).
//
//   node {
//     calculator: "ColorConvertCalculator"
//     input_stream: "IMAGE:bgr_frames"
//     output_stream: "IMAGE:rgb_frames"
//     options { [edgepipe.ColorConvertCalculatorOptions.ext] { target_format: "RGB" } }
//   }
#include "calculators/image/color_convert_calculator.pb.h"
#include "calculators/types/header_forwarding.h"
#include "calculators/types/image_frame.h"
#include "core/calculator.h"

namespace edgepipe {

class ColorConvertCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<ColorConvertCalculatorOptions>();
    cc->Input<ImageFrame>("IMAGE").Doc("frames in any format");
    cc->Output<ImageFrame>("IMAGE").Doc("frames in target_format")
        .QueueLimit(kFrameQueueLimit);
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Converts frames between RGB, BGR, RGBA and GRAY8 (e.g. OpenCV's BGR decode order to the RGB "
        "models expect). Frames already in the target format pass through unchanged, without a copy.");
    cc->SetExampleConfig(R"(node {
  calculator: "ColorConvertCalculator"
  input_stream: "IMAGE:bgr_frames"
  output_stream: "IMAGE:rgb_frames"
  options { [edgepipe.ColorConvertCalculatorOptions.ext] { target_format: "RGB" } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(target_, ParseImageFormat(cc->Options<ColorConvertCalculatorOptions>().target_format()));
    const ImageFormat target = target_;
    return ForwardHeader(cc, "IMAGE", 0, "IMAGE", 0, [target](VideoHeader& header) { header.format = target; });
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    if (image->format() == target_) return cc->Outputs().Tag("IMAGE").Add(cc->Inputs().Tag("IMAGE").Value());
    EP_ASSIGN_OR_RETURN(ImageFrame converted, image->ConvertedTo(target_));
    return cc->Outputs().Tag("IMAGE").Add(std::move(converted), cc->InputTimestamp());
  }

 private:
  ImageFormat target_ = ImageFormat::kRGB;
};

EDGEPIPE_REGISTER_CALCULATOR(ColorConvertCalculator);

}  // namespace edgepipe
