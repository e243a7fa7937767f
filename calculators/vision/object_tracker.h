// MultiObjectTracker: the arithmetic of ObjectTrackerCalculator, usable
// without a graph (tests, tools). Follows objects between detector runs and
// gives each a stable ID:
//   * motion: a constant-velocity Kalman filter per track on centre and size
//     (pixels, seconds; cv::KalmanFilter);
//   * image evidence on every frame: corners inside each box followed by
//     pyramidal Lucas-Kanade flow (OpenCV) with a forward-backward check; the
//     median shift and scale give a box measurement, weighted like a noisier
//     detection. The grey frame is shrunk once (flow_scale, by pyrDown when a
//     power of ½) and its pyramid, with derivatives, serves every track's
//     forward pass and the next frame's backward pass; corners that survive
//     stay inside their box and are followed again on the next frame, so
//     goodFeaturesToTrack only runs for new tracks, boxes moved by a detection
//     and boxes that lost too many corners;
//   * association on frames with detections, ByteTrack's idea: greedy by IoU
//     between predicted boxes and high-score detections, then the remaining
//     tracks against low-score detections, then confirmed tracks still
//     unmatched (lost, or their prediction drifted) against the remaining
//     high-score detections by centre distance (lost_match_distance box
//     heights, similar height), then tentative tracks; unmatched high-score
//     detections start tentative tracks;
//   * birth: a detection scoring new_track_thresh that is not mostly inside a
//     confirmed track's box (birth_max_overlap) starts a tentative track;
//     it is confirmed (gets its ID, is output) after min_hits detections if
//     their mean score reaches confirm_score, else only once it has moved
//     confirm_motion box heights — a still, weakly detected thing (a sign, a
//     stone) never is. A tentative track missed once is dropped;
//   * death: max_age detector runs lost before deletion (shown for the first
//     max_unmatched_shown of them, coasting on the filter and the flow),
//     deletion as soon as a box has left the image.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/video/tracking.hpp>

#include "calculators/types/detection.h"
#include "calculators/vision/object_tracker_calculator.pb.h"

namespace edgepipe {

class MultiObjectTracker {
 public:
  explicit MultiObjectTracker(const ObjectTrackerCalculatorOptions& options) : options_(options) {}

  // Advances to the frame at `time_s` (seconds, increasing). `grey` is the
  // frame as 8-bit grey, or empty (no flow). `detections` (normalised to the
  // frame) is null when the detector did not run on this frame, and an empty
  // vector when it ran and found nothing. Returns the tracks to show, with
  // track_id set, normalised boxes, the last matched score and label.
  std::vector<Detection> Update(cv::Size frame_size, const cv::Mat& grey, double time_s,
                                const std::vector<Detection>* detections);

  int ids_issued() const { return next_id_ - 1; }
  size_t live_tracks() const { return tracks_.size(); }

 private:
  struct Track {
    cv::KalmanFilter filter;
    int id = -1;  // given on confirmation
    int hits = 0;
    int unmatched_runs = 0;  // detector runs since the last match
    float score = 0.0f;      // of the last matched detection
    float score_sum = 0.0f;  // of all matched detections (mean = score_sum / hits)
    cv::Point2f first_centre;  // of the first detection, pixels
    float motion = 0.0f;       // farthest detection centre from first_centre, in box heights
    std::vector<cv::Point2f> corners;  // followed by flow: positions in the last flow frame
    int label_id = 0;
    std::string label;
    cv::Rect2f Box() const;  // pixels, from the filter's state
  };

  Track NewTrack(const cv::Rect2f& box, const Detection& detection) const;
  void Predict(Track& track, double dt) const;
  void Correct(Track& track, const cv::Rect2f& box, float noise) const;
  void Associate(const std::vector<Detection>& detections, cv::Size frame_size);
  // Measures each track's box on `pyramid` (the new frame) from its corners in the previous one.
  std::vector<std::optional<cv::Rect2f>> FlowBoxes(const std::vector<cv::Mat>& pyramid);
  // After the boxes moved: keeps corners inside their box, drops too thin sets (picked anew next frame).
  void KeepCorners();
  void Matched(Track& track, const cv::Rect2f& box, const Detection& detection);
  bool Confirmable(const Track& track) const;
  cv::Rect CornerRegion(const cv::Rect2f& box) const;  // flow-frame pixels

  ObjectTrackerCalculatorOptions options_;
  std::vector<Track> tracks_;
  int next_id_ = 1;
  int detector_runs_ = 0;
  double last_time_s_ = 0.0;
  bool started_ = false;
  std::vector<cv::Mat> previous_pyramid_;
  cv::Mat previous_grey_;
};

// IoU of two pixel boxes (0 when disjoint or empty).
float BoxIou(const cv::Rect2f& a, const cv::Rect2f& b);

// Greedy one-to-one assignment: repeatedly takes the highest remaining
// score[i][j] ≥ threshold whose row and column are both free. Returns
// (row, column) pairs. Rows are tracks, columns detections.
std::vector<std::pair<int, int>> GreedyAssign(const std::vector<std::vector<float>>& score, float threshold);

}  // namespace edgepipe
