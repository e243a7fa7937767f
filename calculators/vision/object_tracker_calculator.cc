// ObjectTrackerCalculator: follows detected objects on every frame and gives
// each a stable ID, for MediaPipe's "detect a few times per second, track on
// every frame" pattern (graphs/object_detection_tracking.pbtxt).
//
// Input   IMAGE (ImageFrame): every frame.
//         DETECTIONS (std::vector<Detection>, optional at each timestamp):
//         the detector's output, normalised to the frame, only on the frames
//         the detector ran on (an empty vector = it ran and found nothing; no
//         packet = it did not run).
// Output  DETECTIONS (std::vector<Detection>): the tracks shown at every
//         frame, track_id set (1, 2, … in order of confirmation), box from the
//         tracker, score and label of the last matched detection; sorted by ID.
// Options ObjectTrackerCalculatorOptions (object_tracker_calculator.proto):
//         ByteTrack's score thresholds and IoU gates, lost_match_distance
//         (re-association by centre distance), Kalman noises, optical-flow
//         settings, and the birth and death rules (counted in detector runs):
//           birth   a high-score detection (≥ new_track_thresh) not lying by
//                   birth_max_overlap inside a confirmed track starts a
//                   tentative track, dropped at its first miss;
//           confirm after min_hits detections when their mean score reaches
//                   confirm_score, or else once the detections' centres moved
//                   confirm_motion box heights (a still, weak "person" — a
//                   sign, a stone — never gets an ID); the ID is given then;
//           coast   a confirmed track unmatched by a run keeps moving by the
//                   filter and the flow, shown for max_unmatched_shown runs;
//           death   after max_age unmatched runs, or at once when less than
//                   min_visible_fraction of its box is inside the image.
//
// Between detector runs each box moves by a constant-velocity Kalman filter
// corrected by pyramidal Lucas-Kanade flow of corners inside it, so boxes
// follow their objects on every frame; see object_tracker.h for the steps.
//
//   node {
//     calculator: "ObjectTrackerCalculator"
//     input_stream: "IMAGE:frames"
//     input_stream: "DETECTIONS:detections"
//     output_stream: "DETECTIONS:tracks"
//     options { [edgepipe.ObjectTrackerCalculatorOptions.ext] { min_hits: 2 max_age: 5 } }
//   }
#include <memory>
#include <vector>

#include <opencv2/core.hpp>

#include "calculators/types/detection.h"
#include "calculators/types/image_frame.h"
#include "calculators/vision/object_tracker.h"
#include "calculators/vision/object_tracker_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class ObjectTrackerCalculator : public CalculatorBase {
 public:
  using Options = ObjectTrackerCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<ImageFrame>("IMAGE").Doc("every frame");
    cc->Input<std::vector<Detection>>("DETECTIONS").Optional().Doc("detections, on the frames the detector ran on");
    cc->Output<std::vector<Detection>>("DETECTIONS").Doc("tracked boxes with track_id, on every frame");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Multi-object tracker: a constant-velocity Kalman filter per track, corrected on every frame by "
        "pyramidal Lucas-Kanade optical flow of corners inside its box, and on detection frames by "
        "detections associated by IoU in ByteTrack's two passes (high-score, then low-score detections). "
        "Lost confirmed tracks are re-associated by centre distance. Tracks get stable IDs once confirmed "
        "(min_hits detections with a mean score of confirm_score, or motion of confirm_motion box heights: "
        "still, weak false alarms never are), are kept max_age detector runs when lost and end when their "
        "box leaves the image. Outputs the tracks on every frame, also between detections.");
    cc->SetExampleConfig(R"(node {
  calculator: "ObjectTrackerCalculator"
  input_stream: "IMAGE:frames"
  input_stream: "DETECTIONS:detections"
  output_stream: "DETECTIONS:tracks"
  options { [edgepipe.ObjectTrackerCalculatorOptions.ext] { min_hits: 2 max_age: 5 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const Options& options = cc->Options<Options>();
    if (!(options.low_score_thresh() <= options.high_score_thresh())) {
      return InvalidArgumentError("ObjectTrackerCalculator: low_score_thresh {} must not exceed high_score_thresh {}",
                                  options.low_score_thresh(), options.high_score_thresh());
    }
    if (options.min_hits() < 1 || options.max_age() < 0 || options.max_unmatched_shown() < 0) {
      return InvalidArgumentError("ObjectTrackerCalculator: min_hits must be ≥ 1 and max_age, max_unmatched_shown ≥ 0");
    }
    if (!(options.confirm_score() >= 0 && options.confirm_motion() >= 0 && options.lost_match_distance() >= 0 &&
          options.birth_max_overlap() > 0 && options.birth_max_overlap() <= 1)) {
      return InvalidArgumentError(
          "ObjectTrackerCalculator: confirm_score, confirm_motion, lost_match_distance ≥ 0 and birth_max_overlap in (0, 1] expected");
    }
    if (options.flow_window() < 3 || options.flow_levels() < 0 || options.max_features() < 2 ||
        !(options.feature_margin() >= 0 && options.feature_margin() < 0.5f) ||
        !(options.flow_scale() > 0 && options.flow_scale() <= 1)) {
      return InvalidArgumentError(
          "ObjectTrackerCalculator: flow_window ≥ 3, flow_levels ≥ 0, max_features ≥ 2, feature_margin in [0, 0.5) and flow_scale in (0, 1] expected");
    }
    tracker_ = std::make_unique<MultiObjectTracker>(options);
    use_flow_ = options.use_optical_flow();
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (cc->Inputs().Tag("IMAGE").IsEmpty()) {
      return InvalidArgumentError("ObjectTrackerCalculator: detections at {} without a frame", cc->InputTimestamp().Value());
    }
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    const std::vector<Detection>* detections = nullptr;
    if (cc->Inputs().HasTag("DETECTIONS") && !cc->Inputs().Tag("DETECTIONS").IsEmpty()) {
      EP_ASSIGN_OR_RETURN(detections, cc->Inputs().Tag("DETECTIONS").Get<std::vector<Detection>>());
    }
    cv::Mat grey;
    if (use_flow_) {
      EP_ASSIGN_OR_RETURN(ImageFrame grey_frame, image->ConvertedTo(ImageFormat::kGray8));
      grey = grey_frame.mat();
    }
    std::vector<Detection> tracks =
        tracker_->Update(cv::Size(image->width(), image->height()), grey, cc->InputTimestamp().Seconds(), detections);
    return cc->Outputs().Tag("DETECTIONS").Add(std::move(tracks), cc->InputTimestamp());
  }

 private:
  std::unique_ptr<MultiObjectTracker> tracker_;
  bool use_flow_ = true;
};

EDGEPIPE_REGISTER_CALCULATOR(ObjectTrackerCalculator);

}  // namespace edgepipe
