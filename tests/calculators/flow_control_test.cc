// Flow control: PacketResampler (MediaPipe's semantics, on synthetic streams and
// on vtest.avi at 2 fps), FlowLimiter in front of a slow node, Gate, PacketCloner,
// PacketThinner.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "calculators/types/image_frame.h"
#include "core/calculator.h"
#include "core/graph.h"
#include "tests/calculators/graph_test_util.h"
#include "tests/testing/shared_data.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::edgepipe::testing::RunAndCollect;
using ::testing::ElementsAre;

// Feeds int packets (value = index) at `timestamps` into graph input "in" and
// collects output stream `out`.
Result<std::vector<Packet>> FeedInts(const std::string& config_text, const std::vector<int64_t>& timestamps,
                                     const std::string& out = "out") {
  EP_ASSIGN_OR_RETURN(GraphConfig config, ParseGraphConfig(config_text, "test graph"));
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  auto packets = std::make_shared<std::vector<Packet>>();
  auto mutex = std::make_shared<std::mutex>();
  EP_RETURN_IF_ERROR(graph.ObserveOutputStream(out, [packets, mutex](const Packet& packet) {
    std::lock_guard lock(*mutex);
    packets->push_back(packet);
    return OkStatus();
  }));
  EP_RETURN_IF_ERROR(graph.StartRun());
  for (size_t i = 0; i < timestamps.size(); ++i) {
    EP_RETURN_IF_ERROR(graph.AddPacketToInputStream("in", MakePacket<int>(static_cast<int>(i)).At(Timestamp(timestamps[i]))));
  }
  EP_RETURN_IF_ERROR(graph.CloseAllInputStreams());
  EP_RETURN_IF_ERROR(graph.WaitUntilDone());
  return *packets;
}

std::string ResamplerGraph(const std::string& options) {
  return R"(
    input_stream: "in"
    output_stream: "out"
    node {
      calculator: "PacketResamplerCalculator"
      input_stream: "DATA:in"
      output_stream: "DATA:out"
      options { [edgepipe.PacketResamplerCalculatorOptions.ext] { )" + options + R"( } }
    })";
}

std::vector<std::pair<int64_t, int>> TimesAndValues(const std::vector<Packet>& packets) {
  std::vector<std::pair<int64_t, int>> result;
  for (const Packet& packet : packets) result.emplace_back(packet.timestamp().Value(), *packet.Get<int>().value());
  return result;
}

TEST(PacketResamplerTest, NearestPacketTiesToCurrentGapsRepeat) {
  // 10 fps output (period 100000 µs) from irregular input.
  // Input:   0:#0  40000:#1  150000:#2  250000:#3  520000:#4
  // Targets: 0 ← #0 (the first packet).
  //          100000 ← #2: previous #1 is 60000 away, current #2 50000.
  //          200000 ← #3: #2 and #3 are both 50000 away; a tie goes to the current packet.
  //          300000, 400000 and 500000 are all passed by #4 at 520000 (a gap):
  //            300000 ← #3 (50000 vs 220000), 400000 ← #4 (150000 vs 120000), 500000 ← #4.
  // Flush:   600000 ← #4 (the last packet, at the next target).
  auto packets = FeedInts(ResamplerGraph("frame_rate: 10"), {0, 40000, 150000, 250000, 520000});
  ASSERT_TRUE(packets.ok()) << packets.status();
  EXPECT_THAT(TimesAndValues(*packets),
              ElementsAre(std::pair<int64_t, int>{0, 0}, std::pair<int64_t, int>{100000, 2},
                          std::pair<int64_t, int>{200000, 3}, std::pair<int64_t, int>{300000, 3},
                          std::pair<int64_t, int>{400000, 4}, std::pair<int64_t, int>{500000, 4},
                          std::pair<int64_t, int>{600000, 4}));
}

TEST(PacketResamplerTest, NoFlushAndStartOffsetAndEndTime) {
  auto packets = FeedInts(ResamplerGraph("frame_rate: 10 flush_last_packet: false end_time: 1300000"),
                          {1000000, 1100000, 1200000, 1300000, 1400000});
  ASSERT_TRUE(packets.ok()) << packets.status();
  // t0 = first packet (1 s); outputs after end_time are dropped.
  EXPECT_THAT(TimesAndValues(*packets),
              ElementsAre(std::pair<int64_t, int>{1000000, 0}, std::pair<int64_t, int>{1100000, 1},
                          std::pair<int64_t, int>{1200000, 2}, std::pair<int64_t, int>{1300000, 3}));
}

