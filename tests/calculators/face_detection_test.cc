// The face-detection pipeline: SSD anchors, box decoding, non-maximum
// suppression, letterbox removal and overlay on hand-made inputs with
// hand-computed results; then BlazeFace short range end to end on face.jpg
// and the first frames of Megamind.avi (../shared).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "calculators/types/detection.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/json_serialization.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/types/tensor.h"
#include "calculators/vision/ssd_detection.h"
#include "core/graph.h"
#include "tests/calculators/graph_test_util.h"
#include "tests/testing/shared_data.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::edgepipe::testing::ModelPath;
using ::edgepipe::testing::RunAndCollect;
using ::testing::HasSubstr;

constexpr float kTolerance = 1e-5f;

// A packet's detections; a test failure (not a crash) when it holds something else.
std::vector<Detection> DetectionsOf(const Packet& packet) {
  auto detections = packet.Get<std::vector<Detection>>();
  if (!detections.ok()) {
    ADD_FAILURE() << detections.status();
    return {};
  }
  return **detections;
}

// BlazeFace short range's anchor options (MediaPipe's face_detection_short_range graph).
SsdAnchorsCalculatorOptions FaceAnchorOptions() {
  SsdAnchorsCalculatorOptions options;
  options.set_input_size_width(128);
  options.set_input_size_height(128);
  options.set_min_scale(0.1484375f);
  options.set_max_scale(0.75f);
  options.set_num_layers(4);
  for (int stride : {8, 16, 16, 16}) options.add_strides(stride);
  options.add_aspect_ratios(1.0f);
  options.set_interpolated_scale_aspect_ratio(1.0f);
  options.set_fixed_anchor_size(true);
  return options;
}

void ExpectAnchor(const Anchor& anchor, float x, float y, float w, float h) {
  EXPECT_NEAR(anchor.x_center, x, kTolerance);
  EXPECT_NEAR(anchor.y_center, y, kTolerance);
  EXPECT_NEAR(anchor.width, w, kTolerance);
  EXPECT_NEAR(anchor.height, h, kTolerance);
}

TEST(SsdAnchorsTest, FaceShortRangeHas896AnchorsOnTwoGrids) {
  auto anchors = GenerateSsdAnchors(FaceAnchorOptions());
  ASSERT_TRUE(anchors.ok()) << anchors.status();
  ASSERT_EQ(anchors->size(), 896u);  // 16²·2 + 8²·6
  // Stride 8: 16×16 cells, 2 anchors each (aspect 1 + interpolated), centres (x + 0.5)/16.
  ExpectAnchor((*anchors)[0], 0.03125f, 0.03125f, 1, 1);
  ExpectAnchor((*anchors)[1], 0.03125f, 0.03125f, 1, 1);
  ExpectAnchor((*anchors)[2], 0.09375f, 0.03125f, 1, 1);   // next x
  ExpectAnchor((*anchors)[32], 0.03125f, 0.09375f, 1, 1);  // next row: 16 cells × 2
  ExpectAnchor((*anchors)[511], 0.96875f, 0.96875f, 1, 1);
  // Strides 16,16,16 share one 8×8 grid with 3 × 2 = 6 anchors per cell.
  ExpectAnchor((*anchors)[512], 0.0625f, 0.0625f, 1, 1);
  ExpectAnchor((*anchors)[517], 0.0625f, 0.0625f, 1, 1);
  ExpectAnchor((*anchors)[518], 0.1875f, 0.0625f, 1, 1);
  ExpectAnchor((*anchors)[895], 0.9375f, 0.9375f, 1, 1);
}

