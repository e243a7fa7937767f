// `edgepipe bench`: the statistics on known durations with a fake clock, the
// report's schema on a real model, and a clear error for each kind of bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/engine/test_models.h"
#include "tests/testing/shared_data.h"
#include "tests/tools/cli_test_util.h"
#include "tools/bench_stats.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::ModelPath;
using ::testing::HasSubstr;

std::filesystem::path TestDir() { return PerTestDir("edgepipe_bench"); }

TEST(BenchStatsTest, KnownDurationsGiveExactStatistics) {
  // 1..100 ms shuffled: mean 50.5, median 50.5, p90 = 90.1, p99 = 99.01 (linear
  // interpolation, NumPy's default), population std sqrt((100^2 - 1) / 12).
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(i);
  const tools::LatencyStats s = tools::Summarize(samples);
  EXPECT_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_DOUBLE_EQ(s.median, 50.5);
  EXPECT_NEAR(s.p90, 90.1, 1e-9);
  EXPECT_NEAR(s.p99, 99.01, 1e-9);
  EXPECT_NEAR(s.std, std::sqrt((100.0 * 100.0 - 1.0) / 12.0), 1e-9);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 100);
}

TEST(BenchStatsTest, OddCountMedianAndSingleSample) {
  EXPECT_DOUBLE_EQ(tools::Summarize({3, 1, 2}).median, 2);
  const tools::LatencyStats one = tools::Summarize({7});
  EXPECT_DOUBLE_EQ(one.p99, 7);
  EXPECT_DOUBLE_EQ(one.std, 0);
}

TEST(BenchStatsTest, TimeRunsMeasuresOnTheInjectedClock) {
  // Each run advances the fake clock by 2, 4, 6, ... ms.
  double now = 0;
  int calls = 0;
  auto clock = [&] { return now; };
  auto run = [&] {
    now += 2.0 * ++calls;
    return OkStatus();
  };
  auto durations = tools::TimeRuns(run, clock, 3, 0);
  ASSERT_TRUE(durations.ok());
  EXPECT_EQ(*durations, (std::vector<double>{2, 4, 6}));
  // --min-secs: runs continue past min_runs until 30 ms have passed (2+4+6+8+10 = 30).
  now = 0;
  calls = 0;
  durations = tools::TimeRuns(run, clock, 1, 30);
  ASSERT_TRUE(durations.ok());
  EXPECT_EQ(durations->size(), 5u);
}

TEST(BenchStatsTest, TimeRunsStopsAtTheFirstError) {
  int calls = 0;
  auto durations = tools::TimeRuns(
      [&] { return ++calls == 2 ? InternalError("boom") : OkStatus(); }, [] { return 0.0; }, 5, 0);
  ASSERT_FALSE(durations.ok());
  EXPECT_THAT(durations.status().ToString(), HasSubstr("run 2"));
}

TEST(BenchCliTest, ReportSchemaOnTwoModelsAndTwoThreadCounts) {
  const std::string v1 = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  const std::string v2 = ModelPath("mobilenet_v2_1.0_224_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(v1);
  EDGEPIPE_REQUIRE_SHARED_FILE(v2);
  const auto dir = TestDir();
  const std::string json_path = (dir / "bench.json").string(), csv = (dir / "bench.csv").string();
  const std::string md = (dir / "bench.md").string();
  CliResult r = RunCli({"bench", v1, v2, "--threads", "1,2", "--runs", "5", "--warmup", "1", "--profile-ops",
                        "--json", json_path, "--csv", csv, "--markdown", md});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "no progress line when stderr is not a terminal";
  EXPECT_THAT(r.out, HasSubstr("| mobilenet_v2_1.0_224_quant.tflite | 3526 | 2 |"));
  const auto report = nlohmann::json::parse(ReadFile(json_path));
  EXPECT_TRUE(report["machine"].contains("cpu_model"));
  EXPECT_GE(report["machine"]["cores"].get<int>(), 1);
  ASSERT_EQ(report["results"].size(), 4u);
  for (const auto& res : report["results"]) {
    EXPECT_EQ(res["latency"]["count"], 5);
    EXPECT_EQ(res["samples_ms"].size(), 5u);
    EXPECT_GT(res["first_inference_ms"].get<double>(), 0);
    EXPECT_LE(res["latency"]["min_ms"].get<double>(), res["latency"]["median_ms"].get<double>());
    EXPECT_LE(res["latency"]["median_ms"].get<double>(), res["latency"]["p90_ms"].get<double>());
    EXPECT_LE(res["latency"]["p99_ms"].get<double>(), res["latency"]["max_ms"].get<double>());
    EXPECT_GT(res["peak_rss_kb"].get<long>(), 0);
    EXPECT_FALSE(res["profile"]["ops"].empty());
    EXPECT_FALSE(res["profile"]["by_op_type_ms"].empty());
    EXPECT_FALSE(res["profile"]["by_backend_ms"].empty());
  }
  EXPECT_EQ(report["results"][3]["threads"], 2);
  const std::string csv_text = ReadFile(csv);
  EXPECT_EQ(std::count(csv_text.begin(), csv_text.end(), '\n'), 5);
  EXPECT_THAT(ReadFile(md), HasSubstr("| p99 |"));
}

TEST(BenchCliTest, MissingModelIsAnError) {
  CliResult r = RunCli({"bench", "no/such/model.tflite"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("model 'no/such/model.tflite' does not exist"));
}

TEST(BenchCliTest, UnsupportedOperatorIsNamed) {
  const auto path = TestDir() / "lstm.tflite";
  engine::testing::TinyModelSpec spec;
  spec.op_code = 16;  // LSTM
  const std::vector<uint8_t> bytes = engine::testing::BuildTinyModel(spec);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  CliResult r = RunCli({"bench", path.string(), "--runs", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("operator 0 (LSTM)"));
}

TEST(BenchCliTest, ZeroThreadsAndZeroRunsAreErrors) {
  const std::string v1 = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  CliResult threads = RunCli({"bench", v1, "--threads", "1,0"});
  EXPECT_EQ(threads.exit_code, 1);
  EXPECT_THAT(threads.err, HasSubstr("--threads: every thread count must be at least 1 (got 0)"));
  CliResult runs = RunCli({"bench", v1, "--runs", "0"});
  EXPECT_EQ(runs.exit_code, 1);
  EXPECT_THAT(runs.err, HasSubstr("--runs must be at least 1"));
}

TEST(BenchCliTest, UnwritableOutputIsAnErrorBeforeRunning) {
  const std::string v1 = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(v1);
  CliResult r = RunCli({"bench", v1, "--runs", "1", "--json", "/nonexistent_dir/bench.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--json: cannot write '/nonexistent_dir/bench.json'"));
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace edgepipe
