// End to end: vtest.avi → resize → video file (re-opened with OpenCV), and the
// sinks (JSON lines, image files) producing real files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "tests/calculators/graph_test_util.h"
#include "tests/testing/shared_data.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::edgepipe::testing::RunAndCollect;

std::filesystem::path FreshDir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / fmt::format("edgepipe_{}_{}", name, getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(MediaPipelineTest, VtestResizedToVideoFileIsPlayableWithSameFrameCount) {
  const std::string input = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(input);
  const std::string output = (FreshDir("video") / "vtest_small.avi").string();
  auto outputs = RunAndCollect(R"(
    node {
      calculator: "VideoFileSourceCalculator"
      input_side_packet: "INPUT_PATH:input_path"
      output_stream: "IMAGE:frames"
    }
    node {
      calculator: "ImageResizeCalculator"
      input_stream: "IMAGE:frames"
      output_stream: "IMAGE:small"
      options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 384 height: 288 } }
    }
    node {
      calculator: "VideoWriterCalculator"
      input_stream: "IMAGE:small"
      input_side_packet: "OUTPUT_PATH:output_path"
    }
  )", {}, {{"input_path", MakePacket<std::string>(input)}, {"output_path", MakePacket<std::string>(output)}});
  ASSERT_TRUE(outputs.ok()) << outputs.status();

  cv::VideoCapture written(output);
  ASSERT_TRUE(written.isOpened()) << output << " is not a playable video";
  EXPECT_EQ(written.get(cv::CAP_PROP_FRAME_WIDTH), 384);
  EXPECT_EQ(written.get(cv::CAP_PROP_FRAME_HEIGHT), 288);
  EXPECT_NEAR(written.get(cv::CAP_PROP_FPS), 10.0, 1e-6) << "fps should come from the source's VideoHeader";
  int frames = 0;
  cv::Mat frame;
  while (written.read(frame)) ++frames;
  EXPECT_EQ(frames, 795);
}

TEST(MediaPipelineTest, WriterWithoutPathIsAnError) {
  auto outputs = RunAndCollect(R"(
    input_stream: "in"
    node { calculator: "VideoWriterCalculator" input_stream: "IMAGE:in" }
  )", {});
  ASSERT_FALSE(outputs.ok());
  EXPECT_THAT(outputs.status().message(), ::testing::HasSubstr("OUTPUT_PATH"));
}

// The ready-graph convention (docs/graphs.md): a writer whose OUTPUT_PATH side
// packet is connected but left unset (absent, or "" as `edgepipe run` passes
// for a missing flag) is off; set, it writes.
TEST(SinksTest, WritersWithUnsetOutputSidePacketAreOff) {
  EDGEPIPE_REQUIRE_SHARED_FILE(MediaPath("traffic_0001.bmp"));
  const std::filesystem::path dir = FreshDir("unset_outputs");
  const std::string graph = R"(
    node {
      calculator: "ImageFileSourceCalculator"
      input_side_packet: "INPUT_PATH:input_path"
      output_stream: "IMAGE:frames"
    }
    node { calculator: "VideoWriterCalculator" input_stream: "IMAGE:frames" input_side_packet: "OUTPUT_PATH:output_path" }
    node { calculator: "ImageWriterCalculator" input_stream: "IMAGE:frames" input_side_packet: "OUTPUT_PATH:images_path" }
    node { calculator: "JsonLinesWriterCalculator" input_stream: "frames" input_side_packet: "OUTPUT_PATH:json_path" }
  )";
  const Packet input = MakePacket<std::string>(MediaPath("traffic_*.bmp"));
  // output_path given as "", images_path and json_path not given at all.
  auto off = RunAndCollect(graph, {}, {{"input_path", input}, {"output_path", MakePacket<std::string>("")}});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  EXPECT_FALSE(std::filesystem::exists("frame_000000.png")) << "the image writer fell back to its default pattern";

  auto on = RunAndCollect(graph, {}, {{"input_path", input},
                                      {"output_path", MakePacket<std::string>((dir / "v.avi").string())},
                                      {"images_path", MakePacket<std::string>(dir.string())},
                                      {"json_path", MakePacket<std::string>((dir / "r.jsonl").string())}});
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_GT(std::filesystem::file_size(dir / "v.avi"), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir / "frame_000002.png"));
  std::ifstream json(dir / "r.jsonl");
  int lines = 0;
  for (std::string line; std::getline(json, line);) ++lines;
  EXPECT_EQ(lines, 3);
}