TEST(SsdAnchorsTest, ScalesAspectRatiosAndInterpolatedAnchors) {
  SsdAnchorsCalculatorOptions options;
  options.set_input_size_width(32);
  options.set_input_size_height(32);
  options.set_min_scale(0.2f);
  options.set_max_scale(0.6f);
  options.set_num_layers(2);
  options.add_strides(8);
  options.add_strides(16);
  options.add_aspect_ratios(1.0f);
  options.add_aspect_ratios(2.0f);
  auto anchors = GenerateSsdAnchors(options);
  ASSERT_TRUE(anchors.ok()) << anchors.status();
  ASSERT_EQ(anchors->size(), 4u * 4u * 3u + 2u * 2u * 3u);
  ExpectAnchor((*anchors)[0], 0.125f, 0.125f, 0.2f, 0.2f);                                 // s0 = 0.2, a = 1
  ExpectAnchor((*anchors)[1], 0.125f, 0.125f, 0.2f * std::sqrt(2.0f), 0.2f / std::sqrt(2.0f));  // a = 2
  const float interpolated0 = std::sqrt(0.2f * 0.6f);  // √(s0·s1)
  ExpectAnchor((*anchors)[2], 0.125f, 0.125f, interpolated0, interpolated0);
  ExpectAnchor((*anchors)[48], 0.25f, 0.25f, 0.6f, 0.6f);  // layer 1: s1 = 0.6, 2×2 grid
  const float interpolated1 = std::sqrt(0.6f * 1.0f);      // last layer: s_{i+1} = 1
  ExpectAnchor((*anchors)[50], 0.25f, 0.25f, interpolated1, interpolated1);
}

TEST(SsdAnchorsTest, InconsistentOptionsAreErrors) {
  SsdAnchorsCalculatorOptions options = FaceAnchorOptions();
  options.add_strides(32);  // 5 strides, 4 layers
  auto anchors = GenerateSsdAnchors(options);
  ASSERT_FALSE(anchors.ok());
  EXPECT_THAT(anchors.status().ToString(), HasSubstr("5 strides"));
  options = FaceAnchorOptions();
  options.set_input_size_width(0);
  EXPECT_FALSE(GenerateSsdAnchors(options).ok());
}

// Two boxes × (4 box values + 2 keypoints), 1 class, scales 128.
TensorsToDetectionsCalculatorOptions SmallDecoderOptions() {
  TensorsToDetectionsCalculatorOptions options;
  options.set_num_classes(1);
  options.set_num_boxes(2);
  options.set_num_coords(8);
  options.set_keypoint_coord_offset(4);
  options.set_num_keypoints(2);
  options.set_x_scale(128);
  options.set_y_scale(128);
  options.set_w_scale(128);
  options.set_h_scale(128);
  options.set_sigmoid_score(true);
  options.set_score_clipping_thresh(100);
  options.set_min_score_thresh(0.5f);
  return options;
}

TEST(TensorsToDetectionsTest, DecodesBoxKeypointsAndSigmoidScore) {
  const std::vector<Anchor> anchors = {{0.5f, 0.5f, 1, 1}, {0.25f, 0.25f, 1, 1}};
  const std::vector<float> boxes = {
      12.8f, -6.4f, 25.6f, 38.4f, 0.0f, 0.0f, 12.8f, 12.8f,  // xc 0.6, yc 0.45, w 0.2, h 0.3
      0.0f,  0.0f,  12.8f, 12.8f, 0.0f, 0.0f, 0.0f,  0.0f,   // scores below threshold
  };
  const std::vector<float> scores = {0.0f, -1.0f};  // sigmoid: 0.5 (kept, ≥ 0.5), 0.27 (dropped)
  auto detections = DecodeSsdDetections(boxes.data(), scores.data(), anchors, SmallDecoderOptions());
  ASSERT_TRUE(detections.ok()) << detections.status();
  ASSERT_EQ(detections->size(), 1u);
  const Detection& d = (*detections)[0];
  EXPECT_NEAR(d.xmin, 0.5f, kTolerance);
  EXPECT_NEAR(d.ymin, 0.3f, kTolerance);
  EXPECT_NEAR(d.width, 0.2f, kTolerance);
  EXPECT_NEAR(d.height, 0.3f, kTolerance);
  EXPECT_NEAR(d.score, 0.5f, kTolerance);
  EXPECT_EQ(d.label_id, 0);
  ASSERT_EQ(d.keypoints.size(), 2u);
  EXPECT_NEAR(d.keypoints[0].x, 0.5f, kTolerance);
  EXPECT_NEAR(d.keypoints[0].y, 0.5f, kTolerance);
  EXPECT_NEAR(d.keypoints[1].x, 0.6f, kTolerance);
  EXPECT_NEAR(d.keypoints[1].y, 0.6f, kTolerance);
}