TEST(PacketResamplerTest, NonIntegerRateDoesNotDrift) {
  // 3 fps: targets round(k × 1e6 / 3) = 0, 333333, 666667, 1000000, …
  std::vector<int64_t> input;
  for (int64_t t = 0; t <= 3000000; t += 1000) input.push_back(t);
  auto packets = FeedInts(ResamplerGraph("frame_rate: 3 flush_last_packet: false"), input);
  ASSERT_TRUE(packets.ok()) << packets.status();
  ASSERT_EQ(packets->size(), 10u);
  for (size_t k = 0; k < packets->size(); ++k) {
    EXPECT_EQ((*packets)[k].timestamp().Value(), std::llround(static_cast<double>(k) * 1e6 / 3.0));
  }
}

TEST(PacketResamplerTest, JitterIsReproducibleWithASeed) {
  std::vector<int64_t> input;
  for (int64_t t = 0; t <= 2000000; t += 10000) input.push_back(t);
  const std::string graph = ResamplerGraph("frame_rate: 10 jitter: 0.5 jitter_seed: 42");
  auto first = FeedInts(graph, input);
  auto second = FeedInts(graph, input);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(TimesAndValues(*first), TimesAndValues(*second));
  bool any_off_grid = false;
  for (size_t k = 1; k < first->size(); ++k) {
    const int64_t t = (*first)[k].timestamp().Value();
    EXPECT_GT(t, (*first)[k - 1].timestamp().Value());
    any_off_grid |= t % 100000 != 0;
  }
  EXPECT_TRUE(any_off_grid) << "jitter had no effect";
}

TEST(PacketResamplerTest, MissingFrameRateIsAnError) {
  auto packets = FeedInts(ResamplerGraph(""), {0});
  ASSERT_FALSE(packets.ok());
  EXPECT_THAT(packets.status().message(), ::testing::HasSubstr("frame_rate"));
}

TEST(PacketResamplerTest, RatesAbove1000AndBackwardTimesAreRefused) {
  // 1e9 per second turned 3 frames into thousands of repeats; NaN and inf never were rates.
  for (const char* rate : {"frame_rate: 1e9", "frame_rate: 1000.5", "frame_rate: inf", "frame_rate: nan",
                           "frame_rate: -2"}) {
    auto packets = FeedInts(ResamplerGraph(rate), {0, 33333, 66666});
    ASSERT_FALSE(packets.ok()) << rate;
    EXPECT_THAT(packets.status().message(), ::testing::HasSubstr("frame_rate in (0, 1000]")) << rate;
  }
  auto backwards = FeedInts(ResamplerGraph("frame_rate: 10 start_time: 500000 end_time: 100"), {0});
  ASSERT_FALSE(backwards.ok());
  EXPECT_THAT(backwards.status().message(), ::testing::HasSubstr("end_time 100 is before start_time 500000"));
  EXPECT_TRUE(FeedInts(ResamplerGraph("frame_rate: 1000"), {0, 1000}).ok());
}

TEST(PacketResamplerTest, MaxFramesSidePacketBoundsTheOutput) {
  // 3 input packets 1/3 s apart at 1000 per second would be ~668 outputs; MAX_FRAMES keeps 5.
  const std::string text = R"(
    input_stream: "in"
    output_stream: "out"
    node {
      calculator: "PacketResamplerCalculator"
      input_stream: "DATA:in"
      input_side_packet: "MAX_FRAMES:max_frames"
      output_stream: "DATA:out"
      options { [edgepipe.PacketResamplerCalculatorOptions.ext] { frame_rate: 1000 } }
    })";
  for (const auto& [limit, expected] : {std::pair<std::string, size_t>{"5", 5}, {"", 668}}) {
    auto config = ParseGraphConfig(text, "test graph");
    ASSERT_TRUE(config.ok()) << config.status();
    Graph graph;
    ASSERT_TRUE(graph.Initialize(*config).ok());
    auto count = std::make_shared<std::atomic<size_t>>(0);
    ASSERT_TRUE(graph.ObserveOutputStream("out", [count](const Packet&) { ++*count; return OkStatus(); }).ok());
    ASSERT_TRUE(graph.StartRun({{"max_frames", MakePacket<std::string>(limit)}}).ok());
    for (int64_t t : {0, 333333, 666666}) {
      ASSERT_TRUE(graph.AddPacketToInputStream("in", MakePacket<int>(0).At(Timestamp(t))).ok());
    }
    ASSERT_TRUE(graph.CloseAllInputStreams().ok());
    ASSERT_TRUE(graph.WaitUntilDone().ok());
    EXPECT_EQ(count->load(), expected) << "max_frames '" << limit << "'";
  }
}

