// The ready vision graphs (graphs/classification, segmentation,
// selfie_segmentation, palm_detection) run with `edgepipe run` on real images
// and a video from ../shared, writing the annotated output and JSON lines.
// Reference values: LiteRT's / `edgepipe infer`'s top class for parrot.jpg,
// MediaPipe Hands' hand on squat.bmp (wrist at about (0.656, 0.417), hand box
// x 0.63–0.70, y 0.35–0.42 by MediaPipe 0.10.14's legacy Hands).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/shared_data.h"
#include "tests/tools/cli_test_util.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::edgepipe::testing::ModelPath;

struct GraphRun {
  CliResult cli;
  std::vector<nlohmann::json> lines;
  std::filesystem::path output;
};

// Runs GRAPH on INPUT with model_path, output_path and json_path set; returns the JSON lines.
GraphRun RunGraph(const std::string& graph, const std::string& input, const std::string& model,
                  const std::string& output_name, std::vector<std::string> extra = {}) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    fmt::format("edgepipe_vision_{}_{}", output_name, getpid());
  std::filesystem::create_directories(dir);
  GraphRun run;
  run.output = dir / output_name;
  const std::filesystem::path json = dir / "results.jsonl";
  std::vector<std::string> args = {"run", graph, "--input", input, "--output", run.output.string(), "--side",
                                   "json_path=" + json.string(), "--side", "model_path=" + model};
  args.insert(args.end(), extra.begin(), extra.end());
  run.cli = RunCli(args);
  std::istringstream text(ReadFile(json));
  for (std::string line; std::getline(text, line);) run.lines.push_back(nlohmann::json::parse(line));
  return run;
}

