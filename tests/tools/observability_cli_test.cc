// `edgepipe viz` of every shipped graph, and `edgepipe run --stats / --trace /
// --stall-timeout` on a real video.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/testing/shared_data.h"
#include "tests/tools/cli_test_util.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::testing::HasSubstr;

TEST(VizCliTest, EveryShippedGraphRendersToANonEmptyPng) {
  const std::filesystem::path dir = PerTestDir("viz");
  int graphs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(EDGEPIPE_SOURCE_DIR) / "graphs")) {
    if (entry.path().extension() != ".pbtxt") continue;
    ++graphs;
    const std::filesystem::path png = dir / (entry.path().stem().string() + ".png");
    CliResult result = RunCli({"viz", entry.path().string(), "-o", png.string()});
    ASSERT_EQ(result.exit_code, 0) << entry.path() << ": " << result.err;
    const std::string bytes = ReadFile(png);
    ASSERT_GT(bytes.size(), 1000u) << png;
    EXPECT_EQ(bytes.substr(1, 3), "PNG") << png;
  }
  EXPECT_GT(graphs, 5);
}

TEST(VizCliTest, DotHasPortsStreamsExecutorClustersAndDashedBackEdges) {
  const std::filesystem::path dir = PerTestDir("viz_dot");
  const std::filesystem::path graph = dir / "loop.pbtxt";
  std::ofstream(graph) << R"pb(
    executor { name: "io" num_threads: 1 }
    input_stream: "in"
    output_stream: "out"
    node { calculator: "PreviousLoopbackCalculator" name: "prev" input_stream: "MAIN:in"
           input_stream: "LOOP:out" input_stream_info { tag_index: "LOOP" back_edge: true }
           output_stream: "PREV_LOOP:prev" }
    node { calculator: "PassThroughCalculator" name: "pass" input_stream: "prev" output_stream: "out"
           executor: "io" }
  )pb";
  const std::filesystem::path dot = dir / "loop.dot";
  CliResult result = RunCli({"viz", graph.string(), "-o", dot.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string text = ReadFile(dot);
  EXPECT_THAT(text, HasSubstr("<i0> MAIN|<i1> LOOP"));
  EXPECT_THAT(text, HasSubstr("<o0> PREV_LOOP"));
  EXPECT_THAT(text, HasSubstr("subgraph \"cluster_io\""));
  EXPECT_THAT(text, HasSubstr("n1:o0 -> n0:i1 [label=\"out\", style=dashed"));
  EXPECT_THAT(text, HasSubstr("\"input in\" -> n0:i0 [label=\"in\"]"));
}

TEST(RunObservabilityCliTest, StatsTableTraceAndPeakRss) {
  const std::string video = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(video);
  const std::filesystem::path dir = PerTestDir("run_trace");
  const std::filesystem::path trace = dir / "trace.json";
  CliResult result = RunCli({"run", "graphs/video_resize.pbtxt", "--input", video, "--output",
                             (dir / "small.avi").string(), "--max-frames", "12", "--stats", "--trace",
                             trace.string(), "-q"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("p99_us"));
  EXPECT_THAT(result.err, HasSubstr("packets/s"));
  EXPECT_THAT(result.err, HasSubstr("peak RSS: "));
  EXPECT_THAT(result.err, HasSubstr("VideoFileSourceCalculator"));
  std::ifstream file(trace);
  const nlohmann::json json = nlohmann::json::parse(file);
  int source_spans = 0;
  for (const nlohmann::json& event : json["traceEvents"]) {
    if (event["ph"] == "X" && event["cat"] == "Process" &&
        event["args"]["node"].get<std::string>().find("VideoFileSource") != std::string::npos) {
      ++source_spans;
    }
  }
  EXPECT_GE(source_spans, 12);
}

}  // namespace
}  // namespace edgepipe