TEST(PacketResamplerTest, VtestAt2FpsEmitsTheRightCountAtTheRightTimes) {
  const std::string path = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto outputs = RunAndCollect(R"(
    output_stream: "frames"
    output_stream: "resampled"
    node {
      calculator: "VideoFileSourceCalculator"
      input_side_packet: "INPUT_PATH:input_path"
      output_stream: "IMAGE:frames"
    }
    node {
      calculator: "PacketResamplerCalculator"
      input_stream: "DATA:frames"
      output_stream: "DATA:resampled"
      options { [edgepipe.PacketResamplerCalculatorOptions.ext] { frame_rate: 2 } }
    }
  )", {"frames", "resampled"}, {{"input_path", MakePacket<std::string>(path)}});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  const std::vector<int64_t> input = outputs->Timestamps("frames");
  ASSERT_EQ(input.size(), 795u);
  // Expected, from the formula: t_k = t0 + round(k × 1e6 / 2) for every t_k ≤ the last
  // input (79.4 s), plus the flushed last packet at the next t_k.
  std::vector<int64_t> expected;
  for (int64_t k = 0;; ++k) {
    const int64_t target = input.front() + std::llround(static_cast<double>(k) * 1e6 / 2.0);
    expected.push_back(target);
    if (target > input.back()) break;
  }
  EXPECT_EQ(expected.size(), 160u);
  EXPECT_EQ(outputs->Timestamps("resampled"), expected);
  // Each output carries the input frame at its time (the input has one at every multiple of 0.5 s).
  const auto& frames = outputs->packets["frames"];
  const auto& resampled = outputs->packets["resampled"];
  auto pixels = [](const Packet& packet) { return packet.Get<ImageFrame>().value()->data(); };
  for (size_t k = 0; k + 1 < resampled.size(); ++k) {
    EXPECT_EQ(pixels(resampled[k]), pixels(frames[k * 5])) << "output " << k;
  }
  EXPECT_EQ(pixels(resampled.back()), pixels(frames.back()));
}

TEST(RealtimePacerTest, ReleasesPacketsAtTheirTimestampsWallTime) {
  const std::string graph = R"(
    input_stream: "in"
    output_stream: "out"
    node {
      calculator: "RealtimePacerCalculator"
      input_stream: "in"
      output_stream: "out"
      options { [edgepipe.RealtimePacerCalculatorOptions.ext] { speed: 2 } }
    })";
  const auto start = std::chrono::steady_clock::now();
  auto packets = FeedInts(graph, {1000000, 1100000, 1200000, 1300000});  // 300 ms of stream at 2× = 150 ms
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(packets.ok()) << packets.status();
  EXPECT_EQ(packets->size(), 4u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(145));
}

TEST(VideoFileSourcePacingTest, RealtimeOptionPacesFrames) {
  const std::string path = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  const auto start = std::chrono::steady_clock::now();
  auto outputs = RunAndCollect(R"(
    output_stream: "frames"
    node {
      calculator: "VideoFileSourceCalculator"
      input_side_packet: "INPUT_PATH:input_path"
      output_stream: "IMAGE:frames"
      options { [edgepipe.VideoFileSourceCalculatorOptions.ext] { realtime: true realtime_speed: 4 max_frames: 5 } }
    }
  )", {"frames"}, {{"input_path", MakePacket<std::string>(path)}});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ(outputs->packets["frames"].size(), 5u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(95));  // frame 4 is due at 400 ms / 4
}

}  // namespace
}  // namespace edgepipe
