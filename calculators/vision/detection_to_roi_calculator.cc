// DetectionToRoiCalculator: the region of interest a landmark model looks at,
// from the best detection: its box, turned so that two keypoints line up at
// a target angle, shifted, squared and scaled — MediaPipe's hand (palm →
// hand) and face-mesh (face → mesh) ROI rules (DetectionsToRects followed by
// RectTransformation there; one step here).
//
// Input   DETECTIONS (std::vector<Detection>): normalised; the first (best) is used.
//         IMAGE (ImageFrame): the frame, for its size (rotations and squares are in pixels).
// Output  NORM_RECT (NormalizedRect): nothing at a timestamp without detections.
// Options DetectionToRoiCalculatorOptions: start_keypoint, end_keypoint,
//         target_angle_degrees, scale_x, scale_y, shift_x, shift_y, square_long.
//
// rotation = target − atan2(−(y_end − y_start), x_end − x_start) (pixels,
// normalised to (−π, π]); the centre moves by (shift_x·w, shift_y·h) turned by
// the rotation; square_long makes width and height the longer side in pixels.
//
//   node {
//     calculator: "DetectionToRoiCalculator"
//     input_stream: "DETECTIONS:palms"
//     input_stream: "IMAGE:frames"
//     output_stream: "NORM_RECT:hand_roi"
//     options { [edgepipe.DetectionToRoiCalculatorOptions.ext] { scale_x: 2.6 scale_y: 2.6 shift_y: -0.5 } }
//   }
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "calculators/types/detection.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/normalized_rect.h"
#include "calculators/vision/detection_to_roi_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class DetectionToRoiCalculator : public CalculatorBase {
 public:
  using Options = DetectionToRoiCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<std::vector<Detection>>("DETECTIONS").Doc("detections normalised to the frame; the first is used");
    cc->Input<ImageFrame>("IMAGE").Doc("the frame (its size)");
    cc->Output<NormalizedRect>("NORM_RECT").Doc("rotated, squared, scaled region for a landmark model");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Turns the best detection into the rotated square region a landmark model runs on, as MediaPipe "
        "derives hand ROIs from palms and face-mesh ROIs from faces: rotation from two keypoints, then "
        "shift, square on the long side and scale.");
    cc->SetExampleConfig(R"(node {
  calculator: "DetectionToRoiCalculator"
  input_stream: "DETECTIONS:palms"
  input_stream: "IMAGE:frames"
  output_stream: "NORM_RECT:hand_roi"
  options { [edgepipe.DetectionToRoiCalculatorOptions.ext] { scale_x: 2.6 scale_y: 2.6 shift_y: -0.5 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (options_.start_keypoint() < 0 || options_.end_keypoint() < 0) {
      return InvalidArgumentError("DetectionToRoiCalculator: keypoint indices must be ≥ 0");
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (cc->Inputs().Tag("DETECTIONS").IsEmpty() || cc->Inputs().Tag("IMAGE").IsEmpty()) return OkStatus();
    EP_ASSIGN_OR_RETURN(const std::vector<Detection>* detections, cc->Inputs().Tag("DETECTIONS").Get<std::vector<Detection>>());
    if (detections->empty()) return OkStatus();
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    const Detection& detection = detections->front();
    const int needed = std::max(options_.start_keypoint(), options_.end_keypoint()) + 1;
    if (static_cast<int>(detection.keypoints.size()) < needed) {
      return InvalidArgumentError("DetectionToRoiCalculator: detection has {} keypoints, needs {}",
                                  detection.keypoints.size(), needed);
    }
    const double width_px = image->width(), height_px = image->height();
    const NormalizedKeypoint& start = detection.keypoints[options_.start_keypoint()];
    const NormalizedKeypoint& end = detection.keypoints[options_.end_keypoint()];
    const double target = options_.target_angle_degrees() * std::numbers::pi / 180.0;
    double rotation = target - std::atan2(-(end.y - start.y) * height_px, (end.x - start.x) * width_px);
    rotation = rotation - 2 * std::numbers::pi * std::floor((rotation + std::numbers::pi) / (2 * std::numbers::pi));

    double x_center = detection.xmin + detection.width / 2.0, y_center = detection.ymin + detection.height / 2.0;
    double width = detection.width, height = detection.height;
    // The shift is along the ROI's own (rotated) axes, computed in pixels.
    const double shift_x_px = width * width_px * options_.shift_x(), shift_y_px = height * height_px * options_.shift_y();
    x_center += (shift_x_px * std::cos(rotation) - shift_y_px * std::sin(rotation)) / width_px;
    y_center += (shift_x_px * std::sin(rotation) + shift_y_px * std::cos(rotation)) / height_px;
    if (options_.square_long()) {
      const double long_side = std::max(width * width_px, height * height_px);
      width = long_side / width_px;
      height = long_side / height_px;
    }
    const NormalizedRect roi{static_cast<float>(x_center), static_cast<float>(y_center),
                             static_cast<float>(width * options_.scale_x()), static_cast<float>(height * options_.scale_y()),
                             static_cast<float>(rotation)};
    return cc->Outputs().Tag("NORM_RECT").Add(roi, cc->InputTimestamp());
  }

 private:
  Options options_;
};

EDGEPIPE_REGISTER_CALCULATOR(DetectionToRoiCalculator);

}  // namespace edgepipe
