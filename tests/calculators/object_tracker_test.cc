// MultiObjectTracker on synthetic detections (a detector running every third
// frame of a 10 fps, 640×480 video; blank frames so that only the Kalman
// filter moves boxes) and on synthetic texture (Lucas-Kanade flow carrying a
// box between detections). The real-video test is the tracking graph's
// (tests/tools/vision_graphs_cli_test.cc, vtest.avi).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "calculators/types/detection.h"
#include "calculators/vision/object_tracker.h"

namespace edgepipe {
namespace {

constexpr int kWidth = 640, kHeight = 480;
constexpr double kFrameSeconds = 0.1;

// A box of 40×80 pixels centred at (cx, cy), normalised.
Detection Box(float cx, float cy, float score = 0.9f) {
  Detection d;
  d.xmin = (cx - 20) / kWidth;
  d.ymin = (cy - 40) / kHeight;
  d.width = 40.0f / kWidth;
  d.height = 80.0f / kHeight;
  d.score = score;
  return d;
}

float CentreX(const Detection& d) { return (d.xmin + d.width / 2) * kWidth; }

// Runs `frames` frames; `objects(frame)` gives the detections the detector would
// report at that frame (used on every third frame). Returns the tracks per frame.
template <typename Objects>
std::vector<std::vector<Detection>> RunTracker(MultiObjectTracker& tracker, int frames, Objects objects, int every = 3) {
  std::vector<std::vector<Detection>> out;
  const cv::Mat blank(kHeight, kWidth, CV_8UC1, cv::Scalar(128));
  for (int f = 0; f < frames; ++f) {
    std::vector<Detection> detections = objects(f);
    out.push_back(tracker.Update({kWidth, kHeight}, blank, f * kFrameSeconds, f % every == 0 ? &detections : nullptr));
  }
  return out;
}

// IDs a tracker with `options` gives over `frames` frames of `objects`.
template <typename Objects>
int IdsIssued(const ObjectTrackerCalculatorOptions& options, int frames, Objects objects) {
  MultiObjectTracker tracker(options);
  RunTracker(tracker, frames, objects);
  return tracker.ids_issued();
}

TEST(ObjectTrackerTest, CrossingObjectsKeepTheirIds) {
  MultiObjectTracker tracker{ObjectTrackerCalculatorOptions()};
  // A walks right, B walks left, 8 px per frame, 20 px apart vertically: they cross at frame 25.
  auto objects = [](int f) {
    return std::vector<Detection>{Box(120 + 8.0f * f, 200), Box(520 - 8.0f * f, 220)};
  };
  const auto tracks = RunTracker(tracker, 50, objects);
  std::map<int, bool> id_moves_right;  // track id → does it move right?
  for (int f = 1; f < 50; ++f) {
    ASSERT_EQ(tracks[f].size(), 2u) << "frame " << f << ": every frame shows both objects";
    for (const Detection& track : tracks[f]) {
      if (std::abs(f - 25) <= 2) continue;  // at the crossing both are near x = 320
      // Whichever object a track is on, it must stay on it throughout.
      const bool is_a = std::abs(CentreX(track) - (120 + 8.0f * f)) < std::abs(CentreX(track) - (520 - 8.0f * f));
      auto [it, inserted] = id_moves_right.emplace(track.track_id, is_a);
      EXPECT_EQ(it->second, is_a) << "frame " << f << ": track " << track.track_id << " swapped objects";
    }
  }
  EXPECT_EQ(id_moves_right.size(), 2u);
  EXPECT_EQ(tracker.ids_issued(), 2);
}

TEST(ObjectTrackerTest, BoxesFollowBetweenDetectionsAndEndWhenObjectsLeave) {
  MultiObjectTracker tracker{ObjectTrackerCalculatorOptions()};
  // Walks right at 5 px per frame from x = 480 and leaves the 640-pixel frame at frame 36.
  auto objects = [](int f) {
    const float cx = 480 + 5.0f * f;
    return cx - 20 < kWidth ? std::vector<Detection>{Box(cx, 240)} : std::vector<Detection>{};
  };
  const auto tracks = RunTracker(tracker, 50, objects);
  for (int f = 7; f < 28; ++f) {
    ASSERT_EQ(tracks[f].size(), 1u) << "frame " << f;
    // Between detections the prediction carries the box with the object (constant velocity).
    EXPECT_NEAR(CentreX(tracks[f][0]), 480 + 5.0f * f, 6.0f) << "frame " << f;
  }
  for (int f = 40; f < 50; ++f) EXPECT_TRUE(tracks[f].empty()) << "frame " << f << ": a box outlived its object";
  EXPECT_EQ(tracker.live_tracks(), 0u);
}

TEST(ObjectTrackerTest, VanishedObjectIsHiddenThenDeleted) {
  ObjectTrackerCalculatorOptions options;
  options.set_max_unmatched_shown(1);
  options.set_max_age(2);
  MultiObjectTracker tracker(options);
  // Standing still in the middle; the detector stops seeing it from frame 12 on.
  auto objects = [](int f) { return f < 12 ? std::vector<Detection>{Box(320, 240)} : std::vector<Detection>{}; };
  const auto tracks = RunTracker(tracker, 30, objects);
  EXPECT_EQ(tracks[11].size(), 1u);
  EXPECT_EQ(tracks[14].size(), 1u) << "one missed run is still shown (max_unmatched_shown 1)";
  EXPECT_TRUE(tracks[18].empty()) << "two missed runs: hidden";
  EXPECT_EQ(tracker.live_tracks(), 0u) << "three missed runs > max_age 2: deleted";
}

TEST(ObjectTrackerTest, ResumesIdAfterShortOcclusion) {
  MultiObjectTracker tracker{ObjectTrackerCalculatorOptions()};
  // Moves right 5 px per frame; not detected on frames 15–24 (four detector runs), seen again after.
  auto objects = [](int f) {
    return f >= 15 && f < 25 ? std::vector<Detection>{} : std::vector<Detection>{Box(100 + 5.0f * f, 240)};
  };
  const auto tracks = RunTracker(tracker, 45, objects);
  ASSERT_EQ(tracks[10].size(), 1u);
  ASSERT_EQ(tracks[40].size(), 1u);
  EXPECT_EQ(tracks[40][0].track_id, tracks[10][0].track_id);
  EXPECT_EQ(tracker.ids_issued(), 1);
}

TEST(ObjectTrackerTest, LowScoreDetectionsOnlyContinueTracks) {
  MultiObjectTracker tracker{ObjectTrackerCalculatorOptions()};
  // Object 1 is strong then weak (0.3, second pass keeps it); object 2 is only ever weak: never a track.
  auto objects = [](int f) {
    return std::vector<Detection>{Box(200, 240, f < 9 ? 0.9f : 0.3f), Box(450, 240, 0.3f)};
  };
  const auto tracks = RunTracker(tracker, 40, objects);
  for (int f = 3; f < 40; ++f) {
    ASSERT_EQ(tracks[f].size(), 1u) << "frame " << f;
    EXPECT_NEAR(CentreX(tracks[f][0]), 200, 2.0f);
  }
  EXPECT_EQ(tracker.ids_issued(), 1);
}

TEST(ObjectTrackerTest, SingleFalseAlarmGetsNoId) {
  MultiObjectTracker tracker{ObjectTrackerCalculatorOptions()};  // min_hits 2
  auto objects = [](int f) {
    std::vector<Detection> d{Box(100, 240)};
    if (f == 9) d.push_back(Box(500, 100));  // one detector run only
    return d;
  };
  const auto tracks = RunTracker(tracker, 30, objects);
  for (int f = 0; f < 30; ++f) EXPECT_EQ(tracks[f].size(), 1u) << "frame " << f;
  EXPECT_EQ(tracker.ids_issued(), 1);
}

TEST(ObjectTrackerTest, StillWeakDetectionsNeverGetAnId) {
  MultiObjectTracker tracker{ObjectTrackerCalculatorOptions()};  // confirm_score 0.6, confirm_motion 0.5
  // A sign seen as a "person" at 0.55 on every run, never moving; a person standing still at 0.9.
  auto objects = [](int) { return std::vector<Detection>{Box(100, 240, 0.55f), Box(400, 240, 0.9f)}; };
  const auto tracks = RunTracker(tracker, 60, objects);
  for (int f = 0; f < 60; ++f) {
    ASSERT_EQ(tracks[f].size(), 1u) << "frame " << f << ": only the confident one is shown";
    EXPECT_NEAR(CentreX(tracks[f][0]), 400, 2.0f);
  }
  EXPECT_EQ(tracker.ids_issued(), 1);

  ObjectTrackerCalculatorOptions min_hits_only;
  min_hits_only.set_confirm_score(0);
  EXPECT_EQ(IdsIssued(min_hits_only, 60, objects), 2) << "without the rule the sign gets an ID";
}

TEST(ObjectTrackerTest, WeakDetectionsAreConfirmedOnceTheyMove) {
  MultiObjectTracker tracker{ObjectTrackerCalculatorOptions()};
  // 0.55 throughout, walking 5 px per frame: 15 px per detector run, 0.19 box heights.
  auto objects = [](int f) { return std::vector<Detection>{Box(100 + 5.0f * f, 240, 0.55f)}; };
  const auto tracks = RunTracker(tracker, 40, objects);
  EXPECT_TRUE(tracks[3].empty()) << "not yet moved 0.5 box heights";
  for (int f = 9; f < 40; ++f) ASSERT_EQ(tracks[f].size(), 1u) << "frame " << f;
  EXPECT_EQ(tracker.ids_issued(), 1);
}

TEST(ObjectTrackerTest, LostTrackResumesWhereItsPredictionDriftedOff) {
  // Walks right 6 px per frame, is hidden on frames 15–20 (two detector runs) and has stopped
  // meanwhile: it reappears where it was at frame 15, 36 px behind the coasting prediction
  // (IoU < 0.1 for a 40-pixel-wide box).
  auto objects = [](int f) {
    if (f >= 15 && f <= 20) return std::vector<Detection>{};
    return std::vector<Detection>{Box(100 + 6.0f * std::min(f, 15), 240)};
  };
  MultiObjectTracker tracker{ObjectTrackerCalculatorOptions()};
  const auto tracks = RunTracker(tracker, 40, objects);
  ASSERT_EQ(tracks[39].size(), 1u);
  EXPECT_NEAR(CentreX(tracks[39][0]), 190, 4.0f);
  EXPECT_EQ(tracker.ids_issued(), 1) << "re-associated by centre distance";

  ObjectTrackerCalculatorOptions iou_only;
  iou_only.set_lost_match_distance(0);
  EXPECT_EQ(IdsIssued(iou_only, 40, objects), 2) << "by IoU alone the reappearing object gets a new ID";
}

TEST(ObjectTrackerTest, NoTrackIsBornInsideAnother) {
  // A person and, inside it, a second box on their upper body (the detector's duplicate).
  auto objects = [](int f) {
    Detection upper = Box(100 + 4.0f * f, 240, 0.8f);
    upper.height = 40.0f / kHeight;  // the top half of the person's box
    return std::vector<Detection>{Box(100 + 4.0f * f, 240), upper};
  };
  MultiObjectTracker tracker{ObjectTrackerCalculatorOptions()};
  const auto tracks = RunTracker(tracker, 30, objects);
  for (int f = 3; f < 30; ++f) ASSERT_EQ(tracks[f].size(), 1u) << "frame " << f;
  EXPECT_EQ(tracker.ids_issued(), 1);

  ObjectTrackerCalculatorOptions births_anywhere;
  births_anywhere.set_birth_max_overlap(1);
  EXPECT_EQ(IdsIssued(births_anywhere, 30, objects), 2) << "births anywhere: the upper body gets its own ID";
}

TEST(ObjectTrackerTest, GreedyAssignTakesBestPairsFirst) {
  const auto pairs = GreedyAssign({{0.9f, 0.8f}, {0.85f, 0.1f}}, 0.2f);
  ASSERT_EQ(pairs.size(), 1u) << "row 1's only pair above threshold uses the taken column 0";
  EXPECT_EQ(pairs[0], std::make_pair(0, 0));
  const auto two = GreedyAssign({{0.5f, 0.6f}, {0.7f, 0.1f}}, 0.2f);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0], std::make_pair(1, 0));
  EXPECT_EQ(two[1], std::make_pair(0, 1));
}

