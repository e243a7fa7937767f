// `edgepipe bench` accuracy and agreement arithmetic on known predictions, and
// labelled sets read from folders and CSV files made in a temp dir.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/shared_data.h"
#include "tests/tools/cli_test_util.h"
#include "tools/bench_eval.h"
#include "tools/model_labels.h"

namespace edgepipe::tools {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

Prediction Top(std::vector<size_t> top) { return {.top = std::move(top), .detections = {}}; }
Prediction Boxes(std::vector<Detection> d) { return {.top = {}, .detections = std::move(d)}; }
Detection Box(float x, float y, float w, float h, int label, float score = 0.9f) {
  return {.xmin = x, .ymin = y, .width = w, .height = h, .score = score, .label_id = label, .label = {}, .track_id = -1, .keypoints = {}};
}

TEST(BenchEvalTest, TopKAccuracyCountsFirstAndAnyOfFive) {
  const std::vector<Prediction> p = {Top({3, 1, 2, 4, 5}), Top({1, 3, 2, 4, 5}), Top({7, 8, 9, 10, 11}),
                                     Top({0, 1, 2, 3, 4})};
  const Accuracy a = TopKAccuracy(p, {3, 3, 3, 4});
  EXPECT_EQ(a.images, 4u);
  EXPECT_DOUBLE_EQ(a.top1, 0.25);  // only the first
  EXPECT_DOUBLE_EQ(a.top5, 0.75);  // all but the third
}

TEST(BenchEvalTest, Top1AgreementWithAndWithoutABackgroundClass) {
  const std::vector<Prediction> ref = {Top({5}), Top({6}), Top({7}), Top({8})};
  EXPECT_DOUBLE_EQ(Top1Agreement(ref, ref), 1.0);
  EXPECT_DOUBLE_EQ(Top1Agreement(ref, {Top({5}), Top({6}), Top({1}), Top({2})}), 0.5);
  // The reference has a background class 0: its class 6 is the variant's 5.
  EXPECT_DOUBLE_EQ(Top1Agreement(ref, {Top({4}), Top({5}), Top({6}), Top({0})}, 1), 0.75);
}

TEST(BenchEvalTest, DetectionsMatchAtIouHalfWithTheSameClass) {
  const std::vector<Prediction> ref = {Boxes({Box(0, 0, 0.5f, 0.5f, 1), Box(0.5f, 0.5f, 0.4f, 0.4f, 2)})};
  DetectionAgreement self = MatchDetections(ref, ref);
  EXPECT_EQ(self.matched, 2u);
  EXPECT_DOUBLE_EQ(self.agreement, 1.0);
  // Shifted by 0.1 of 0.5: IoU = 0.4*0.5 / (2*0.25 - 0.2) = 0.667 >= 0.5, matched. The second box has
  // another class, not matched; a third, extra box makes the union 4: 1 / (2 + 2 - 1).
  const std::vector<Prediction> var = {Boxes({Box(0.1f, 0, 0.5f, 0.5f, 1), Box(0.5f, 0.5f, 0.4f, 0.4f, 3)})};
  DetectionAgreement d = MatchDetections(ref, var);
  EXPECT_EQ(d.matched, 1u);
  EXPECT_NEAR(d.agreement, 1.0 / 3.0, 1e-12);
  // Shifted by 0.3: IoU = 0.2*0.5 / (0.5 - 0.1) = 0.25, no match.
  EXPECT_EQ(MatchDetections(ref, {Boxes({Box(0.3f, 0, 0.5f, 0.5f, 1)})}).matched, 0u);
  // Neither model finds anything: they agree.
  EXPECT_DOUBLE_EQ(MatchDetections({Boxes({})}, {Boxes({})}).agreement, 1.0);
}

TEST(BenchEvalTest, ClassIndexOfLabelByIndexNameAndSynonym) {
  const std::vector<std::string> map = {"background", "tench, Tinca tinca", "goldfish, Carassius auratus", "macaw"};
  EXPECT_EQ(*ClassIndexOfLabel("2", map, 4), 2u);
  EXPECT_EQ(*ClassIndexOfLabel("macaw", map, 4), 3u);
  EXPECT_EQ(*ClassIndexOfLabel("Goldfish", map, 4), 2u);
  EXPECT_EQ(*ClassIndexOfLabel("tinca tinca", map, 4), 1u);
  // A model without the background class: the map's line 1 is its class 0.
  EXPECT_EQ(*ClassIndexOfLabel("tench", map, 3), 0u);
  EXPECT_THAT(ClassIndexOfLabel("zebra", map, 4).status().ToString(), HasSubstr("'zebra' is not in the label map"));
  EXPECT_THAT(ClassIndexOfLabel("macaw", {}, 4).status().ToString(), HasSubstr("no label map: give one with --labels"));
  EXPECT_THAT(ClassIndexOfLabel("macaw", map, 10).status().ToString(), HasSubstr("4 labels but the model has 10"));
  EXPECT_THAT(ClassIndexOfLabel("12", map, 4).status().ToString(), HasSubstr("not a class index"));
}

void Touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "x";
}