TEST(TensorsToDetectionsTest, ClipsHugeLogitsAndDropsDegenerateBoxes) {
  const std::vector<Anchor> anchors = {{0.5f, 0.5f, 1, 1}, {0.25f, 0.25f, 1, 1}};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> boxes = {
      0.0f, 0.0f, 12.8f, 12.8f, 0.0f, 0.0f, 0.0f, 0.0f,  // fine
      0.0f, 0.0f, -12.8f, 12.8f, 0.0f, 0.0f, 0.0f, 0.0f,  // negative width
  };
  const std::vector<float> scores = {1e30f, 1e30f};  // clipped to 100: sigmoid → 1, never NaN
  auto detections = DecodeSsdDetections(boxes.data(), scores.data(), anchors, SmallDecoderOptions());
  ASSERT_TRUE(detections.ok()) << detections.status();
  ASSERT_EQ(detections->size(), 1u);
  EXPECT_FLOAT_EQ((*detections)[0].score, 1.0f);

  boxes[2] = nan;  // NaN width
  detections = DecodeSsdDetections(boxes.data(), scores.data(), anchors, SmallDecoderOptions());
  ASSERT_TRUE(detections.ok()) << detections.status();
  EXPECT_TRUE(detections->empty());
}

TEST(TensorsToDetectionsTest, YxhwOrderAndExponentialSizes) {
  TensorsToDetectionsCalculatorOptions options = SmallDecoderOptions();
  options.set_num_boxes(1);
  options.set_num_keypoints(0);
  options.set_num_coords(4);
  options.set_box_format(TensorsToDetectionsCalculatorOptions::YXHW);
  options.set_apply_exponential_on_box_size(true);
  options.set_w_scale(1);
  options.set_h_scale(1);
  const std::vector<Anchor> anchors = {{0.5f, 0.5f, 0.2f, 0.4f}};
  const std::vector<float> boxes = {0.0f, 64.0f, 0.0f, std::log(2.0f)};  // y, x, h, w
  const std::vector<float> scores = {5.0f};
  auto detections = DecodeSsdDetections(boxes.data(), scores.data(), anchors, options);
  ASSERT_TRUE(detections.ok()) << detections.status();
  ASSERT_EQ(detections->size(), 1u);
  const Detection& d = (*detections)[0];
  EXPECT_NEAR(d.width, 0.4f, kTolerance);   // exp(ln 2) · 0.2
  EXPECT_NEAR(d.height, 0.4f, kTolerance);  // exp(0) · 0.4
  EXPECT_NEAR(d.xmin + d.width / 2, 0.5f + 0.5f * 0.2f, kTolerance);  // x offset 64/128 · anchor w
  EXPECT_NEAR(d.ymin + d.height / 2, 0.5f, kTolerance);
}

TEST(TensorsToDetectionsTest, AnchorCountMismatchIsAnError) {
  const std::vector<Anchor> anchors = {{0.5f, 0.5f, 1, 1}};
  const std::vector<float> boxes(16), scores(2);
  auto detections = DecodeSsdDetections(boxes.data(), scores.data(), anchors, SmallDecoderOptions());
  ASSERT_FALSE(detections.ok());
  EXPECT_THAT(detections.status().ToString(), HasSubstr("1 anchors"));
}

Detection Box(float xmin, float ymin, float w, float h, float score, std::vector<NormalizedKeypoint> keypoints = {}) {
  Detection d;
  d.xmin = xmin;
  d.ymin = ymin;
  d.width = w;
  d.height = h;
  d.score = score;
  d.keypoints = std::move(keypoints);
  return d;
}

