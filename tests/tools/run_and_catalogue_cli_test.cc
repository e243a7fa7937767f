// `edgepipe run`, `edgepipe calculators`, `edgepipe describe`, and the check
// that docs/calculators.md is what `edgepipe calculators --markdown` prints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/videoio.hpp>

#include "tests/testing/shared_data.h"
#include "tests/tools/cli_test_util.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::testing::HasSubstr;

TEST(CatalogueCliTest, ListsEveryCalculatorWithASummary) {
  CliResult result = RunCli({"calculators"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* name : {"VideoFileSourceCalculator", "CameraSourceCalculator", "ImageFileSourceCalculator",
                           "VideoWriterCalculator", "ImageWriterCalculator", "JsonLinesWriterCalculator",
                           "FlowLimiterCalculator", "PacketResamplerCalculator", "GateCalculator",
                           "LetterboxCalculator", "ImageToTensorCalculator"}) {
    EXPECT_THAT(result.out, HasSubstr(name));
  }
}

TEST(CatalogueCliTest, JsonHasPortsAndOptionsWithDefaults) {
  CliResult result = RunCli({"calculators", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json all = nlohmann::json::parse(result.out);
  ASSERT_TRUE(all.is_array());
  bool found = false;
  for (const auto& info : all) {
    EXPECT_FALSE(info["summary"].get<std::string>().empty()) << info["name"] << " has no doc";
    if (info["name"] != "FlowLimiterCalculator") continue;
    found = true;
    EXPECT_EQ(info["input_handler"], "immediate");
    EXPECT_EQ(info["inputs"][1]["tag"], "FINISHED");
    EXPECT_EQ(info["options"]["message"], "edgepipe.FlowLimiterCalculatorOptions");
    EXPECT_EQ(info["options"]["fields"][0]["name"], "max_in_flight");
    EXPECT_EQ(info["options"]["fields"][0]["default"], "1");
  }
  EXPECT_TRUE(found);
}

TEST(CatalogueCliTest, DescribeShowsPortsOptionsAndExample) {
  CliResult result = RunCli({"describe", "PacketResamplerCalculator"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("DATA : Any"));
  EXPECT_THAT(result.out, HasSubstr("frame_rate : double"));
  EXPECT_THAT(result.out, HasSubstr("flush_last_packet : bool = true"));
  EXPECT_THAT(result.out, HasSubstr("Example:"));
  EXPECT_THAT(result.out, HasSubstr("calculators/flow/packet_resampler_calculator.cc"));
}

TEST(CatalogueCliTest, DescribeUnknownSuggestsTheClosestName) {
  CliResult result = RunCli({"describe", "FlowLimiter"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("did you mean \"FlowLimiterCalculator\""));
}

TEST(CatalogueCliTest, DocsCalculatorsMdIsUpToDate) {
  CliResult result = RunCli({"calculators", "--markdown"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::filesystem::path committed = std::filesystem::path(EDGEPIPE_SOURCE_DIR) / "docs" / "calculators.md";
  ASSERT_TRUE(std::filesystem::exists(committed)) << committed << " is missing";
  EXPECT_TRUE(ReadFile(committed) == result.out)
      << "docs/calculators.md is stale: regenerate it with\n"
         "  build/bin/edgepipe calculators --markdown > docs/calculators.md";
}

TEST(RunCliTest, ResizesAVideoAndPrintsASummary) {
  const std::string input = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(input);
  const std::string output = (std::filesystem::path(::testing::TempDir()) / fmt::format("edgepipe_cli_small_{}.avi", getpid())).string();
  std::filesystem::remove(output);
  CliResult result = RunCli({"run", "graphs/video_resize.pbtxt", "--input", input, "--output", output, "--max-frames", "20"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("20 frames in"));
  cv::VideoCapture written(output);
  ASSERT_TRUE(written.isOpened());
  EXPECT_EQ(written.get(cv::CAP_PROP_FRAME_WIDTH), 384);
  int frames = 0;
  cv::Mat frame;
  while (written.read(frame)) ++frames;
  EXPECT_EQ(frames, 20);
}

TEST(RunCliTest, MissingInputFailsNamingIt) {
  CliResult result = RunCli({"run", "graphs/video_resize.pbtxt", "--input", "/nonexistent/in.avi", "--output", "/tmp/x.avi"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("/nonexistent/in.avi"));
}

TEST(RunCliTest, MissingGraphFailsNamingIt) {
  CliResult result = RunCli({"run", "graphs/no_such_graph.pbtxt"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("no_such_graph.pbtxt"));
}

TEST(RunCliTest, SidePacketTheGraphDoesNotReadIsAnError) {
  CliResult result = RunCli({"run", "graphs/video_resize.pbtxt", "--side", "thresold=0.5"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("thresold"));
  EXPECT_THAT(result.err, HasSubstr("input_path"));  // lists what the graph does read
}

TEST(RunCliTest, InputAndCameraAreExclusive) {
  CliResult result = RunCli({"run", "graphs/video_resize.pbtxt", "--input", "a.avi", "--camera", "0"});
  EXPECT_NE(result.exit_code, 0);
}

TEST(CliTest, VersionAndHelp) {
  CliResult version = RunCli({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, HasSubstr("edgepipe 0."));
  CliResult help = RunCli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("bench-graph"));
  EXPECT_THAT(help.out, HasSubstr("run"));
}

TEST(BenchGraphCliTest, PrintsThroughputJsonForEveryPacket) {
  for (const std::vector<std::string>& extra : {std::vector<std::string>{}, {"--executor-per-node"}}) {
    std::vector<std::string> args = {"bench-graph", "--nodes", "3", "--packets", "20000"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult result = RunCli(args);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto json = nlohmann::json::parse(result.out);
    EXPECT_EQ(json["packets"], 20000);
    EXPECT_EQ(json["nodes"], 3);
    EXPECT_GT(json["packets_per_second"].get<double>(), 0.0);
    EXPECT_GT(json["us_per_hop"].get<double>(), 0.0);
    EXPECT_LE(json["max_queue_seen"].get<int>(), 100 + 64 * 5) << "queues stay bounded";
  }
}

TEST(RunCliTest, MalformedGraphNamesFileAndLine) {
  const std::filesystem::path graph = std::filesystem::path(::testing::TempDir()) / "malformed_graph.pbtxt";
  std::ofstream(graph) << "node {\n  calculator: \"PassThroughCalculator\"\n  input_stream: in\n}\n";
  CliResult result = RunCli({"run", graph.string()});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("malformed_graph.pbtxt:3:"));
}

TEST(RunCliTest, UnknownCalculatorSuggestsAName) {
  const std::filesystem::path graph = std::filesystem::path(::testing::TempDir()) / "typo_graph.pbtxt";
  std::ofstream(graph) << "node {\n  calculator: \"CountingSourceCalculatr\"\n  output_stream: \"n\"\n}\n";
  CliResult result = RunCli({"run", graph.string()});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("did you mean \"CountingSourceCalculator\""));
  EXPECT_THAT(result.err, HasSubstr("typo_graph.pbtxt:1"));
}

}  // namespace
}  // namespace edgepipe
