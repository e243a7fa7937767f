// DetectionLetterboxRemovalCalculator: maps detections found on a letterboxed
// model input back to the original frame.
//
// Input   DETECTIONS (std::vector<Detection>): normalised to the letterboxed image.
//         TRANSFORM (LetterboxTransform): from LetterboxCalculator, same timestamp.
// Output  DETECTIONS (std::vector<Detection>): normalised to the original image.
// Options DetectionLetterboxRemovalCalculatorOptions: clip_to_image.
//
// Box corners and keypoints go through LetterboxTransform::NormalizedTargetToSource
// (subtract the padding, undo the scale, per axis), so a box that was square on
// the 128×128 input is correctly non-square on a 720×528 frame. Boxes lying
// entirely in the padding bars vanish when clip_to_image is set.
//
//   node {
//     calculator: "DetectionLetterboxRemovalCalculator"
//     input_stream: "DETECTIONS:letterboxed_detections"
//     input_stream: "TRANSFORM:letterbox"
//     output_stream: "DETECTIONS:detections"
//   }
#include <algorithm>
#include <vector>

#include "calculators/types/detection.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/vision/detection_letterbox_removal_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class DetectionLetterboxRemovalCalculator : public CalculatorBase {
 public:
  using Options = DetectionLetterboxRemovalCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<std::vector<Detection>>("DETECTIONS").Doc("detections normalised to the letterboxed image");
    cc->Input<LetterboxTransform>("TRANSFORM").Doc("the letterbox applied to that frame (LetterboxCalculator)");
    cc->Output<std::vector<Detection>>("DETECTIONS").Doc("detections normalised to the original image");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Projects detections (box corners and keypoints) from the letterboxed model input back to the "
        "original frame through LetterboxCalculator's TRANSFORM: padding removed, scale undone per axis. "
        "Optionally clips to the image, dropping boxes that lie in the padding.");
    cc->SetExampleConfig(R"(node {
  calculator: "DetectionLetterboxRemovalCalculator"
  input_stream: "DETECTIONS:letterboxed_detections"
  input_stream: "TRANSFORM:letterbox"
  output_stream: "DETECTIONS:detections"
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    clip_to_image_ = cc->Options<Options>().clip_to_image();
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (cc->Inputs().Tag("DETECTIONS").IsEmpty()) return OkStatus();  // nothing to project at this timestamp
    if (cc->Inputs().Tag("TRANSFORM").IsEmpty()) {
      return InvalidArgumentError("DetectionLetterboxRemovalCalculator: detections at {} without a TRANSFORM packet",
                                  cc->InputTimestamp().DebugString());
    }
    EP_ASSIGN_OR_RETURN(const std::vector<Detection>* detections,
                        cc->Inputs().Tag("DETECTIONS").Get<std::vector<Detection>>());
    EP_ASSIGN_OR_RETURN(const LetterboxTransform* transform, cc->Inputs().Tag("TRANSFORM").Get<LetterboxTransform>());
    if (transform->source_width <= 0 || transform->source_height <= 0 || !(transform->scale_x > 0) ||
        !(transform->scale_y > 0)) {
      return InvalidArgumentError("DetectionLetterboxRemovalCalculator: degenerate letterbox transform");
    }

    std::vector<Detection> projected;
    projected.reserve(detections->size());
    for (const Detection& detection : *detections) {
      const cv::Point2d top_left = transform->NormalizedTargetToSource({detection.xmin, detection.ymin});
      const cv::Point2d bottom_right = transform->NormalizedTargetToSource({detection.xmax(), detection.ymax()});
      double xmin = top_left.x, ymin = top_left.y, xmax = bottom_right.x, ymax = bottom_right.y;
      if (clip_to_image_) {
        xmin = std::clamp(xmin, 0.0, 1.0), ymin = std::clamp(ymin, 0.0, 1.0);
        xmax = std::clamp(xmax, 0.0, 1.0), ymax = std::clamp(ymax, 0.0, 1.0);
        if (!(xmax > xmin) || !(ymax > ymin)) continue;  // wholly in the padding
      }
      Detection result = detection;
      result.xmin = static_cast<float>(xmin);
      result.ymin = static_cast<float>(ymin);
      result.width = static_cast<float>(xmax - xmin);
      result.height = static_cast<float>(ymax - ymin);
      for (NormalizedKeypoint& keypoint : result.keypoints) {
        cv::Point2d point = transform->NormalizedTargetToSource({keypoint.x, keypoint.y});
        if (clip_to_image_) point = {std::clamp(point.x, 0.0, 1.0), std::clamp(point.y, 0.0, 1.0)};
        keypoint = {static_cast<float>(point.x), static_cast<float>(point.y)};
      }
      projected.push_back(std::move(result));
    }
    return cc->Outputs().Tag("DETECTIONS").Add(std::move(projected), cc->InputTimestamp());
  }

 private:
  bool clip_to_image_ = false;
};

EDGEPIPE_REGISTER_CALCULATOR(DetectionLetterboxRemovalCalculator);

}  // namespace edgepipe