TEST(NonMaxSuppressionTest, IouAndMediapipeEnclosingBoxOverlap) {
  const Detection a = Box(0.0f, 0.0f, 0.4f, 0.4f, 0.9f);
  const Detection b = Box(0.1f, 0.1f, 0.4f, 0.4f, 0.6f);
  // Intersection 0.3² = 0.09; union 0.16 + 0.16 − 0.09 = 0.23; enclosing box 0.5² = 0.25.
  EXPECT_NEAR(BoxOverlap(a, b, NonMaxSuppressionCalculatorOptions::INTERSECTION_OVER_UNION), 0.09f / 0.23f, kTolerance);
  EXPECT_NEAR(BoxOverlap(a, b, NonMaxSuppressionCalculatorOptions::MEDIAPIPE_JACCARD_ENCLOSING_BOX_COMPAT),
              0.09f / 0.25f, kTolerance);
  EXPECT_EQ(BoxOverlap(a, Box(0.5f, 0.5f, 0.1f, 0.1f, 1), NonMaxSuppressionCalculatorOptions::INTERSECTION_OVER_UNION),
            0.0f);
}

TEST(NonMaxSuppressionTest, DefaultDropsOverlappingLowerScores) {
  NonMaxSuppressionCalculatorOptions options;
  options.set_min_suppression_threshold(0.3f);
  const std::vector<Detection> input = {Box(0.1f, 0.1f, 0.4f, 0.4f, 0.6f), Box(0.6f, 0.6f, 0.2f, 0.2f, 0.7f),
                                        Box(0.0f, 0.0f, 0.4f, 0.4f, 0.9f)};
  const std::vector<Detection> kept = NonMaxSuppression(input, options);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);
  EXPECT_FLOAT_EQ(kept[0].xmin, 0.0f);
  EXPECT_FLOAT_EQ(kept[1].score, 0.7f);
  // With a threshold above their IoU (0.39) the two overlapping boxes both stay.
  options.set_min_suppression_threshold(0.5f);
  EXPECT_EQ(NonMaxSuppression(input, options).size(), 3u);
  options.set_max_num_detections(1);
  EXPECT_EQ(NonMaxSuppression(input, options).size(), 1u);
}

TEST(NonMaxSuppressionTest, WeightedAveragesCornersAndKeypointsOfACluster) {
  NonMaxSuppressionCalculatorOptions options;
  options.set_algorithm(NonMaxSuppressionCalculatorOptions::WEIGHTED);
  options.set_min_suppression_threshold(0.3f);
  const std::vector<Detection> input = {Box(0.1f, 0.1f, 0.4f, 0.4f, 0.6f, {{0.3f, 0.3f}}),
                                        Box(0.6f, 0.6f, 0.2f, 0.2f, 0.7f, {{0.7f, 0.7f}}),
                                        Box(0.0f, 0.0f, 0.4f, 0.4f, 0.9f, {{0.2f, 0.2f}})};
  const std::vector<Detection> kept = NonMaxSuppression(input, options);
  ASSERT_EQ(kept.size(), 2u);
  // Weights 0.9 and 0.6: xmin (0·0.9 + 0.1·0.6)/1.5 = 0.04, xmax (0.4·0.9 + 0.5·0.6)/1.5 = 0.44.
  EXPECT_NEAR(kept[0].xmin, 0.04f, kTolerance);
  EXPECT_NEAR(kept[0].ymin, 0.04f, kTolerance);
  EXPECT_NEAR(kept[0].width, 0.4f, kTolerance);
  EXPECT_NEAR(kept[0].keypoints[0].x, (0.2f * 0.9f + 0.3f * 0.6f) / 1.5f, kTolerance);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);  // the best detection's score, not a mean
  EXPECT_FLOAT_EQ(kept[1].score, 0.7f);
  EXPECT_NEAR(kept[1].xmin, 0.6f, kTolerance);  // a cluster of one is unchanged
}

TEST(DetectionJsonTest, DetectionsSerialiseForJsonLines) {
  const std::vector<Detection> detections = {Box(0.25f, 0.5f, 0.125f, 0.25f, 0.75f, {{0.5f, 0.25f}})};
  auto json = JsonSerializerRegistry::Global().Serialize(MakePacket<std::vector<Detection>>(detections));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->dump(),
            R"([{"height":0.25,"keypoints":[[0.5,0.25]],"label_id":0,"score":0.75,"width":0.125,"xmin":0.25,"ymin":0.5}])");
}