TEST(SinksTest, JsonLinesOnePerTimestamp) {
  EDGEPIPE_REQUIRE_SHARED_FILE(MediaPath("traffic_0001.bmp"));
  const std::string output = (FreshDir("json") / "results.jsonl").string();
  auto outputs = RunAndCollect(R"(
    node {
      calculator: "ImageFileSourceCalculator"
      input_side_packet: "INPUT_PATH:input_path"
      output_stream: "IMAGE:frames"
      options { [edgepipe.ImageFileSourceCalculatorOptions.ext] { frame_rate: 10 } }
    }
    node {
      calculator: "LetterboxCalculator"
      input_stream: "IMAGE:frames"
      output_stream: "IMAGE:boxed"
      output_stream: "TRANSFORM:letterbox"
      options { [edgepipe.LetterboxCalculatorOptions.ext] { width: 128 height: 128 } }
    }
    node {
      calculator: "JsonLinesWriterCalculator"
      input_stream: "boxed"
      input_stream: "letterbox"
      input_side_packet: "OUTPUT_PATH:output_path"
    }
  )", {}, {{"input_path", MakePacket<std::string>(MediaPath("traffic_*.bmp"))},
           {"output_path", MakePacket<std::string>(output)}});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  std::ifstream file(output);
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(file, line)) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["timestamp_us"], 100000);
  EXPECT_EQ(lines[1]["boxed"]["width"], 128);
  EXPECT_EQ(lines[1]["letterbox"]["target_size"][0], 128);
}

TEST(SinksTest, JsonLinesNamesAnUnserialisableType) {
  struct Opaque {};
  auto config = ParseGraphConfig(R"(
    input_stream: "in"
    node { calculator: "JsonLinesWriterCalculator" input_stream: "in" options { [edgepipe.JsonLinesWriterCalculatorOptions.ext] { path: "/dev/null" } } }
  )");
  ASSERT_TRUE(config.ok());
  Graph graph;
  ASSERT_TRUE(graph.Initialize(*config).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  (void)graph.AddPacketToInputStream("in", MakePacket<Opaque>().At(Timestamp(0)));
  (void)graph.CloseAllInputStreams();
  Status status = graph.WaitUntilDone();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), ::testing::HasSubstr("Opaque"));
  EXPECT_THAT(status.message(), ::testing::HasSubstr("\"in\""));
}

TEST(SinksTest, ImageWriterWritesReadableFiles) {
  const std::string input = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(input);
  const std::filesystem::path dir = FreshDir("images");
  auto outputs = RunAndCollect(R"(
    node {
      calculator: "VideoFileSourceCalculator"
      input_side_packet: "INPUT_PATH:input_path"
      output_stream: "IMAGE:frames"
      options { [edgepipe.VideoFileSourceCalculatorOptions.ext] { max_frames: 3 output_format: "RGB" } }
    }
    node {
      calculator: "ImageWriterCalculator"
      input_stream: "IMAGE:frames"
      input_side_packet: "OUTPUT_PATH:pattern"
    }
  )", {}, {{"input_path", MakePacket<std::string>(input)},
           {"pattern", MakePacket<std::string>((dir / "f{index:03d}_{timestamp_us}.png").string())}});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  for (const char* name : {"f000_0.png", "f001_100000.png", "f002_200000.png"}) {
    cv::Mat image = cv::imread((dir / name).string());
    ASSERT_FALSE(image.empty()) << name;
    EXPECT_EQ(image.cols, 768);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "f003_300000.png"));
}

TEST(SinksTest, WindowWithoutDisplayIsAClearError) {
  if (std::getenv("DISPLAY") != nullptr || std::getenv("WAYLAND_DISPLAY") != nullptr) {
    GTEST_SKIP() << "a display is present";
  }
  auto outputs = RunAndCollect(R"(
    input_stream: "in"
    node { calculator: "WindowSinkCalculator" input_stream: "IMAGE:in" }
  )", {});
  ASSERT_FALSE(outputs.ok());
  EXPECT_THAT(outputs.status().message(), ::testing::HasSubstr("DISPLAY"));
}

}  // namespace
}  // namespace edgepipe
