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

using ::edgepipe::testing::MediaPath;
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
  EXPECT_TRUE(report["machine"].contains("cpu_flags"));
  EXPECT_TRUE(report["machine"].contains("governor"));
  EXPECT_TRUE(report["machine"]["versions"].contains("protobuf"));
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

// A labelled folder made from the shared pictures: one sub-folder per label.
std::filesystem::path LabelledFolder(const std::filesystem::path& dir) {
  const std::vector<std::pair<std::string, std::string>> pictures = {
      {"military uniform", "grace_hopper.bmp"}, {"macaw", "parrot.jpg"}, {"tabby", "cat_720p.jpg"},
      {"chickadee", "bird.bmp"}};
  const auto root = dir / "labelled";
  for (const auto& [label, file] : pictures) {
    std::filesystem::create_directories(root / label);
    std::filesystem::copy_file(MediaPath(file), root / label / file,
                               std::filesystem::copy_options::overwrite_existing);
  }
  return root;
}

TEST(BenchCliTest, AccuracyAndAgreementOfTwoPrecisionVariantsOnLabelledPictures) {
  const std::string uint8 = ModelPath("mobilenet_v2_1.0_224_quant.tflite");
  const std::string int8 = ModelPath("tf2_mobilenet_v2_1.0_224_ptq.tflite");
  const std::string small = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  for (const auto& f : {uint8, int8, small, MediaPath("grace_hopper.bmp")}) EDGEPIPE_REQUIRE_SHARED_FILE(f);
  const auto dir = TestDir();
  const std::string json_path = (dir / "bench.json").string();
  CliResult r = RunCli({"bench", uint8, int8, small, "--runs", "2", "--warmup", "0", "--accuracy",
                        LabelledFolder(dir).string(), "--labels", ModelPath("imagenet_labels.txt"), "--agreement",
                        uint8, "--json", json_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("| top-1 | top-5 | agreement |"));
  const auto results = nlohmann::json::parse(ReadFile(json_path))["results"];
  ASSERT_EQ(results.size(), 3u);
  for (const auto& res : results) {
    EXPECT_EQ(res["accuracy"]["images"], 4);
    for (const char* k : {"top1", "top5"}) {
      EXPECT_GE(res["accuracy"][k].get<double>(), 0.0);
      EXPECT_LE(res["accuracy"][k].get<double>(), 1.0);
    }
    EXPECT_LE(res["accuracy"]["top1"].get<double>(), res["accuracy"]["top5"].get<double>());
    EXPECT_EQ(res["agreement"]["kind"], "top1");
    EXPECT_GE(res["agreement"]["value"].get<double>(), 0.0);
    EXPECT_LE(res["agreement"]["value"].get<double>(), 1.0);
  }
  // The reference against itself agrees exactly; it names the uniform, the macaw and the chickadee
  // (top-1 3/4), and the cat's "tabby" is among its best five ("Egyptian cat" first).
  EXPECT_EQ(results[0]["agreement"]["value"].get<double>(), 1.0);
  EXPECT_EQ(results[0]["accuracy"]["label_map"], ModelPath("imagenet_labels.txt"));
  EXPECT_DOUBLE_EQ(results[0]["accuracy"]["top1"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(results[0]["accuracy"]["top5"].get<double>(), 1.0);
}

TEST(BenchCliTest, AccuracyNamesClassesWithTheLabelFileInsideTheModel) {
  const std::string int8 = ModelPath("tf2_mobilenet_v2_1.0_224_ptq.tflite");
  for (const auto& f : {int8, MediaPath("grace_hopper.bmp")}) EDGEPIPE_REQUIRE_SHARED_FILE(f);
  const auto dir = TestDir();
  const std::string json_path = (dir / "bench.json").string();
  CliResult r = RunCli({"bench", int8, "--runs", "1", "--warmup", "0", "--accuracy", LabelledFolder(dir).string(),
                        "--json", json_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto accuracy = nlohmann::json::parse(ReadFile(json_path))["results"][0]["accuracy"];
  EXPECT_EQ(accuracy["label_map"], "in the model");
  EXPECT_DOUBLE_EQ(accuracy["top1"].get<double>(), 0.75);
}

TEST(BenchCliTest, DetectorsAgreeOnBoxesAtIouHalf) {
  const std::string ssd = ModelPath("zoo/ssd_mobilenet_v1_coco_quant.tflite");
  const std::string traffic = ModelPath("traffic_model.tflite");
  for (const auto& f : {ssd, traffic, MediaPath("traffic_0001.bmp")}) EDGEPIPE_REQUIRE_SHARED_FILE(f);
  const auto images = TestDir() / "images";
  std::filesystem::create_directories(images);
  for (const char* f : {"traffic_0001.bmp", "traffic_0002.bmp"}) std::filesystem::copy_file(MediaPath(f), images / f);
  const std::string json_path = (TestDir() / "bench.json").string();
  CliResult r = RunCli({"bench", ssd, traffic, "--runs", "2", "--warmup", "0", "--input", images.string(),
                        "--agreement", ssd, "--json", json_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(ReadFile(json_path));
  EXPECT_EQ(report["settings"]["input_images"].size(), 2u);
  const auto self = report["results"][0]["agreement"];
  EXPECT_EQ(self["kind"], "detections_iou_0.5");
  EXPECT_EQ(self["images"], 2);
  EXPECT_GT(self["reference_boxes"].get<int>(), 0) << "cars in the traffic pictures";
  EXPECT_EQ(self["matched"], self["reference_boxes"]);
  EXPECT_EQ(self["value"].get<double>(), 1.0);
  const double other = report["results"][1]["agreement"]["value"].get<double>();
  EXPECT_GE(other, 0.0);
  EXPECT_LE(other, 1.0);
}

TEST(BenchCliTest, ChartIsAPngDrawnFromTheReport) {
  const std::string v1 = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(v1);
  const auto png = TestDir() / "bench.png";
  CliResult r = RunCli({"bench", v1, "--threads", "1,2", "--runs", "3", "--chart", png.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = ReadFile(png);
  ASSERT_GT(bytes.size(), 10000u) << "three panels and a caption";
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_TRUE(nlohmann::json::parse(ReadFile(png.string() + ".json")).contains("machine"));
}

TEST(BenchCliTest, AccuracyAndAgreementErrorsNameWhatIsWrong) {
  const std::string v1 = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(v1);
  const auto flat = TestDir() / "flat";
  std::filesystem::create_directories(flat);
  std::filesystem::copy_file(MediaPath("parrot.jpg"), flat / "parrot.jpg");
  CliResult no_labels = RunCli({"bench", v1, "--runs", "1", "--accuracy", flat.string()});
  EXPECT_EQ(no_labels.exit_code, 1);
  EXPECT_THAT(no_labels.err, HasSubstr("has no labels: it needs a CSV file (lines file,label) or one sub-folder"));
  EXPECT_EQ(no_labels.out, "") << "the error comes before the timing";
  std::filesystem::create_directories(flat / "macaw");
  std::filesystem::copy_file(MediaPath("parrot.jpg"), flat / "macaw" / "parrot.jpg");
  // The LSTM MNIST classifier carries no label file (the mobilenets carry imagenet_labels.txt).
  CliResult names_without_map =
      RunCli({"bench", ModelPath("zoo/keras_lstm_mnist_ptq.tflite"), "--runs", "1", "--accuracy", flat.string()});
  EXPECT_EQ(names_without_map.exit_code, 1);
  EXPECT_THAT(names_without_map.err, HasSubstr("label 'macaw' is not a class index, and the model carries no label map"));
  CliResult no_reference = RunCli({"bench", v1, "--agreement", "no/such/ref.tflite", "--input", flat.string()});
  EXPECT_EQ(no_reference.exit_code, 1);
  EXPECT_THAT(no_reference.err, HasSubstr("--agreement: reference model 'no/such/ref.tflite' does not exist"));
  CliResult no_images = RunCli({"bench", v1, "--agreement", v1});
  EXPECT_EQ(no_images.exit_code, 1);
  EXPECT_THAT(no_images.err, HasSubstr("--agreement compares answers on images"));
  CliResult segmenter = RunCli({"bench", ModelPath("deeplabv3_mnv2_dm05_pascal_quant.tflite"), "--agreement", v1,
                                "--input", flat.string()});
  EXPECT_EQ(segmenter.exit_code, 1);
  EXPECT_THAT(segmenter.err, HasSubstr("is neither a classifier"));
  CliResult detector = RunCli({"bench", ModelPath("traffic_model.tflite"), "--agreement", v1, "--input", flat.string()});
  EXPECT_EQ(detector.exit_code, 1);
  EXPECT_THAT(detector.err, HasSubstr("is a detector but the reference '" + v1 + "' is a classifier"));
}

TEST(BenchCliTest, InputDirectoryGivesEachRunTheNextImage) {
  const std::string v1 = ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(v1);
  const auto images = TestDir() / "images";
  std::filesystem::create_directories(images);
  for (const char* f : {"parrot.jpg", "bird.bmp", "face.jpg"}) std::filesystem::copy_file(MediaPath(f), images / f);
  std::ofstream(images / "notes.txt") << "not an image";
  const std::string json_path = (TestDir() / "bench.json").string();
  CliResult r = RunCli({"bench", v1, "--runs", "4", "--input", images.string(), "--json", json_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(ReadFile(json_path));
  EXPECT_EQ(report["settings"]["input_images"].size(), 3u);
  EXPECT_EQ(report["results"][0]["latency"]["count"], 4);
  const auto empty = TestDir() / "empty";
  std::filesystem::create_directories(empty);
  CliResult none = RunCli({"bench", v1, "--input", empty.string()});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("holds no image files"));
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