TEST(VisionGraphsCliTest, ClassificationOfParrotIsMacawAsLiteRt) {
  const std::string image = MediaPath("parrot.jpg"), model = ModelPath("mobilenet_v2_1.0_224_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(image);
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  GraphRun run = RunGraph("graphs/classification.pbtxt", image, model, "parrot.png",
                          {"--side", "labels_path=" + ModelPath("imagenet_labels.txt")});
  ASSERT_EQ(run.cli.exit_code, 0) << run.cli.err;
  ASSERT_EQ(run.lines.size(), 1u);
  const nlohmann::json& top = run.lines[0]["classifications"];
  ASSERT_GE(top.size(), 1u);
  EXPECT_EQ(top[0]["index"], 89);
  EXPECT_EQ(top[0]["label"], "macaw");
  EXPECT_NEAR(top[0]["score"].get<double>(), 0.99609375, 1e-6);  // 255/256: LiteRT's uint8 output 255
  for (const auto& entry : top) EXPECT_GE(entry["score"].get<double>(), 0.001);
  EXPECT_GT(std::filesystem::file_size(run.output), 0u);
}

TEST(VisionGraphsCliTest, SegmentationOfTheDogImageFindsADog) {
  const std::string image = MediaPath("dog_segmentation_256.bmp");
  const std::string model = ModelPath("deeplabv3_mnv2_dm05_pascal_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(image);
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  GraphRun run = RunGraph("graphs/segmentation.pbtxt", image, model, "dog.png");
  ASSERT_EQ(run.cli.exit_code, 0) << run.cli.err;
  ASSERT_EQ(run.lines.size(), 1u);
  const nlohmann::json& mask = run.lines[0]["mask"];
  EXPECT_EQ(mask["kind"], "labels");
  EXPECT_EQ(mask["width"], 256);  // projected back from 513×513 onto the image
  EXPECT_EQ(mask["height"], 256);
  double dog = 0, total = 0;
  for (const auto& entry : mask["classes"]) {
    total += entry["fraction"].get<double>();
    if (entry["label"] == "dog") dog = entry["fraction"].get<double>();
  }
  EXPECT_NEAR(total, 1.0, 1e-9);
  EXPECT_GT(dog, 0.4);
  EXPECT_LT(dog, 0.7);
}

TEST(VisionGraphsCliTest, EveryGraphOnVideoFramesWritesOneLinePerFrame) {
  const std::string video = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(video);
  const std::vector<std::pair<std::string, std::string>> graphs = {
      {"graphs/classification.pbtxt", ModelPath("mobilenet_v2_1.0_224_quant.tflite")},
      {"graphs/segmentation.pbtxt", ModelPath("deeplabv3_mnv2_dm05_pascal_quant.tflite")},
      {"graphs/selfie_segmentation.pbtxt", ModelPath("zoo/selfie_segmentation.tflite")},
      {"graphs/palm_detection.pbtxt", ModelPath("palm_detection_lite.tflite")}};
  for (const auto& [graph, model] : graphs) {
    EDGEPIPE_REQUIRE_SHARED_FILE(model);
    GraphRun run = RunGraph(graph, video, model, "video.avi", {"--max-frames", "3"});
    ASSERT_EQ(run.cli.exit_code, 0) << graph << ": " << run.cli.err;
    ASSERT_EQ(run.lines.size(), 3u) << graph;
    EXPECT_EQ(run.lines[1]["timestamp_us"], 100000) << graph;  // vtest.avi is 10 fps
    for (const auto& line : run.lines) {
      if (line.contains("mask")) {  // projected back onto the 768×576 frames
        EXPECT_EQ(line["mask"]["width"], 768) << graph;
        EXPECT_EQ(line["mask"]["height"], 576) << graph;
      } else {
        EXPECT_TRUE(line.contains("classifications") || line.contains("detections")) << graph << ": " << line.dump();
      }
    }
    EXPECT_GT(std::filesystem::file_size(run.output), 0u) << graph;
  }
}

TEST(VisionGraphsCliTest, PalmDetectionFindsTheHandMediaPipeFinds) {
  const std::string image = MediaPath("squat.bmp"), model = ModelPath("palm_detection_lite.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(image);
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  GraphRun run = RunGraph("graphs/palm_detection.pbtxt", image, model, "palms.png");
  ASSERT_EQ(run.cli.exit_code, 0) << run.cli.err;
  ASSERT_EQ(run.lines.size(), 1u);
  const nlohmann::json& palms = run.lines[0]["detections"];
  ASSERT_EQ(palms.size(), 1u) << palms.dump();
  const nlohmann::json& palm = palms[0];
  EXPECT_GT(palm["score"].get<double>(), 0.9);
  ASSERT_EQ(palm["keypoints"].size(), 7u);
  // Keypoint 0 is the wrist: within 1 % of the frame of MediaPipe Hands' wrist landmark.
  EXPECT_NEAR(palm["keypoints"][0][0].get<double>(), 0.656, 0.01);
  EXPECT_NEAR(palm["keypoints"][0][1].get<double>(), 0.417, 0.01);
  // The palm box lies on MediaPipe's hand box (x 0.63–0.70, y 0.35–0.42).
  const double cx = palm["xmin"].get<double>() + palm["width"].get<double>() / 2;
  const double cy = palm["ymin"].get<double>() + palm["height"].get<double>() / 2;
  EXPECT_GT(cx, 0.63);
  EXPECT_LT(cx, 0.70);
  EXPECT_GT(cy, 0.35);
  EXPECT_LT(cy, 0.42);
}

TEST(VisionGraphsCliTest, ObjectDetectionFindsPeopleAndKites) {
  const std::string image = MediaPath("kite_and_cold.jpg"), model = ModelPath("zoo/ssd_mobilenet_v1_coco_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(image);
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  GraphRun run = RunGraph("graphs/object_detection.pbtxt", image, model, "kite.png");
  ASSERT_EQ(run.cli.exit_code, 0) << run.cli.err;
  ASSERT_EQ(run.lines.size(), 1u);
  std::map<std::string, int> labels;
  for (const auto& detection : run.lines[0]["detections"]) {
    EXPECT_GE(detection["score"].get<double>(), 0.5);
    ++labels[detection["label"].get<std::string>()];
  }
  EXPECT_GE(labels["person"], 1) << run.lines[0].dump();
  EXPECT_GE(labels["kite"], 1) << run.lines[0].dump();
  EXPECT_GT(std::filesystem::file_size(run.output), 0u);
}

// The real-video test of the tracker: 15 s of vtest.avi (10 fps, people
// walking, crossing and leaving), the detector on 3 frames per second.
TEST(VisionGraphsCliTest, ObjectDetectionTrackingOnVtestTracksOnEveryFrame) {
  const std::string video = MediaPath("vtest.avi"), model = ModelPath("zoo/ssd_mobilenet_v1_coco_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(video);
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  const std::filesystem::path tracks_path = PerTestDir("edgepipe_tracking") / "tracks.txt";
  GraphRun run = RunGraph("graphs/object_detection_tracking.pbtxt", video, model, "tracking.avi",
                          {"--max-frames", "150", "--side", "tracks_path=" + tracks_path.string()});
  ASSERT_EQ(run.cli.exit_code, 0) << run.cli.err;
  ASSERT_EQ(run.lines.size(), 150u) << "one line per frame";
  int detector_frames = 0, frames_with_tracks = 0;
  std::set<int> ids;
  for (const auto& line : run.lines) {
    if (line.contains("detections")) ++detector_frames;
    ASSERT_TRUE(line.contains("tracks")) << line.dump();
    if (!line["tracks"].empty()) ++frames_with_tracks;
    for (const auto& track : line["tracks"]) {
      EXPECT_EQ(track["label"], "person");
      ids.insert(track["track_id"].get<int>());
    }
  }
  // 3 per second of 15 s, on the thinner's grid; no frame dropped by the FlowLimiter on a file.
  EXPECT_EQ(detector_frames, 45);
  EXPECT_GE(frames_with_tracks, 140) << "people are in view throughout; boxes must not blink between detections";
  // About a dozen people walk through these 15 s; an ID per fragment would be many more.
  EXPECT_GE(ids.size(), 4u);
  EXPECT_LE(ids.size(), 20u);
  // No box parked on a sign or a stone: a track shown for 2 s either moves (its centre by
  // 0.3 box heights) or was detected confidently (mean score ≥ 0.6).
  std::map<int, std::vector<nlohmann::json>> by_id;
  for (const auto& line : run.lines) {
    for (const auto& track : line["tracks"]) by_id[track["track_id"].get<int>()].push_back(track);
  }
  for (const auto& [id, boxes] : by_id) {
    if (boxes.size() < 20) continue;
    double min_x = 1, max_x = 0, min_y = 1, max_y = 0, score = 0, height = 0;
    for (const auto& box : boxes) {
      const double cx = box["xmin"].get<double>() + box["width"].get<double>() / 2;
      const double cy = box["ymin"].get<double>() + box["height"].get<double>() / 2;
      min_x = std::min(min_x, cx), max_x = std::max(max_x, cx), min_y = std::min(min_y, cy), max_y = std::max(max_y, cy);
      score += box["score"].get<double>() / static_cast<double>(boxes.size());
      height += box["height"].get<double>() * 576 / static_cast<double>(boxes.size());
    }
    const double motion = std::max((max_x - min_x) * 768, (max_y - min_y) * 576) / height;
    EXPECT_TRUE(motion >= 0.3 || score >= 0.6) << "track " << id << " sat still at a weak score: moved " << motion
                                                << " box heights, mean score " << score;
  }
  // MOT text: frames from 1, the same boxes in pixels of the 768×576 video.
  std::istringstream mot(ReadFile(tracks_path));
  int lines = 0, last_frame = 0;
  for (std::string line; std::getline(mot, line); ++lines) {
    int frame = 0, id = 0;
    double x = 0, y = 0, w = 0, h = 0, score = 0;
    ASSERT_EQ(std::sscanf(line.c_str(), "%d,%d,%lf,%lf,%lf,%lf,%lf,-1,-1,-1", &frame, &id, &x, &y, &w, &h, &score), 7) << line;
    EXPECT_GE(frame, 1);
    EXPECT_LE(frame, 150);
    EXPECT_GE(frame, last_frame);
    last_frame = frame;
    EXPECT_TRUE(ids.count(id)) << line;
    EXPECT_GT(w, 5);
    EXPECT_LT(x + w / 2, 768);
    EXPECT_LT(y + h / 2, 576);
  }
  size_t json_boxes = 0;
  for (const auto& line : run.lines) json_boxes += line["tracks"].size();
  EXPECT_EQ(static_cast<size_t>(lines), json_boxes);
}

}  // namespace
}  // namespace edgepipe
