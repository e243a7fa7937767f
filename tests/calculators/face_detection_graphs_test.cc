// The ready face-detection graphs as shipped in graphs/: the video graph on
// face.jpg under the side-packet convention (json_path set, output_path unset →
// only JSON lines), and the camera variant's wiring.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/graph.h"
#include "tests/testing/shared_data.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::edgepipe::testing::ModelPath;

std::string GraphFile(const std::string& name) { return std::string(EDGEPIPE_SOURCE_DIR) + "/graphs/" + name; }

TEST(FaceDetectionGraphsTest, VideoGraphOnFaceJpgWritesOnlyJsonLines) {
  const std::string image = MediaPath("face.jpg");
  const std::string model = ModelPath("face_detection_short_range.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(image);
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  auto config = LoadGraphConfigFile(GraphFile("face_detection_video.pbtxt"));
  ASSERT_TRUE(config.ok()) << config.status();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("edgepipe_face_graph_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Graph graph;
  ASSERT_TRUE(graph.Initialize(*config).ok());
  SidePackets side_packets;
  side_packets["input_path"] = MakePacket<std::string>(image);
  side_packets["model_path"] = MakePacket<std::string>(model);
  side_packets["output_path"] = MakePacket<std::string>("");  // as `edgepipe run` without --output
  side_packets["json_path"] = MakePacket<std::string>((dir / "faces.jsonl").string());
  Status run = graph.Run(side_packets);
  ASSERT_TRUE(run.ok()) << run;

  std::ifstream file(dir / "faces.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["timestamp_us"], 0);
  const nlohmann::json& faces = lines[0]["detections"];
  ASSERT_EQ(faces.size(), 2u) << lines[0].dump();  // the photo shows two people
  for (const nlohmann::json& face : faces) {
    EXPECT_GT(face["score"].get<double>(), 0.5);
    // Normalised coordinates of the 512 × 355 photo.
    EXPECT_GT(face["xmin"].get<double>(), 0.0);
    EXPECT_LT(face["xmin"].get<double>() + face["width"].get<double>(), 1.0);
    EXPECT_EQ(face["keypoints"].size(), 6u);
  }
  // output_path unset: the only file written is the JSON.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  std::filesystem::remove_all(dir);
}

TEST(FaceDetectionGraphsTest, CameraGraphLimitsFlowOnItsDetections) {
  auto config = LoadGraphConfigFile(GraphFile("face_detection_camera.pbtxt"));
  ASSERT_TRUE(config.ok()) << config.status();
  Graph graph;
  Status initialized = graph.Initialize(*config);
  ASSERT_TRUE(initialized.ok()) << initialized;
  bool limited = false;
  for (const Node& node : config->node()) {
    if (node.calculator() != "FlowLimiterCalculator") continue;
    limited = std::find(node.input_stream().begin(), node.input_stream().end(), "FINISHED:detections") !=
              node.input_stream().end();
  }
  EXPECT_TRUE(limited) << "the live graph must release frames on its final detections";
}

}  // namespace
}  // namespace edgepipe