// Raw BlazeFace-shaped outputs: every box 0.1 × 0.1 at its anchor; logits −10
// except anchors 0 and 1 (same centre → one cluster) and 895.
std::vector<Tensor> HandMadeFaceOutputs() {
  Tensor boxes = *Tensor::Create(TensorDType::kFloat32, {1, 896, 16});
  Tensor scores = *Tensor::Create(TensorDType::kFloat32, {1, 896, 1});
  float* box_values = *boxes.mutable_data<float>();
  float* score_values = *scores.mutable_data<float>();
  for (int i = 0; i < 896; ++i) {
    box_values[i * 16 + 2] = 12.8f;  // w = 12.8/128 · 1
    box_values[i * 16 + 3] = 12.8f;
    score_values[i] = -10.0f;
  }
  score_values[0] = 2.0f;
  score_values[1] = 1.0f;
  score_values[895] = 3.0f;
  return {boxes, scores};
}

TEST(FaceDetectionGraphTest, AnchorsSidePacketDecodeAndWeightedNms) {
  const std::string config_text = R"(
    input_stream: "raw_outputs"
    output_stream: "detections"
    node {
      calculator: "SsdAnchorsCalculator"
      output_side_packet: "ANCHORS:anchors"
      options { [edgepipe.SsdAnchorsCalculatorOptions.ext] {
        input_size_width: 128 input_size_height: 128 num_layers: 4
        strides: [8, 16, 16, 16] aspect_ratios: 1 fixed_anchor_size: true } }
    }
    node {
      calculator: "TensorsToDetectionsCalculator"
      input_stream: "TENSORS:raw_outputs"
      input_side_packet: "ANCHORS:anchors"
      output_stream: "DETECTIONS:raw_detections"
      options { [edgepipe.TensorsToDetectionsCalculatorOptions.ext] {
        num_classes: 1 num_boxes: 896 num_coords: 16 keypoint_coord_offset: 4 num_keypoints: 6
        x_scale: 128 y_scale: 128 w_scale: 128 h_scale: 128
        sigmoid_score: true score_clipping_thresh: 100 min_score_thresh: 0.5 } }
    }
    node {
      calculator: "NonMaxSuppressionCalculator"
      input_stream: "DETECTIONS:raw_detections"
      output_stream: "DETECTIONS:detections"
      options { [edgepipe.NonMaxSuppressionCalculatorOptions.ext] { algorithm: WEIGHTED min_suppression_threshold: 0.3 } }
    })";
  auto config = ParseGraphConfig(config_text, "test graph");
  ASSERT_TRUE(config.ok()) << config.status();
  Graph graph;
  ASSERT_TRUE(graph.Initialize(*config).ok());
  std::vector<Packet> outputs;
  ASSERT_TRUE(graph.ObserveOutputStream("detections", [&](const Packet& p) {
    outputs.push_back(p);
    return OkStatus();
  }).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("raw_outputs", MakePacket<std::vector<Tensor>>(HandMadeFaceOutputs()).At(Timestamp(0))).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  Status done = graph.WaitUntilDone();
  ASSERT_TRUE(done.ok()) << done;
  ASSERT_EQ(outputs.size(), 1u);
  const std::vector<Detection> detections = DetectionsOf(outputs[0]);
  ASSERT_EQ(detections.size(), 2u);
  EXPECT_NEAR(detections[0].score, 1.0f / (1.0f + std::exp(-3.0f)), kTolerance);
  EXPECT_NEAR(detections[0].xmin, 0.9375f - 0.05f, kTolerance);
  EXPECT_NEAR(detections[1].score, 1.0f / (1.0f + std::exp(-2.0f)), kTolerance);
  EXPECT_NEAR(detections[1].xmin, 0.03125f - 0.05f, kTolerance);  // anchors 0 and 1 merged
  ASSERT_EQ(detections[1].keypoints.size(), 6u);
  EXPECT_NEAR(detections[1].keypoints[5].x, 0.03125f, kTolerance);
}

