// MultiObjectTracker (object_tracker.h): Kalman prediction, Lucas-Kanade
// evidence, ByteTrack-style association.
#include "calculators/vision/object_tracker.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

namespace edgepipe {

namespace {
constexpr int kStateSize = 8;  // cx, cy, w, h and their velocities
constexpr int kMeasurementSize = 4;

float Median(std::vector<float> values) {
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

cv::Rect2f ToPixels(const Detection& detection, cv::Size size) {
  return {detection.xmin * size.width, detection.ymin * size.height, detection.width * size.width,
          detection.height * size.height};
}

float VisibleFraction(const cv::Rect2f& box, cv::Size size) {
  const float area = box.area();
  if (!(area > 0)) return 0.0f;
  return (box & cv::Rect2f(0, 0, static_cast<float>(size.width), static_cast<float>(size.height))).area() / area;
}
}  // namespace

float BoxIou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float intersection = (a & b).area();
  const float union_area = a.area() + b.area() - intersection;
  return union_area > 0 ? intersection / union_area : 0.0f;
}

std::vector<std::pair<int, int>> GreedyAssign(const std::vector<std::vector<float>>& score, float threshold) {
  struct Candidate {
    float score;
    int row, column;
  };
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < score.size(); ++i) {
    for (size_t j = 0; j < score[i].size(); ++j) {
      if (score[i][j] >= threshold && score[i][j] > 0) {
        candidates.push_back({score[i][j], static_cast<int>(i), static_cast<int>(j)});
      }
    }
  }
  // Ties by row then column, so the result never depends on the sort's whims.
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.row != b.row ? a.row < b.row : a.column < b.column;
  });
  std::vector<bool> row_taken(score.size(), false);
  std::vector<bool> column_taken;
  for (const auto& row : score) column_taken.resize(std::max(column_taken.size(), row.size()), false);
  std::vector<std::pair<int, int>> pairs;
  for (const Candidate& c : candidates) {
    if (row_taken[static_cast<size_t>(c.row)] || column_taken[static_cast<size_t>(c.column)]) continue;
    row_taken[static_cast<size_t>(c.row)] = true;
    column_taken[static_cast<size_t>(c.column)] = true;
    pairs.emplace_back(c.row, c.column);
  }
  return pairs;
}

cv::Rect2f MultiObjectTracker::Track::Box() const {
  const cv::Mat& s = filter.statePost;
  const float w = s.at<float>(2), h = s.at<float>(3);
  return {s.at<float>(0) - w / 2, s.at<float>(1) - h / 2, w, h};
}

MultiObjectTracker::Track MultiObjectTracker::NewTrack(const cv::Rect2f& box, const Detection& detection) const {
  Track track;
  track.filter.init(kStateSize, kMeasurementSize, 0, CV_32F);
  cv::setIdentity(track.filter.transitionMatrix);
  cv::setIdentity(track.filter.measurementMatrix);  // the first four state values are measured
  track.filter.statePost = (cv::Mat_<float>(kStateSize, 1) << box.x + box.width / 2, box.y + box.height / 2,
                            box.width, box.height, 0, 0, 0, 0);
  // Unknown velocity: about one box height per second either way.
  const float position_std = 2 * options_.detection_noise() * box.height;
  const float velocity_std = options_.velocity_noise() * box.height;
  const float size_velocity_std = options_.size_velocity_noise() * box.height;
  track.filter.errorCovPost = cv::Mat::diag((cv::Mat_<float>(kStateSize, 1) << position_std * position_std,
                                             position_std * position_std, position_std * position_std,
                                             position_std * position_std, velocity_std * velocity_std,
                                             velocity_std * velocity_std, size_velocity_std * size_velocity_std,
                                             size_velocity_std * size_velocity_std));
  track.hits = 1;
  track.score = detection.score;
  track.score_sum = detection.score;
  track.first_centre = cv::Point2f(box.x + box.width / 2, box.y + box.height / 2);
  track.label_id = detection.label_id;
  track.label = detection.label;
  return track;
}

void MultiObjectTracker::Predict(Track& track, double dt) const {
  if (!(dt > 0)) return;
  const float h = std::max(track.filter.statePost.at<float>(3), 1.0f);
  for (int i = 0; i < kMeasurementSize; ++i) track.filter.transitionMatrix.at<float>(i, i + kMeasurementSize) = static_cast<float>(dt);
  const float position_var = std::pow(options_.position_noise() * h, 2.0f) * static_cast<float>(dt);
  const float velocity_var = std::pow(options_.velocity_noise() * h, 2.0f) * static_cast<float>(dt);
  const float size_velocity_var = std::pow(options_.size_velocity_noise() * h, 2.0f) * static_cast<float>(dt);
  track.filter.processNoiseCov = cv::Mat::diag((cv::Mat_<float>(kStateSize, 1) << position_var, position_var,
                                                position_var, position_var, velocity_var, velocity_var,
                                                size_velocity_var, size_velocity_var));
  track.filter.predict();  // also copies the prediction into statePost for frames without a measurement
}

