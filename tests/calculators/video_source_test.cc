// Sources stamp frames with real microseconds: vtest.avi (10 fps, 795 frames)
// and Megamind.avi (23.976 fps, 270 frames) read completely, with exact
// timestamps; images at a configured rate; missing inputs are clear errors.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "calculators/types/image_frame.h"
#include "calculators/types/video_header.h"
#include "core/calculator.h"
#include "tests/calculators/graph_test_util.h"
#include "tests/testing/shared_data.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::edgepipe::testing::RunAndCollect;

Packet& CapturedHeader() {
  static Packet header;
  return header;
}

// Records the header of its input in Open (what a sink downstream of a source sees).
class CaptureHeaderForTestCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->AddInput("", TypeId::Any());
    return OkStatus();
  }
  Status Open(CalculatorContext* cc) override {
    CapturedHeader() = cc->Inputs().Index(0).Header();
    return OkStatus();
  }
  Status Process(CalculatorContext*) override { return OkStatus(); }
};

constexpr char kVideoGraph[] = R"(
  output_stream: "frames"
  node {
    calculator: "VideoFileSourceCalculator"
    input_side_packet: "INPUT_PATH:input_path"
    output_stream: "IMAGE:frames"
  }
)";

// Reads `path` through a graph; returns frame timestamps and the stream header.
struct ReadResult {
  std::vector<int64_t> timestamps;
  std::vector<Packet> frames;
};

ReadResult ReadVideo(const std::string& path) {
  auto outputs = RunAndCollect(kVideoGraph, {"frames"}, {{"input_path", MakePacket<std::string>(path)}});
  EXPECT_TRUE(outputs.ok()) << outputs.status();
  if (!outputs.ok()) return {};
  return {outputs->Timestamps("frames"), outputs->packets["frames"]};
}

TEST(VideoFileSourceTest, VtestHas795FramesAt10Fps) {
  const std::string path = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  ReadResult result = ReadVideo(path);
  ASSERT_EQ(result.timestamps.size(), 795u);
  for (size_t i = 0; i < result.timestamps.size(); ++i) {
    ASSERT_EQ(result.timestamps[i], static_cast<int64_t>(i) * 100000) << "frame " << i;
  }
  const ImageFrame* first = result.frames[0].Get<ImageFrame>().value();
  EXPECT_EQ(first->width(), 768);
  EXPECT_EQ(first->height(), 576);
  EXPECT_EQ(first->format(), ImageFormat::kBGR);
}