TEST(FaceDetectionGraphTest, LetterboxRemovalMapsBoxesAndKeypointsBack) {
  const std::string config_text = R"(
    input_stream: "letterboxed"
    input_stream: "transform"
    output_stream: "detections"
    node {
      calculator: "DetectionLetterboxRemovalCalculator"
      input_stream: "DETECTIONS:letterboxed"
      input_stream: "TRANSFORM:transform"
      output_stream: "DETECTIONS:detections"
    })";
  auto config = ParseGraphConfig(config_text, "test graph");
  ASSERT_TRUE(config.ok()) << config.status();
  Graph graph;
  ASSERT_TRUE(graph.Initialize(*config).ok());
  std::vector<Packet> outputs;
  ASSERT_TRUE(graph.ObserveOutputStream("detections", [&](const Packet& p) {
    outputs.push_back(p);
    return OkStatus();
  }).ok());
  // 720×528 into 128×128: scale 128/720, content 128×94, bars of 17 px above and below.
  const LetterboxTransform transform = ComputeLetterbox(720, 528, 128, 128);
  ASSERT_EQ(transform.pad_top, 17);
  const std::vector<Detection> letterboxed = {Box(0.25f, 0.5f, 0.25f, 0.25f, 0.9f, {{0.5f, 0.5f}})};
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("letterboxed", MakePacket<std::vector<Detection>>(letterboxed).At(Timestamp(0))).ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("transform", MakePacket<LetterboxTransform>(transform).At(Timestamp(0))).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  Status done = graph.WaitUntilDone();
  ASSERT_TRUE(done.ok()) << done;
  ASSERT_EQ(outputs.size(), 1u);
  const std::vector<Detection> detections = DetectionsOf(outputs[0]);
  ASSERT_EQ(detections.size(), 1u);
  const double content_height = 94.0;
  auto source_y = [&](double target_y) { return (target_y * 128 - 17) / content_height; };
  EXPECT_NEAR(detections[0].xmin, 0.25f, 1e-4);  // no bars left and right: x unchanged
  EXPECT_NEAR(detections[0].width, 0.25f, 1e-4);
  EXPECT_NEAR(detections[0].ymin, source_y(0.5), 1e-4);
  EXPECT_NEAR(detections[0].height, source_y(0.75) - source_y(0.5), 1e-4);
  EXPECT_NEAR(detections[0].keypoints[0].y, source_y(0.5), 1e-4);
}

TEST(FaceDetectionGraphTest, OverlayDrawsOnACopyInTheFramesColourOrder) {
  const std::string config_text = R"(
    input_stream: "frame"
    input_stream: "detections"
    output_stream: "annotated"
    node {
      calculator: "AnnotationOverlayCalculator"
      input_stream: "IMAGE:frame"
      input_stream: "DETECTIONS:detections"
      output_stream: "IMAGE:annotated"
      options { [edgepipe.AnnotationOverlayCalculatorOptions.ext] { draw_scores: false thickness: 1 } }
    })";
  auto config = ParseGraphConfig(config_text, "test graph");
  ASSERT_TRUE(config.ok()) << config.status();
  Graph graph;
  ASSERT_TRUE(graph.Initialize(*config).ok());
  std::vector<Packet> outputs;
  ASSERT_TRUE(graph.ObserveOutputStream("annotated", [&](const Packet& p) {
    outputs.push_back(p);
    return OkStatus();
  }).ok());
  ImageFrame frame = *ImageFrame::FromMat(ImageFormat::kBGR, cv::Mat(100, 100, CV_8UC3, cv::Scalar::all(0)));
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("frame", MakePacket<ImageFrame>(frame).At(Timestamp(0))).ok());
  ASSERT_TRUE(graph.AddPacketToInputStream(
      "detections", MakePacket<std::vector<Detection>>(std::vector<Detection>{Box(0.2f, 0.2f, 0.5f, 0.5f, 0.9f)}).At(Timestamp(0))).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  Status done = graph.WaitUntilDone();
  ASSERT_TRUE(done.ok()) << done;
  ASSERT_EQ(outputs.size(), 1u);
  auto annotated_or = outputs[0].Get<ImageFrame>();
  ASSERT_TRUE(annotated_or.ok()) << annotated_or.status();
  const ImageFrame& annotated = **annotated_or;
  // Default box colour green in BGR order on the box's left edge at x = 20
  // (anti-aliased lines: not necessarily full intensity).
  const cv::Vec3b edge = annotated.mat().at<cv::Vec3b>(40, 20);
  EXPECT_EQ(edge[0], 0);
  EXPECT_GT(edge[1], 128);
  EXPECT_EQ(edge[2], 0);
  EXPECT_EQ(annotated.mat().at<cv::Vec3b>(40, 40), cv::Vec3b(0, 0, 0));  // inside: untouched
  EXPECT_EQ(frame.mat().at<cv::Vec3b>(40, 20), cv::Vec3b(0, 0, 0));     // input frame unchanged
}