void MultiObjectTracker::Correct(Track& track, const cv::Rect2f& box, float noise) const {
  const float variance = std::pow(noise * std::max(box.height, 1.0f), 2.0f);
  cv::setIdentity(track.filter.measurementNoiseCov, cv::Scalar::all(variance));
  track.filter.correct((cv::Mat_<float>(kMeasurementSize, 1) << box.x + box.width / 2, box.y + box.height / 2,
                        box.width, box.height));
  // Keep sizes positive however the velocity estimate swings.
  cv::Mat& state = track.filter.statePost;
  state.at<float>(2) = std::max(state.at<float>(2), 1.0f);
  state.at<float>(3) = std::max(state.at<float>(3), 1.0f);
}

cv::Rect MultiObjectTracker::CornerRegion(const cv::Rect2f& full_box) const {
  const float scale = options_.flow_scale();
  const cv::Rect2f box(full_box.x * scale, full_box.y * scale, full_box.width * scale, full_box.height * scale);
  const float mx = options_.feature_margin() * box.width, my = options_.feature_margin() * box.height;
  return cv::Rect(cv::Rect2f(box.x + mx, box.y + my, box.width - 2 * mx, box.height - 2 * my)) &
         cv::Rect(0, 0, previous_grey_.cols, previous_grey_.rows);
}

std::vector<std::optional<cv::Rect2f>> MultiObjectTracker::FlowBoxes(const std::vector<cv::Mat>& pyramid) {
  std::vector<std::optional<cv::Rect2f>> flow_boxes(tracks_.size());
  // All boxes' corners in one forward and one backward Lucas-Kanade call.
  std::vector<cv::Point2f> corners;
  std::vector<size_t> first_corner(tracks_.size() + 1, 0);
  for (size_t t = 0; t < tracks_.size(); ++t) {
    first_corner[t] = corners.size();
    Track& track = tracks_[t];
    if (track.corners.empty()) {
      const cv::Rect roi = CornerRegion(track.Box());
      if (roi.width < 4 || roi.height < 4) continue;
      cv::goodFeaturesToTrack(previous_grey_(roi), track.corners, options_.max_features(), 0.01, 3);
      for (cv::Point2f& p : track.corners) p += cv::Point2f(static_cast<float>(roi.x), static_cast<float>(roi.y));
    }
    corners.insert(corners.end(), track.corners.begin(), track.corners.end());
  }
  first_corner[tracks_.size()] = corners.size();
  if (corners.empty()) return flow_boxes;
  const cv::Size window(options_.flow_window(), options_.flow_window());
  std::vector<cv::Point2f> forward, backward;
  std::vector<uchar> forward_ok, backward_ok;
  std::vector<float> error;
  cv::calcOpticalFlowPyrLK(previous_pyramid_, pyramid, corners, forward, forward_ok, error, window, options_.flow_levels());
  cv::calcOpticalFlowPyrLK(pyramid, previous_pyramid_, forward, backward, backward_ok, error, window, options_.flow_levels());
  const float flow_scale = options_.flow_scale();
  for (size_t t = 0; t < tracks_.size(); ++t) {
    std::vector<cv::Point2f> from, to;
    for (size_t i = first_corner[t]; i < first_corner[t + 1]; ++i) {
      if (forward_ok[i] && backward_ok[i] && cv::norm(backward[i] - corners[i]) <= options_.max_forward_backward_error()) {
        from.push_back(corners[i]);
        to.push_back(forward[i]);
      }
    }
    tracks_[t].corners = to;  // followed again on the next frame if they stay inside the box
    if (static_cast<int>(from.size()) < std::max(options_.min_features(), 2)) continue;
    std::vector<float> dx, dy, ratios;
    for (size_t i = 0; i < from.size(); ++i) {
      dx.push_back(to[i].x - from[i].x);
      dy.push_back(to[i].y - from[i].y);
      for (size_t j = i + 1; j < from.size(); ++j) {
        const double before = cv::norm(from[i] - from[j]);
        if (before > 4) ratios.push_back(static_cast<float>(cv::norm(to[i] - to[j]) / before));
      }
    }
    const float scale = ratios.empty() ? 1.0f : std::clamp(Median(ratios), 0.8f, 1.25f);
    const cv::Rect2f box = tracks_[t].Box();
    const cv::Point2f centre(box.x + box.width / 2 + Median(dx) / flow_scale, box.y + box.height / 2 + Median(dy) / flow_scale);
    const cv::Size2f size(box.width * scale, box.height * scale);
    flow_boxes[t] = cv::Rect2f(centre.x - size.width / 2, centre.y - size.height / 2, size.width, size.height);
  }
  return flow_boxes;
}