// Image evidence: a textured 40×80 patch moves over a textured, still
// background at (+4, +2) px per frame; it is detected on the first frame only.
// Flow must carry the box with it; the Kalman filter alone (no velocity known
// from a single detection) leaves the box where it was.
TEST(ObjectTrackerTest, OpticalFlowCarriesBoxBetweenDetections) {
  cv::Mat background(kHeight, kWidth, CV_8UC1), patch(80, 40, CV_8UC1);
  cv::RNG rng(7);
  rng.fill(background, cv::RNG::UNIFORM, 0, 256);
  rng.fill(patch, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(background, background, {5, 5}, 1.5);  // corners LK can follow
  cv::GaussianBlur(patch, patch, {5, 5}, 1.5);
  auto frame_at = [&](int f) {
    cv::Mat frame = background.clone();
    patch.copyTo(frame(cv::Rect(200 + 4 * f, 150 + 2 * f, 40, 80)));
    return frame;
  };
  ObjectTrackerCalculatorOptions options;
  MultiObjectTracker with_flow(options);
  options.set_use_optical_flow(false);
  MultiObjectTracker without_flow(options);
  const std::vector<Detection> first{Box(220, 190)};  // the patch at frame 0
  with_flow.Update({kWidth, kHeight}, frame_at(0), 0.0, &first);
  without_flow.Update({kWidth, kHeight}, frame_at(0), 0.0, &first);
  std::vector<Detection> flow_tracks, still_tracks;
  for (int f = 1; f <= 20; ++f) {
    flow_tracks = with_flow.Update({kWidth, kHeight}, frame_at(f), f * kFrameSeconds, nullptr);
    still_tracks = without_flow.Update({kWidth, kHeight}, frame_at(f), f * kFrameSeconds, nullptr);
  }
  ASSERT_EQ(flow_tracks.size(), 1u);
  ASSERT_EQ(still_tracks.size(), 1u);
  // Within 5 px after 80 px of motion: the filter lags a little while it learns the velocity.
  EXPECT_NEAR(CentreX(flow_tracks[0]), 220 + 80, 5.0f);
  EXPECT_NEAR((flow_tracks[0].ymin + flow_tracks[0].height / 2) * kHeight, 190 + 40, 5.0f);
  EXPECT_NEAR(flow_tracks[0].width * kWidth, 40, 5.0f) << "the patch keeps its size (flow at half resolution)";
  EXPECT_NEAR(CentreX(still_tracks[0]), 220, 1.0f);
}

}  // namespace
}  // namespace edgepipe