// The real graph's nodes after the source: letterbox → tensor → BlazeFace →
// decode → weighted NMS → letterbox removal.
std::string FaceDetectionNodes(const std::string& model) {
  return R"(
    node {
      calculator: "LetterboxCalculator"
      input_stream: "IMAGE:frames"
      output_stream: "IMAGE:model_input"
      output_stream: "TRANSFORM:letterbox"
      options { [edgepipe.LetterboxCalculatorOptions.ext] { width: 128 height: 128 } }
    }
    node {
      calculator: "ImageToTensorCalculator"
      input_stream: "IMAGE:model_input"
      output_stream: "TENSOR:input_tensor"
      options { [edgepipe.ImageToTensorCalculatorOptions.ext] { range_min: -1 range_max: 1 } }
    }
    node {
      calculator: "InferenceCalculator"
      input_stream: "TENSOR:0:input_tensor"
      output_stream: "TENSORS:raw_outputs"
      options { [edgepipe.InferenceCalculatorOptions.ext] { model_path: ")" + model + R"(" num_threads: 2 } }
    }
    node {
      calculator: "TensorsToDetectionsCalculator"
      input_stream: "TENSORS:raw_outputs"
      output_stream: "DETECTIONS:raw_detections"
      options { [edgepipe.TensorsToDetectionsCalculatorOptions.ext] {
        num_classes: 1 num_boxes: 896 num_coords: 16 keypoint_coord_offset: 4 num_keypoints: 6
        x_scale: 128 y_scale: 128 w_scale: 128 h_scale: 128
        sigmoid_score: true score_clipping_thresh: 100 min_score_thresh: 0.5
        anchors { input_size_width: 128 input_size_height: 128 min_scale: 0.1484375 max_scale: 0.75
                  num_layers: 4 strides: [8, 16, 16, 16] aspect_ratios: 1 interpolated_scale_aspect_ratio: 1
                  fixed_anchor_size: true } } }
    }
    node {
      calculator: "NonMaxSuppressionCalculator"
      input_stream: "DETECTIONS:raw_detections"
      output_stream: "DETECTIONS:letterboxed_detections"
      options { [edgepipe.NonMaxSuppressionCalculatorOptions.ext] { algorithm: WEIGHTED min_suppression_threshold: 0.3 } }
    }
    node {
      calculator: "DetectionLetterboxRemovalCalculator"
      input_stream: "DETECTIONS:letterboxed_detections"
      input_stream: "TRANSFORM:letterbox"
      output_stream: "DETECTIONS:detections"
    })";
}