TEST(VideoFileSourceTest, MegamindHas270FramesAtExact23976Fps) {
  const std::string path = MediaPath("Megamind.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  ReadResult result = ReadVideo(path);
  ASSERT_EQ(result.timestamps.size(), 270u);
  for (size_t i = 0; i < result.timestamps.size(); ++i) {
    // i × 1e6 / 23.976 = i × 1e9 / 23976 µs, rounded to nearest (halves up).
    const int64_t numerator = static_cast<int64_t>(i) * 1000000000;
    const int64_t expected = (2 * numerator + 23976) / (2 * 23976);
    ASSERT_EQ(result.timestamps[i], expected) << "frame " << i;
  }
  EXPECT_EQ(result.timestamps[4], 166834);
  EXPECT_EQ(result.timestamps[269], 11219553);  // 269 × 41708.375 = 11219552.875
}

TEST(VideoFileSourceTest, SetsVideoHeaderAndHonoursMaxFrames) {
  const std::string path = MediaPath("Megamind.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto outputs = RunAndCollect(R"(
    output_stream: "frames"
    node {
      calculator: "VideoFileSourceCalculator"
      input_side_packet: "INPUT_PATH:input_path"
      input_side_packet: "MAX_FRAMES:max_frames"
      output_stream: "IMAGE:frames"
    }
    node {
      calculator: "CaptureHeaderForTestCalculator"
      input_stream: "frames"
    }
  )", {"frames"}, {{"input_path", MakePacket<std::string>(path)}, {"max_frames", MakePacket<std::string>("5")}});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ(outputs->packets["frames"].size(), 5u);
  const VideoHeader* header = CapturedHeader().TryGet<VideoHeader>();
  ASSERT_NE(header, nullptr) << "no VideoHeader reached the downstream node";
  EXPECT_EQ(header->width, 720);
  EXPECT_EQ(header->height, 528);
  EXPECT_EQ(header->rate, (FrameRate{2997, 125}));
  EXPECT_EQ(header->frame_count, 5);  // limited by max_frames
  EXPECT_EQ(header->source, path);
}

TEST(VideoFileSourceTest, MissingFileIsAnErrorNamingIt) {
  auto outputs = RunAndCollect(kVideoGraph, {"frames"},
                               {{"input_path", MakePacket<std::string>("/nonexistent/clip.avi")}});
  ASSERT_FALSE(outputs.ok());
  EXPECT_THAT(outputs.status().message(), ::testing::HasSubstr("/nonexistent/clip.avi"));
}

TEST(VideoFileSourceTest, UndecodableFileIsAnErrorNamingIt) {
  const std::string path = ::testing::TempDir() + fmt::format("/not_a_video_{}.avi", getpid());
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("this is not a video", file);
  std::fclose(file);
  auto outputs = RunAndCollect(kVideoGraph, {"frames"}, {{"input_path", MakePacket<std::string>(path)}});
  ASSERT_FALSE(outputs.ok());
  EXPECT_THAT(outputs.status().message(), ::testing::HasSubstr(path));
}

TEST(CameraSourceTest, AbsentCameraIsAnErrorNamingIt) {
  auto outputs = RunAndCollect(R"(
    output_stream: "frames"
    node {
      calculator: "CameraSourceCalculator"
      output_stream: "IMAGE:frames"
      options { [edgepipe.CameraSourceCalculatorOptions.ext] { device: "/dev/video97" } }
    }
  )", {"frames"});
  ASSERT_FALSE(outputs.ok());
  EXPECT_THAT(outputs.status().message(), ::testing::HasSubstr("/dev/video97"));
}

TEST(ImageFileSourceTest, GlobAtConfiguredFrameRate) {
  const std::string first = MediaPath("traffic_0001.bmp");
  EDGEPIPE_REQUIRE_SHARED_FILE(first);
  auto outputs = RunAndCollect(R"(
    output_stream: "frames"
    node {
      calculator: "ImageFileSourceCalculator"
      input_side_packet: "INPUT_PATH:input_path"
      output_stream: "IMAGE:frames"
      options { [edgepipe.ImageFileSourceCalculatorOptions.ext] { frame_rate: 3 output_format: "RGB" } }
    }
  )", {"frames"}, {{"input_path", MakePacket<std::string>(MediaPath("traffic_*.bmp"))}});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  // round(i × 1e6 / 3): 0, 333333, 666667
  EXPECT_THAT(outputs->Timestamps("frames"), ::testing::ElementsAre(0, 333333, 666667));
  EXPECT_EQ(outputs->packets["frames"][0].Get<ImageFrame>().value()->format(), ImageFormat::kRGB);
}

TEST(ImageFileSourceTest, NoMatchIsAnErrorNamingThePattern) {
  auto outputs = RunAndCollect(R"(
    output_stream: "frames"
    node {
      calculator: "ImageFileSourceCalculator"
      output_stream: "IMAGE:frames"
      options { [edgepipe.ImageFileSourceCalculatorOptions.ext] { path: "/nonexistent/*.png" } }
    }
  )", {"frames"});
  ASSERT_FALSE(outputs.ok());
  EXPECT_THAT(outputs.status().message(), ::testing::HasSubstr("/nonexistent/*.png"));
}

}  // namespace

EDGEPIPE_REGISTER_CALCULATOR(CaptureHeaderForTestCalculator);

}  // namespace edgepipe