TEST(BenchEvalTest, LabelledSetFromSubFoldersAndFromCsv) {
  const fs::path dir = PerTestDir("edgepipe_bench_eval");
  Touch(dir / "folders" / "macaw" / "a.jpg");
  Touch(dir / "folders" / "macaw" / "b.png");
  Touch(dir / "folders" / "tabby" / "c.bmp");
  Touch(dir / "folders" / "tabby" / "notes.txt");
  auto set = LoadLabelledSet((dir / "folders").string());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ((*set)[0].label, "macaw");
  EXPECT_EQ((*set)[2].label, "tabby");
  EXPECT_EQ(fs::path((*set)[2].path).filename(), "c.bmp");

  Touch(dir / "csv" / "img" / "a.jpg");
  std::ofstream(dir / "csv" / "labels.csv") << "file,label\nimg/a.jpg,tench, Tinca tinca\n";
  set = LoadLabelledSet((dir / "csv").string());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->size(), 1u);
  EXPECT_EQ((*set)[0].label, "tench, Tinca tinca");
}

TEST(BenchEvalTest, LabelledSetErrorsSayWhatIsMissing) {
  const fs::path dir = PerTestDir("edgepipe_bench_eval");
  Touch(dir / "flat" / "a.jpg");
  EXPECT_THAT(LoadLabelledSet((dir / "flat").string()).status().ToString(), HasSubstr("has no labels"));
  EXPECT_THAT(LoadLabelledSet((dir / "absent").string()).status().ToString(), HasSubstr("does not exist"));
  std::ofstream(dir / "bad.csv") << "missing.jpg,macaw\n";
  EXPECT_THAT(LoadLabelledSet((dir / "bad.csv").string()).status().ToString(),
              HasSubstr("line 1: image '" + (dir / "missing.jpg").string() + "' does not exist"));
  fs::create_directories(dir / "empty" / "macaw");
  EXPECT_THAT(LoadLabelledSet((dir / "empty").string()).status().ToString(), HasSubstr("holds no labelled images"));
}

TEST(BenchEvalTest, LabelMapInsideTheModel) {
  const std::string mobilenet = testing::ModelPath("mobilenet_v2_1.0_224_quant.tflite");
  const std::string face = testing::ModelPath("face_detection_short_range.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(mobilenet);
  EDGEPIPE_REQUIRE_SHARED_FILE(face);
  auto labels = EmbeddedLabelMap(mobilenet);
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  ASSERT_EQ(labels->size(), 1001u) << "imagenet_labels.txt, stored in the zip appended to the model";
  EXPECT_EQ(labels->front(), "background");
  EXPECT_EQ((*labels)[653], "military uniform");
  auto none = EmbeddedLabelMap(face);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_THAT(EmbeddedLabelMap("no/such.tflite").status().ToString(), HasSubstr("cannot open"));
}

}  // namespace
}  // namespace edgepipe::tools