void MultiObjectTracker::KeepCorners() {
  const size_t enough = static_cast<size_t>(std::max({options_.min_features(), options_.max_features() / 2, 2}));
  for (Track& track : tracks_) {
    const cv::Rect roi = CornerRegion(track.Box());
    std::erase_if(track.corners, [&](const cv::Point2f& p) {
      return !(p.x >= roi.x && p.y >= roi.y && p.x < roi.x + roi.width && p.y < roi.y + roi.height);
    });
    if (track.corners.size() < enough) track.corners.clear();
  }
}

std::vector<Detection> MultiObjectTracker::Update(cv::Size frame_size, const cv::Mat& grey, double time_s,
                                                  const std::vector<Detection>* detections) {
  const double dt = started_ ? time_s - last_time_s_ : 0.0;
  started_ = true;
  last_time_s_ = time_s;

  // Flow boxes are measured from the previous frame's boxes, before the prediction moves them.
  std::vector<std::optional<cv::Rect2f>> flow_boxes(tracks_.size());
  std::vector<cv::Mat> pyramid;
  cv::Mat flow_grey;  // the frame at flow_scale: boxes are scaled into it, shifts back out
  if (options_.use_optical_flow() && !grey.empty()) {
    flow_grey = grey;
    // Halvings by pyrDown (a 5×5 Gaussian, cheaper than INTER_AREA), the rest by an area resize.
    float scale = options_.flow_scale();
    for (; scale <= 0.5f + 1e-6f; scale *= 2) cv::pyrDown(flow_grey, flow_grey);
    if (scale < 1 - 1e-6f) cv::resize(flow_grey, flow_grey, cv::Size(), scale, scale, cv::INTER_AREA);
    // Derivatives are kept with the pyramid: computed once per frame for both flow directions.
    const cv::Size window(options_.flow_window(), options_.flow_window());
    cv::buildOpticalFlowPyramid(flow_grey, pyramid, window, options_.flow_levels());
    if (!tracks_.empty() && previous_grey_.size() == flow_grey.size()) {
      flow_boxes = FlowBoxes(pyramid);
    } else {
      for (Track& track : tracks_) track.corners.clear();
    }
  }
  for (size_t t = 0; t < tracks_.size(); ++t) {
    Predict(tracks_[t], dt);
    if (flow_boxes[t]) Correct(tracks_[t], *flow_boxes[t], options_.flow_noise());
  }
  previous_pyramid_ = std::move(pyramid);
  previous_grey_ = flow_grey;

  // Objects that left the image end their tracks at once: no box lingers at the border.
  std::erase_if(tracks_, [&](const Track& track) {
    return !(VisibleFraction(track.Box(), frame_size) >= options_.min_visible_fraction());
  });
  if (detections != nullptr) Associate(*detections, frame_size);
  KeepCorners();

  std::vector<Detection> shown;
  for (const Track& track : tracks_) {
    if (track.id < 0 || track.unmatched_runs > options_.max_unmatched_shown()) continue;
    const cv::Rect2f box = track.Box();
    Detection detection;
    detection.xmin = box.x / frame_size.width;
    detection.ymin = box.y / frame_size.height;
    detection.width = box.width / frame_size.width;
    detection.height = box.height / frame_size.height;
    detection.score = track.score;
    detection.label_id = track.label_id;
    detection.label = track.label;
    detection.track_id = track.id;
    shown.push_back(std::move(detection));
  }
  std::sort(shown.begin(), shown.end(), [](const Detection& a, const Detection& b) { return a.track_id < b.track_id; });
  return shown;
}

void MultiObjectTracker::Matched(Track& track, const cv::Rect2f& box, const Detection& detection) {
  Correct(track, box, options_.detection_noise());
  ++track.hits;
  track.unmatched_runs = 0;
  track.score = detection.score;
  track.score_sum += detection.score;
  track.label = detection.label;
  const cv::Point2f centre(box.x + box.width / 2, box.y + box.height / 2);
  track.motion = std::max(track.motion, static_cast<float>(cv::norm(centre - track.first_centre)) / std::max(box.height, 1.0f));
  if (track.id < 0 && track.hits >= options_.min_hits() && Confirmable(track)) track.id = next_id_++;
}

bool MultiObjectTracker::Confirmable(const Track& track) const {
  return track.score_sum / static_cast<float>(std::max(track.hits, 1)) >= options_.confirm_score() ||
         track.motion >= options_.confirm_motion();
}

