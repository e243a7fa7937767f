#include <flatbuffers/flexbuffers.h>

#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::Pointwise;

// Three anchors (ycenter, xcenter, h, w); with zero encodings and unit scales the
// decoded boxes are the anchors' corners:
//   A0 (0,0,1,1), A1 (0,0.1,1,1.1) [IoU with A0 = 0.9/1.1 = 0.82], A2 (2,2,3,3).
// Scores (background, class 0, class 1):
//   A0 {0, .9, .1}, A1 {0, .8, .7}, A2 {0, .2, .6}.
struct Fixture {
  TestTensor boxes = Make<float>(DType::kFloat32, {1, 3, 4}, std::vector<float>(12, 0.0f), "box_encodings");
  TestTensor scores = Make<float>(DType::kFloat32, {1, 3, 3}, {0, .9f, .1f, 0, .8f, .7f, 0, .2f, .6f},
                                  "class_predictions");
  TestTensor anchors = Make<float>(DType::kFloat32, {3, 4}, {.5f, .5f, 1, 1, .5f, .6f, 1, 1, 2.5f, 2.5f, 1, 1},
                                   "anchors");
};

DetectionPostProcessOptions BaseOptions() {
  DetectionPostProcessOptions o;
  o.max_detections = 3;
  o.max_classes_per_detection = 1;
  o.detections_per_class = 3;
  o.nms_score_threshold = 0.3f;
  o.nms_iou_threshold = 0.5f;
  o.num_classes = 2;
  o.y_scale = o.x_scale = o.h_scale = o.w_scale = 1.0f;
  return o;
}

struct Results {
  explicit Results(int n)
      : boxes(Output(DType::kFloat32, {1, n, 4}, "boxes")),
        classes(Output(DType::kFloat32, {1, n}, "classes")),
        scores(Output(DType::kFloat32, {1, n}, "scores")),
        count(Output(DType::kFloat32, {1}, "num_detections")) {}
  std::vector<const TensorView*> list() const { return {&boxes.view, &classes.view, &scores.view, &count.view}; }
  TestTensor boxes, classes, scores, count;
};

Status RunPostProcess(const DetectionPostProcessOptions& o, const TensorView& b, const TensorView& s, const TensorView& a,
           const Results& r) {
  std::vector<std::byte> scratch(DetectionPostProcessScratchBytes(o, b.shape.size() == 3 ? b.shape[1] : 0));
  const auto outputs = r.list();
  return DetectionPostProcess(o, b, s, a, outputs, scratch);
}

TEST(DetectionPostProcessTest, FastNmsSuppressesOverlapAcrossClasses) {
  Fixture f;
  Results r(3);
  ASSERT_THAT(RunPostProcess(BaseOptions(), f.boxes, f.scores, f.anchors, r), IsOk());
  EXPECT_THAT(r.count.Values<float>(), ElementsAre(2.0f));
  EXPECT_THAT(r.classes.Values<float>(), ElementsAre(0.0f, 1.0f, 0.0f));
  EXPECT_THAT(r.scores.Values<float>(), ElementsAre(.9f, .6f, 0.0f));
  EXPECT_THAT(r.boxes.Values<float>(),
              Pointwise(FloatNear(1e-6), std::vector<float>{0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0}));
}

TEST(DetectionPostProcessTest, FastNmsSeveralClassesPerDetection) {
  Fixture f;
  DetectionPostProcessOptions o = BaseOptions();
  o.max_classes_per_detection = 2;
  Results r(6);
  ASSERT_THAT(RunPostProcess(o, f.boxes, f.scores, f.anchors, r), IsOk());
  EXPECT_THAT(r.count.Values<float>(), ElementsAre(2.0f));
  EXPECT_THAT(r.classes.Values<float>(), ElementsAre(0, 1, 1, 0, 0, 0));
  EXPECT_THAT(r.scores.Values<float>(), ElementsAre(.9f, .1f, .6f, .2f, 0, 0));
}

TEST(DetectionPostProcessTest, RegularNmsWorksPerClass) {
  Fixture f;
  DetectionPostProcessOptions o = BaseOptions();
  o.use_regular_nms = true;
  Results r(3);
  ASSERT_THAT(RunPostProcess(o, f.boxes, f.scores, f.anchors, r), IsOk());
  // class 0 keeps A0 (A1 suppressed by it); class 1 keeps A1 (.7) and A2 (.6).
  EXPECT_THAT(r.count.Values<float>(), ElementsAre(3.0f));
  EXPECT_THAT(r.classes.Values<float>(), ElementsAre(0, 1, 1));
  EXPECT_THAT(r.scores.Values<float>(), ElementsAre(.9f, .7f, .6f));
  EXPECT_THAT(r.boxes.Values<float>(),
              Pointwise(FloatNear(1e-6), std::vector<float>{0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 2, 2, 3, 3}));
}

