// ImageCropCalculator: cuts a fixed rectangle out of each frame, without
// copying pixels (the output shares the input's buffer, with its stride).
//
// Input   IMAGE (ImageFrame)
// Output  IMAGE (ImageFrame), same format.
// Options ImageCropCalculatorOptions: x, y, width, height (pixels, or fractions
//         with normalized: true). The rectangle is clipped to the image; an
//         empty intersection is an error.
//
//   node {
//     calculator: "ImageCropCalculator"
//     input_stream: "IMAGE:frames"
//     output_stream: "IMAGE:center"
//     options { [edgepipe.ImageCropCalculatorOptions.ext] { x: 0.25 y: 0.25 width: 0.5 height: 0.5 normalized: true } }
//   }
#include <cmath>

#include "calculators/image/image_crop_calculator.pb.h"
#include "calculators/types/header_forwarding.h"
#include "calculators/types/image_frame.h"
#include "core/calculator.h"

namespace edgepipe {

class ImageCropCalculator : public CalculatorBase {
 public:
  using Options = ImageCropCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<ImageFrame>("IMAGE").Doc("frames to crop");
    cc->Output<ImageFrame>("IMAGE").Doc("the cropped region (shares the input's pixels)");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Crops a fixed rectangle (in pixels, or in fractions of the image with normalized: true) from "
        "each frame. The output is a view of the input's pixels: no copy. The rectangle is clipped to "
        "the image; a rectangle entirely outside it is an error.");
    cc->SetExampleConfig(R"(node {
  calculator: "ImageCropCalculator"
  input_stream: "IMAGE:frames"
  output_stream: "IMAGE:center"
  options { [edgepipe.ImageCropCalculatorOptions.ext] { x: 0.25 y: 0.25 width: 0.5 height: 0.5 normalized: true } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (options_.width() < 0 || options_.height() < 0) {
      return InvalidArgumentError("ImageCropCalculator width and height must not be negative");
    }
    return ForwardHeader(cc, "IMAGE", 0, "IMAGE", 0, [this](VideoHeader& header) {
      if (header.width > 0 && header.height > 0) {
        cv::Rect rect = CropRect(header.width, header.height);
        header.width = rect.width;
        header.height = rect.height;
      }
    });
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    const cv::Rect rect = CropRect(image->width(), image->height());
    if (rect.empty()) {
      return OutOfRangeError("crop ({}, {}, {}x{}) lies outside the {} frame at {}", options_.x(), options_.y(),
                             options_.width(), options_.height(), image->DebugString(), cc->InputTimestamp().DebugString());
    }
    EP_ASSIGN_OR_RETURN(ImageFrame cropped, ImageFrame::FromMat(image->format(), image->mat()(rect)));
    return cc->Outputs().Tag("IMAGE").Add(std::move(cropped), cc->InputTimestamp());
  }

 private:
  cv::Rect CropRect(int image_width, int image_height) const {
    const double sx = options_.normalized() ? image_width : 1.0;
    const double sy = options_.normalized() ? image_height : 1.0;
    const int x = static_cast<int>(std::lround(options_.x() * sx));
    const int y = static_cast<int>(std::lround(options_.y() * sy));
    const int width = options_.width() > 0 ? static_cast<int>(std::lround(options_.width() * sx)) : image_width - x;
    const int height = options_.height() > 0 ? static_cast<int>(std::lround(options_.height() * sy)) : image_height - y;
    return cv::Rect(x, y, width, height) & cv::Rect(0, 0, image_width, image_height);
  }

  Options options_;
};

EDGEPIPE_REGISTER_CALCULATOR(ImageCropCalculator);

}  // namespace edgepipe