// face.jpg (google-coral test_data) shows two men side by side in the
// foreground and two smaller, blurred people behind them. The short-range model
// (faces within ~2 m) finds the two foreground faces only.
TEST(FaceDetectionModelTest, FindsTheTwoForegroundFacesInFaceJpg) {
  const std::string image = MediaPath("face.jpg");
  const std::string model = ModelPath("face_detection_short_range.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(image);
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  const std::string config = R"(
    node {
      calculator: "ImageFileSourceCalculator"
      output_stream: "IMAGE:frames"
      options { [edgepipe.ImageFileSourceCalculatorOptions.ext] { path: ")" + image + R"(" output_format: "RGB" } }
    })" + FaceDetectionNodes(model);
  auto outputs = RunAndCollect(config, {"detections"});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  const auto& packets = outputs->packets["detections"];
  ASSERT_EQ(packets.size(), 1u);
  std::vector<Detection> faces = DetectionsOf(packets[0]);
  ASSERT_EQ(faces.size(), 2u) << nlohmann::json(faces).dump();
  std::sort(faces.begin(), faces.end(), [](const Detection& a, const Detection& b) { return a.xmin < b.xmin; });
  // Box centres as seen on the image (left man with glasses, right man), within 0.05.
  const float expected_centres[2][2] = {{0.35f, 0.42f}, {0.60f, 0.34f}};
  for (int i = 0; i < 2; ++i) {
    const Detection& face = faces[static_cast<size_t>(i)];
    SCOPED_TRACE(nlohmann::json(face).dump());
    EXPECT_GT(face.score, 0.5f);
    EXPECT_NEAR(face.xmin + face.width / 2, expected_centres[i][0], 0.05f);
    EXPECT_NEAR(face.ymin + face.height / 2, expected_centres[i][1], 0.05f);
    EXPECT_GT(face.width, 0.15f);
    EXPECT_LT(face.width, 0.3f);
    EXPECT_GT(face.height, 0.2f);
    EXPECT_LT(face.height, 0.4f);
    // Eyes, nose and mouth (keypoints 0–3) lie inside the box.
    ASSERT_EQ(face.keypoints.size(), 6u);
    for (int k = 0; k < 4; ++k) {
      EXPECT_GT(face.keypoints[k].x, face.xmin) << "keypoint " << k;
      EXPECT_LT(face.keypoints[k].x, face.xmax()) << "keypoint " << k;
      EXPECT_GT(face.keypoints[k].y, face.ymin) << "keypoint " << k;
      EXPECT_LT(face.keypoints[k].y, face.ymax()) << "keypoint " << k;
    }
    // The person's right eye (keypoint 0) is on the viewer's left; eyes above the mouth (3).
    EXPECT_LT(face.keypoints[0].x, face.keypoints[1].x);
    EXPECT_LT(face.keypoints[0].y, face.keypoints[3].y);
  }
}

TEST(FaceDetectionModelTest, MegamindHasFacesOnMostOfTheFirst30Frames) {
  const std::string video = MediaPath("Megamind.avi");
  const std::string model = ModelPath("face_detection_short_range.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(video);
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  // The shipped graph file itself, with the annotated video written to a temporary file.
  auto config = LoadGraphConfigFile(std::string(EDGEPIPE_SOURCE_DIR) + "/graphs/face_detection_video.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  const std::filesystem::path output =
      std::filesystem::temp_directory_path() / ("edgepipe_faces_" + std::to_string(::getpid()) + ".avi");
  Graph graph;
  ASSERT_TRUE(graph.Initialize(*config).ok());
  std::vector<Packet> packets;
  ASSERT_TRUE(graph.ObserveOutputStream("detections", [&](const Packet& p) {
    packets.push_back(p);
    return OkStatus();
  }).ok());
  SidePackets side_packets;
  side_packets["input_path"] = MakePacket<std::string>(video);
  side_packets["output_path"] = MakePacket<std::string>(output.string());
  side_packets["max_frames"] = MakePacket<std::string>("30");
  side_packets["model_path"] = MakePacket<std::string>(model);
  Status run = graph.Run(side_packets);
  ASSERT_TRUE(run.ok()) << run;
  ASSERT_EQ(packets.size(), 30u);
  int frames_with_faces = 0;
  for (const Packet& packet : packets) {
    const std::vector<Detection> detections = DetectionsOf(packet);
    if (!detections.empty()) ++frames_with_faces;
    for (const Detection& d : detections) EXPECT_GE(d.score, 0.5f);
  }
  EXPECT_GE(frames_with_faces, 20) << "faces on " << frames_with_faces << " of 30 frames";
  EXPECT_TRUE(std::filesystem::exists(output));
  EXPECT_GT(std::filesystem::file_size(output), 0u);
  std::filesystem::remove(output);
}

}  // namespace
}  // namespace edgepipe
