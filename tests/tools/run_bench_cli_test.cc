// `edgepipe run GRAPH --bench` on a real video: frames/s, the source → sink
// latency of every frame, CPU use and peak RSS are reported.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testing/shared_data.h"
#include "tests/tools/cli_test_util.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(RunBenchCliTest, ReportsThroughputLatencyPerFrameCpuAndRss) {
  const std::string video = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(video);
  const auto out = PerTestDir("edgepipe_run_bench") / "out.avi";
  CliResult r = RunCli({"run", "graphs/video_resize.pbtxt", "--input", video, "--output", out.string(),
                        "--max-frames", "20", "--bench"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("frames:            20 in "));
  // Every frame the source emitted reached the writer (the sink), matched by timestamp.
  EXPECT_THAT(r.out, ContainsRegex("latency source→sink, 20 of 20 frames reached a sink: p50 [0-9.]+ ms, p90 [0-9.]+ "
                                   "ms, p99 [0-9.]+ ms"));
  EXPECT_THAT(r.out, ContainsRegex("CPU: +[0-9.]+ s user\\+system"));
  EXPECT_THAT(r.out, ContainsRegex("peak RSS: +[0-9.]+ MB"));
}

TEST(RunBenchCliTest, WithoutTheFlagNoReport) {
  const std::string video = MediaPath("vtest.avi");
  EDGEPIPE_REQUIRE_SHARED_FILE(video);
  const auto out = PerTestDir("edgepipe_run_bench") / "out.avi";
  CliResult r = RunCli({"run", "graphs/video_resize.pbtxt", "--input", video, "--output", out.string(),
                        "--max-frames", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("pipeline benchmark")));
}

}  // namespace
}  // namespace edgepipe