TEST(DetectionPostProcessTest, RegularNmsKeepsTopMaxDetections) {
  Fixture f;
  DetectionPostProcessOptions o = BaseOptions();
  o.use_regular_nms = true;
  o.max_detections = 2;
  Results r(2);
  ASSERT_THAT(RunPostProcess(o, f.boxes, f.scores, f.anchors, r), IsOk());
  EXPECT_THAT(r.count.Values<float>(), ElementsAre(2.0f));
  EXPECT_THAT(r.scores.Values<float>(), ElementsAre(.9f, .7f));
}

TEST(DetectionPostProcessTest, DecodesWithScales) {
  // Encoding (y, x, h, w) = (1, -2, ln 4 * 5, 0) with scales (10, 10, 5, 5) against anchor (0.5, 0.5, 0.2, 0.4):
  // ycenter = 1/10*0.2 + 0.5 = 0.52; xcenter = -2/10*0.4 + 0.5 = 0.42;
  // half_h = 0.5 * exp(ln 4) * 0.2 = 0.4; half_w = 0.5 * 1 * 0.4 = 0.2.
  auto boxes = Make<float>(DType::kFloat32, {1, 1, 4}, {1, -2, 5 * std::log(4.0f), 0}, "box_encodings");
  auto scores = Make<float>(DType::kFloat32, {1, 1, 2}, {0, .5f}, "class_predictions");
  auto anchors = Make<float>(DType::kFloat32, {1, 4}, {.5f, .5f, .2f, .4f}, "anchors");
  DetectionPostProcessOptions o = BaseOptions();
  o.num_classes = 1;
  o.max_detections = 1;
  o.y_scale = o.x_scale = 10;
  o.h_scale = o.w_scale = 5;
  Results r(1);
  ASSERT_THAT(RunPostProcess(o, boxes, scores, anchors, r), IsOk());
  EXPECT_THAT(r.boxes.Values<float>(), Pointwise(FloatNear(1e-6), std::vector<float>{0.12f, 0.22f, 0.92f, 0.62f}));
}

TEST(DetectionPostProcessTest, QuantizedInputsAreDequantized) {
  // Encodings at the zero point (0.0); anchors with scale 0.1; scores with scale 0.01.
  auto boxes = Make<uint8_t>(DType::kUInt8, {1, 3, 4}, std::vector<uint8_t>(12, 128), "box_encodings",
                             PerTensor(0.1f, 128));
  auto scores = Make<uint8_t>(DType::kUInt8, {1, 3, 3}, {0, 90, 10, 0, 80, 70, 0, 20, 60}, "class_predictions",
                              PerTensor(0.01f, 0));
  auto anchors = Make<uint8_t>(DType::kUInt8, {3, 4}, {5, 5, 10, 10, 5, 6, 10, 10, 25, 25, 10, 10}, "anchors",
                               PerTensor(0.1f, 0));
  Results r(3);
  ASSERT_THAT(RunPostProcess(BaseOptions(), boxes, scores, anchors, r), IsOk());
  EXPECT_THAT(r.count.Values<float>(), ElementsAre(2.0f));
  EXPECT_THAT(r.classes.Values<float>(), ElementsAre(0, 1, 0));
  EXPECT_THAT(r.scores.Values<float>(), Pointwise(FloatNear(1e-6), std::vector<float>{.9f, .6f, 0}));
  EXPECT_THAT(r.boxes.Values<float>(),
              Pointwise(FloatNear(1e-6), std::vector<float>{0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0}));
}

TEST(DetectionPostProcessTest, ScoreThresholdDropsEverything) {
  Fixture f;
  DetectionPostProcessOptions o = BaseOptions();
  o.nms_score_threshold = 0.95f;
  Results r(3);
  ASSERT_THAT(RunPostProcess(o, f.boxes, f.scores, f.anchors, r), IsOk());
  EXPECT_THAT(r.count.Values<float>(), ElementsAre(0.0f));
}

TEST(DetectionPostProcessTest, WrongOutputShapeNamesOutput) {
  Fixture f;
  Results r(2);  // needs 3
  EXPECT_THAT(RunPostProcess(BaseOptions(), f.boxes, f.scores, f.anchors, r), IsErrorNaming("boxes"));
}