void MultiObjectTracker::Associate(const std::vector<Detection>& detections, cv::Size frame_size) {
  ++detector_runs_;
  std::vector<cv::Rect2f> boxes;
  std::vector<int> high, low;
  for (size_t d = 0; d < detections.size(); ++d) {
    boxes.push_back(ToPixels(detections[d], frame_size));
    const float score = detections[d].score;
    if (score >= options_.high_score_thresh()) {
      high.push_back(static_cast<int>(d));
    } else if (score >= options_.low_score_thresh()) {
      low.push_back(static_cast<int>(d));
    }
  }
  std::vector<bool> track_matched(tracks_.size(), false);
  std::vector<bool> detection_used(detections.size(), false);
  // Matches tracks passing `eligible` to the still unused detections in `pool`;
  // `affinity(box, detection box)` ≥ `threshold` (0 = no match), greedy by affinity.
  auto match = [&](auto eligible, const std::vector<int>& pool, float threshold, auto affinity) {
    std::vector<int> rows;
    for (size_t t = 0; t < tracks_.size(); ++t) {
      if (!track_matched[t] && eligible(tracks_[t])) rows.push_back(static_cast<int>(t));
    }
    std::vector<int> columns;
    for (int d : pool) {
      if (!detection_used[static_cast<size_t>(d)]) columns.push_back(d);
    }
    std::vector<std::vector<float>> score(rows.size(), std::vector<float>(columns.size(), 0.0f));
    for (size_t r = 0; r < rows.size(); ++r) {
      const Track& track = tracks_[static_cast<size_t>(rows[r])];
      const cv::Rect2f box = track.Box();
      for (size_t c = 0; c < columns.size(); ++c) {
        const Detection& detection = detections[static_cast<size_t>(columns[c])];
        if (options_.match_labels() && detection.label_id != track.label_id) continue;
        score[r][c] = affinity(box, boxes[static_cast<size_t>(columns[c])]);
      }
    }
    for (const auto& [r, c] : GreedyAssign(score, threshold)) {
      const size_t t = static_cast<size_t>(rows[static_cast<size_t>(r)]);
      const size_t d = static_cast<size_t>(columns[static_cast<size_t>(c)]);
      Matched(tracks_[t], boxes[d], detections[d]);
      track_matched[t] = true;
      detection_used[d] = true;
    }
  };
  auto iou = [](const cv::Rect2f& a, const cv::Rect2f& b) { return BoxIou(a, b); };
  // 1 at the same centre, 0 at lost_match_distance box heights or a height off by more than 1.5×.
  auto closeness = [&](const cv::Rect2f& track_box, const cv::Rect2f& box) {
    const float ratio = box.height / std::max(track_box.height, 1.0f);
    if (!(ratio >= 1 / 1.5f && ratio <= 1.5f)) return 0.0f;
    const cv::Point2f a(track_box.x + track_box.width / 2, track_box.y + track_box.height / 2);
    const cv::Point2f b(box.x + box.width / 2, box.y + box.height / 2);
    const float gate = options_.lost_match_distance() * std::max(track_box.height, box.height);
    return gate > 0 ? std::max(0.0f, 1.0f - static_cast<float>(cv::norm(a - b)) / gate) : 0.0f;
  };
  auto confirmed = [](const Track& t) { return t.id >= 0; };
  match(confirmed, high, options_.match_iou(), iou);
  // ByteTrack's second pass: tracks followed until now may continue on weak detections (occlusion, blur).
  match([](const Track& t) { return t.id >= 0 && t.unmatched_runs == 0; }, low, options_.low_score_match_iou(), iou);
  // Re-association: a lost track whose prediction drifted off its reappearing object.
  if (options_.lost_match_distance() > 0) match(confirmed, high, 1e-6f, closeness);
  match([](const Track& t) { return t.id < 0; }, high, options_.tentative_match_iou(), iou);

  std::vector<Track> kept;
  for (size_t t = 0; t < tracks_.size(); ++t) {
    Track& track = tracks_[t];
    if (!track_matched[t]) {
      if (track.id < 0) continue;  // a tentative track missed once: a false alarm
      if (++track.unmatched_runs > options_.max_age()) continue;
    }
    kept.push_back(std::move(track));
  }
  tracks_ = std::move(kept);
  for (int d : high) {
    const size_t index = static_cast<size_t>(d);
    if (detection_used[index] || detections[index].score < options_.new_track_thresh()) continue;
    // A second box on part of an object already followed (an upper body inside a person) starts nothing.
    const bool inside_track = std::any_of(tracks_.begin(), tracks_.end(), [&](const Track& track) {
      return track.id >= 0 && track.unmatched_runs == 0 &&
             (track.Box() & boxes[index]).area() >= options_.birth_max_overlap() * boxes[index].area();
    });
    if (inside_track && options_.birth_max_overlap() < 1) continue;
    Track track = NewTrack(boxes[index], detections[index]);
    if ((detector_runs_ == 1 || options_.min_hits() <= 1) && Confirmable(track)) track.id = next_id_++;
    tracks_.push_back(std::move(track));
  }
}

}  // namespace edgepipe