TEST(DetectionPostProcessTest, AnchorCountMismatchNamesAnchors) {
  Fixture f;
  auto anchors = Make<float>(DType::kFloat32, {2, 4}, std::vector<float>(8, 1.0f), "short_anchors");
  Results r(3);
  EXPECT_THAT(RunPostProcess(BaseOptions(), f.boxes, f.scores, anchors, r), IsErrorNaming("short_anchors"));
}

TEST(DetectionPostProcessTest, TooManyClassColumnsNamesPredictions) {
  Fixture f;
  DetectionPostProcessOptions o = BaseOptions();
  o.num_classes = 1;  // 3 columns would need num_classes >= 2
  Results r(3);
  EXPECT_THAT(RunPostProcess(o, f.boxes, f.scores, f.anchors, r), IsErrorNaming("class_predictions"));
}

TEST(DetectionPostProcessTest, ScratchTooSmallIsAnError) {
  Fixture f;
  Results r(3);
  std::vector<std::byte> scratch(16);
  const auto outputs = r.list();
  const Status status = DetectionPostProcess(BaseOptions(), f.boxes, f.scores, f.anchors, outputs, scratch);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), ::testing::HasSubstr("scratch"));
}

std::vector<uint8_t> BuildOptions(bool with_optional) {
  flexbuffers::Builder fbb;
  fbb.Map([&] {
    fbb.Int("max_detections", 10);
    fbb.Int("max_classes_per_detection", 1);
    if (with_optional) {
      fbb.Int("detections_per_class", 7);
      fbb.Bool("use_regular_nms", true);
    }
    fbb.Float("nms_score_threshold", 0.25f);
    fbb.Float("nms_iou_threshold", 0.6f);
    fbb.Int("num_classes", 90);
    fbb.Float("y_scale", 10.0f);
    fbb.Float("x_scale", 10.0f);
    fbb.Float("h_scale", 5.0f);
    fbb.Float("w_scale", 5.0f);
  });
  fbb.Finish();
  return fbb.GetBuffer();
}

TEST(ParseDetectionPostProcessOptionsTest, ReadsAllKeys) {
  const std::vector<uint8_t> buffer = BuildOptions(true);
  const Result<DetectionPostProcessOptions> parsed = ParseDetectionPostProcessOptions(buffer.data(), buffer.size());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->max_detections, 10);
  EXPECT_EQ(parsed->max_classes_per_detection, 1);
  EXPECT_EQ(parsed->detections_per_class, 7);
  EXPECT_TRUE(parsed->use_regular_nms);
  EXPECT_FLOAT_EQ(parsed->nms_score_threshold, 0.25f);
  EXPECT_FLOAT_EQ(parsed->nms_iou_threshold, 0.6f);
  EXPECT_EQ(parsed->num_classes, 90);
  EXPECT_FLOAT_EQ(parsed->y_scale, 10.0f);
  EXPECT_FLOAT_EQ(parsed->x_scale, 10.0f);
  EXPECT_FLOAT_EQ(parsed->h_scale, 5.0f);
  EXPECT_FLOAT_EQ(parsed->w_scale, 5.0f);
}

TEST(ParseDetectionPostProcessOptionsTest, DefaultsForOptionalKeys) {
  const std::vector<uint8_t> buffer = BuildOptions(false);
  const Result<DetectionPostProcessOptions> parsed = ParseDetectionPostProcessOptions(buffer.data(), buffer.size());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->detections_per_class, 100);
  EXPECT_FALSE(parsed->use_regular_nms);
}

TEST(ParseDetectionPostProcessOptionsTest, MissingKeyIsAnError) {
  flexbuffers::Builder fbb;
  fbb.Map([&] { fbb.Int("max_detections", 10); });
  fbb.Finish();
  const std::vector<uint8_t> buffer = fbb.GetBuffer();
  const Result<DetectionPostProcessOptions> parsed = ParseDetectionPostProcessOptions(buffer.data(), buffer.size());
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), ::testing::HasSubstr("max_classes_per_detection"));
}

TEST(ParseDetectionPostProcessOptionsTest, GarbageIsAnError) {
  const uint8_t garbage[] = {0xff, 0x13, 0x00, 0x7f, 0x42};
  EXPECT_FALSE(ParseDetectionPostProcessOptions(garbage, sizeof(garbage)).ok());
  EXPECT_FALSE(ParseDetectionPostProcessOptions(nullptr, 0).ok());
  // Every truncation of a valid buffer is rejected or parsed, never read out of bounds.
  const std::vector<uint8_t> buffer = BuildOptions(true);
  for (size_t n = 1; n < buffer.size(); ++n) {
    std::vector<uint8_t> prefix(buffer.end() - static_cast<std::ptrdiff_t>(n), buffer.end());
    (void)ParseDetectionPostProcessOptions(prefix.data(), prefix.size());
  }
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
