// Classification and segmentation decoders and their drawing, on hand-made
// tensors with hand-computed results: top-K order and ties, dequantization,
// filters, label maps; label and probability masks projected back through a
// letterbox and a resize; JSON summaries; overlay colours per label.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "calculators/types/classification.h"
#include "calculators/types/detection.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/json_serialization.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/types/segmentation_mask.h"
#include "calculators/types/tensor.h"
#include "calculators/vision/vision_result_drawing.h"
#include "core/graph.h"

namespace edgepipe {
namespace {

using ::testing::HasSubstr;

// Runs a one-node graph: `inputs` fed at timestamp 0 to graph input streams of the same names.
Result<Packet> RunNode(const std::string& node, const std::vector<std::pair<std::string, Packet>>& inputs,
                       const std::string& output) {
  std::string config = "output_stream: \"" + output + "\"\n";
  for (const auto& [name, packet] : inputs) config += "input_stream: \"" + name + "\"\n";
  EP_ASSIGN_OR_RETURN(GraphConfig parsed, ParseGraphConfig(config + node, "test graph"));
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(parsed));
  std::vector<Packet> outputs;
  EP_RETURN_IF_ERROR(graph.ObserveOutputStream(output, [&](const Packet& packet) {
    outputs.push_back(packet);
    return OkStatus();
  }));
  EP_RETURN_IF_ERROR(graph.StartRun());
  for (const auto& [name, packet] : inputs) EP_RETURN_IF_ERROR(graph.AddPacketToInputStream(name, packet.At(Timestamp(0))));
  EP_RETURN_IF_ERROR(graph.CloseAllInputStreams());
  EP_RETURN_IF_ERROR(graph.WaitUntilDone());
  if (outputs.size() != 1) return InternalError("expected one output packet, got {}", outputs.size());
  return outputs[0];
}

// A file in the test's temporary directory (gtest's TempDir, per test run).
std::string TempFile(const std::string& name, const std::string& contents) {
  const auto path = std::filesystem::path(::testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
  std::ofstream(path) << contents;
  return path.string();
}

// uint8 scores [1, 5] with scale 0.5 and zero point 10.
Packet QuantizedScores(std::vector<uint8_t> values) {
  TensorQuantization quantization;
  quantization.scale = {0.5f};
  quantization.zero_point = {10};
  Tensor tensor = *Tensor::Create(TensorDType::kUInt8, {1, static_cast<int32_t>(values.size())}, quantization);
  std::copy(values.begin(), values.end(), *tensor.mutable_data<uint8_t>());
  return MakePacket<std::vector<Tensor>>(std::vector<Tensor>{tensor});
}

std::string ClassifierNode(const std::string& options) {
  return R"(node { calculator: "TensorsToClassificationsCalculator" input_stream: "TENSORS:scores"
                   output_stream: "CLASSIFICATIONS:classes"
                   options { [edgepipe.TensorsToClassificationsCalculatorOptions.ext] { )" + options + " } } }";
}

std::vector<Classification> Classes(const Result<Packet>& packet) {
  if (!packet.ok()) {
    ADD_FAILURE() << packet.status();
    return {};
  }
  return **packet->Get<std::vector<Classification>>();
}

TEST(TensorsToClassificationsTest, TopKDequantizedBestFirstTiesByIndex) {
  const std::string labels = TempFile("labels.txt", "background\ncat\ndog\r\nbird\nfish\n");
  auto packet = RunNode(ClassifierNode("top_k: 3 label_map_path: \"" + labels + "\""),
                        {{"scores", QuantizedScores({10, 30, 50, 30, 12})}}, "classes");
  const auto classes = Classes(packet);
  ASSERT_EQ(classes.size(), 3u);
  EXPECT_EQ(classes[0].index, 2);
  EXPECT_FLOAT_EQ(classes[0].score, 20.0f);  // 0.5 × (50 − 10)
  EXPECT_EQ(classes[0].label, "dog");        // "\r\n" line end removed
  EXPECT_EQ(classes[1].index, 1);            // tie at 10.0: lower index first
  EXPECT_EQ(classes[2].index, 3);
  EXPECT_EQ(classes[2].label, "bird");

  // JSON lines form.
  auto json = JsonSerializerRegistry::Global().Serialize(*packet);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ((*json)[0]["label"], "dog");
  EXPECT_EQ((*json)[0]["index"], 2);
}

TEST(TensorsToClassificationsTest, ThresholdAllowAndDenyLists) {
  const std::string labels = TempFile("labels2.txt", "background\ncat\ndog\nbird\nfish\n");
  const Packet scores = QuantizedScores({200, 30, 50, 31, 12});
  auto denied = Classes(RunNode(ClassifierNode("top_k: 0 min_score_thresh: 5 deny_labels: \"background\" label_map_path: \"" +
                                                labels + "\""),
                                 {{"scores", scores}}, "classes"));
  ASSERT_EQ(denied.size(), 3u);  // dog 20, bird 10.5, cat 10; fish 1 is below 5
  EXPECT_EQ(denied[0].label, "dog");
  EXPECT_EQ(denied[1].label, "bird");
  EXPECT_EQ(denied[2].label, "cat");
  auto allowed = Classes(RunNode(
      ClassifierNode("allow_labels: \"fish\" allow_labels: \"cat\" label_map_path: \"" + labels + "\""),
      {{"scores", scores}}, "classes"));
  ASSERT_EQ(allowed.size(), 2u);
  EXPECT_EQ(allowed[0].label, "cat");
  EXPECT_EQ(allowed[1].label, "fish");
}

TEST(TensorsToClassificationsTest, SoftmaxOfFloatLogits) {
  Tensor logits = *Tensor::Create(TensorDType::kFloat32, {3});
  float* values = *logits.mutable_data<float>();
  values[0] = 0.0f, values[1] = std::log(3.0f), values[2] = 0.0f;
  auto classes = Classes(RunNode(
      R"(node { calculator: "TensorsToClassificationsCalculator" input_stream: "TENSOR:scores"
               output_stream: "CLASSIFICATIONS:classes"
               options { [edgepipe.TensorsToClassificationsCalculatorOptions.ext] { apply_softmax: true } } })",
      {{"scores", MakePacket<Tensor>(logits)}}, "classes"));
  ASSERT_EQ(classes.size(), 3u);
  EXPECT_EQ(classes[0].index, 1);
  EXPECT_NEAR(classes[0].score, 0.6f, 1e-6);  // 3 / (1 + 3 + 1)
  EXPECT_NEAR(classes[1].score, 0.2f, 1e-6);
  EXPECT_EQ(classes[0].label, "");  // no label map
}

TEST(TensorsToClassificationsTest, WrongLabelMapAndUnknownLabelsAreErrors) {
  const std::string labels = TempFile("labels3.txt", "a\nb\nc\n");
  auto wrong_length = RunNode(ClassifierNode("label_map_path: \"" + labels + "\""),
                              {{"scores", QuantizedScores({1, 2, 3, 4, 5})}}, "classes");
  ASSERT_FALSE(wrong_length.ok());
  EXPECT_THAT(wrong_length.status().ToString(), HasSubstr("the label map has 3 labels, the model 5 classes"));
  auto unknown = RunNode(ClassifierNode("deny_labels: \"zebra\" label_map_path: \"" + labels + "\""),
                         {{"scores", QuantizedScores({1, 2, 3})}}, "classes");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().ToString(), HasSubstr("\"zebra\""));
  auto no_map = RunNode(ClassifierNode("allow_labels: \"a\""), {{"scores", QuantizedScores({1, 2, 3})}}, "classes");
  ASSERT_FALSE(no_map.ok());
  EXPECT_THAT(no_map.status().ToString(), HasSubstr("need a label map"));
}

const char* kSegmentationNode = R"(node { calculator: "TensorsToSegmentationCalculator" input_stream: "TENSORS:outputs"
  input_stream: "TRANSFORM:letterbox" output_stream: "MASK:mask" })";

SegmentationMask MaskOf(const Result<Packet>& packet) {
  if (!packet.ok()) {
    ADD_FAILURE() << packet.status();
    return {};
  }
  return **packet->Get<SegmentationMask>();
}

TEST(TensorsToSegmentationTest, LabelsAreMappedBackThroughTheLetterbox) {
  // A 4×2 frame letterboxed into 4×4: scale 1, one padding row above and below.
  // The model's labels: row 0 and 3 padding (label 9), rows 1–2 the content.
  Tensor labels = *Tensor::Create(TensorDType::kInt64, {1, 4, 4});
  int64_t* values = *labels.mutable_data<int64_t>();
  const int64_t grid[16] = {9, 9, 9, 9, 1, 1, 2, 2, 3, 3, 4, 4, 9, 9, 9, 9};
  std::copy(grid, grid + 16, values);
  const LetterboxTransform transform = ComputeLetterbox(4, 2, 4, 4);
  auto mask = MaskOf(RunNode(kSegmentationNode,
                             {{"outputs", MakePacket<std::vector<Tensor>>(std::vector<Tensor>{labels})},
                              {"letterbox", MakePacket<LetterboxTransform>(transform)}},
                             "mask"));
  ASSERT_EQ(mask.kind, SegmentationMask::Kind::kLabels);
  ASSERT_EQ(mask.mask.size(), cv::Size(4, 2));
  const cv::Mat expected = (cv::Mat_<uint8_t>(2, 4) << 1, 1, 2, 2, 3, 3, 4, 4);
  EXPECT_EQ(cv::countNonZero(mask.mask != expected), 0) << mask.mask;
}

TEST(TensorsToSegmentationTest, ScoresArgmaxAndHalfResolutionMask) {
  // [1, 2, 2, 3] float scores of a model whose output is half its 4×4 input; frame 4×4, no padding.
  Tensor scores = *Tensor::Create(TensorDType::kFloat32, {1, 2, 2, 3});
  float* values = *scores.mutable_data<float>();
  const float data[12] = {0, 5, 1, /**/ 2, 2, 1, /**/ 0, 0, 7, /**/ -1, -3, -2};
  std::copy(data, data + 12, values);
  auto mask = MaskOf(RunNode(kSegmentationNode,
                             {{"outputs", MakePacket<std::vector<Tensor>>(std::vector<Tensor>{scores})},
                              {"letterbox", MakePacket<LetterboxTransform>(ComputeLetterbox(4, 4, 4, 4))}},
                             "mask"));
  ASSERT_EQ(mask.mask.size(), cv::Size(4, 4));
  // Labels 1, 0 (tie: first maximum), 2, 0; each covers a 2×2 block of the frame.
  const cv::Mat expected = (cv::Mat_<uint8_t>(4, 4) << 1, 1, 0, 0, 1, 1, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0);
  EXPECT_EQ(cv::countNonZero(mask.mask != expected), 0) << mask.mask;
}

TEST(TensorsToSegmentationTest, ProbabilityStretchedToTheFrameAndSummarised) {
  Tensor logits = *Tensor::Create(TensorDType::kFloat32, {1, 2, 2, 1});
  float* values = *logits.mutable_data<float>();
  values[0] = 10, values[1] = -10, values[2] = 10, values[3] = -10;  // left column foreground
  ImageFrame frame = *ImageFrame::FromMat(ImageFormat::kRGB, cv::Mat(6, 8, CV_8UC3, cv::Scalar::all(0)));
  auto mask = MaskOf(RunNode(R"(node { calculator: "TensorsToSegmentationCalculator" input_stream: "TENSORS:outputs"
      input_stream: "IMAGE:frame" output_stream: "MASK:mask"
      options { [edgepipe.TensorsToSegmentationCalculatorOptions.ext] { activation: SIGMOID } } })",
                             {{"outputs", MakePacket<std::vector<Tensor>>(std::vector<Tensor>{logits})},
                              {"frame", MakePacket<ImageFrame>(frame)}},
                             "mask"));
  ASSERT_EQ(mask.kind, SegmentationMask::Kind::kProbability);
  ASSERT_EQ(mask.mask.size(), cv::Size(8, 6));
  EXPECT_GT(mask.mask.at<float>(3, 0), 0.99f);
  EXPECT_LT(mask.mask.at<float>(3, 7), 0.01f);
  const nlohmann::json json = SegmentationMaskToJson(mask);
  EXPECT_EQ(json["kind"], "probability");
  EXPECT_DOUBLE_EQ(json["foreground_fraction"].get<double>(), 0.5);  // bilinear: the left 4 of 8 columns
  EXPECT_EQ(json["box"], nlohmann::json::array({0.0, 0.0, 0.5, 1.0}));
}

TEST(TensorsToSegmentationTest, LabelJsonHasFractionsAndBoxesPerLabel) {
  SegmentationMask mask;
  mask.mask = (cv::Mat_<uint8_t>(2, 4) << 0, 0, 0, 0, 0, 0, 7, 7);
  mask.labels = {"background", "a", "b", "c", "d", "e", "f", "g"};
  const nlohmann::json json = SegmentationMaskToJson(mask);
  ASSERT_EQ(json["classes"].size(), 2u);
  EXPECT_EQ(json["classes"][1]["label"], "g");
  EXPECT_DOUBLE_EQ(json["classes"][1]["fraction"].get<double>(), 0.25);
  EXPECT_EQ(json["classes"][1]["box"], nlohmann::json::array({0.5, 0.5, 0.5, 0.5}));
}

TEST(VisionDrawingTest, LabelColoursAreStableAndMasksBlendInTheFramesOrder) {
  EXPECT_EQ(LabelColor(0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(LabelColor(1), cv::Vec3b(128, 0, 0));   // PASCAL VOC: aeroplane
  EXPECT_EQ(LabelColor(12), cv::Vec3b(64, 0, 128));  // dog
  EXPECT_EQ(LabelColor(15), cv::Vec3b(192, 128, 128));  // person

  // A BGR frame, label 1 (red) on the right half, alpha 0.5 → B, G, R = 0, 0, 64 there.
  cv::Mat canvas(40, 200, CV_8UC3, cv::Scalar::all(0));
  SegmentationMask mask;
  mask.mask = cv::Mat(40, 200, CV_8UC1, cv::Scalar(0));
  mask.mask(cv::Rect(100, 0, 100, 40)).setTo(1);
  ASSERT_TRUE(DrawSegmentationMask(canvas, ImageFormat::kBGR, mask, 0.5, {0, 0, 0}, 0.4).ok());
  EXPECT_EQ(canvas.at<cv::Vec3b>(39, 0), cv::Vec3b(0, 0, 0));     // background untouched
  EXPECT_EQ(canvas.at<cv::Vec3b>(39, 150), cv::Vec3b(0, 0, 64));  // blended red, BGR order

  SegmentationMask wrong_size;
  wrong_size.mask = cv::Mat(4, 4, CV_8UC1, cv::Scalar(0));
  EXPECT_FALSE(DrawSegmentationMask(canvas, ImageFormat::kBGR, wrong_size, 0.5, {0, 0, 0}, 0.4).ok());
}

TEST(VisionDrawingTest, OverlayDrawsClassificationsAndProbabilityMasks) {
  const std::string node = R"(node { calculator: "AnnotationOverlayCalculator" input_stream: "IMAGE:frame"
      input_stream: "CLASSIFICATIONS:classes" input_stream: "MASK:mask" output_stream: "IMAGE:annotated"
      options { [edgepipe.AnnotationOverlayCalculatorOptions.ext] { mask_alpha: 1 mask_color { b: 255 } } } })";
  ImageFrame frame = *ImageFrame::FromMat(ImageFormat::kRGB, cv::Mat(100, 200, CV_8UC3, cv::Scalar::all(0)));
  SegmentationMask mask;
  mask.kind = SegmentationMask::Kind::kProbability;
  mask.mask = cv::Mat(100, 200, CV_32FC1, cv::Scalar(0.0f));
  mask.mask.row(99).setTo(1.0f);
  std::vector<Classification> classes = {{3, 0.75f, "cat"}};
  auto packet = RunNode(node,
                        {{"frame", MakePacket<ImageFrame>(frame)},
                         {"classes", MakePacket<std::vector<Classification>>(classes)},
                         {"mask", MakePacket<SegmentationMask>(mask)}},
                        "annotated");
  ASSERT_TRUE(packet.ok()) << packet.status();
  const cv::Mat& annotated = (*packet->Get<ImageFrame>())->mat();
  EXPECT_EQ(annotated.at<cv::Vec3b>(99, 150), cv::Vec3b(0, 0, 255));  // full probability, alpha 1: the mask colour
  EXPECT_EQ(annotated.at<cv::Vec3b>(60, 150), cv::Vec3b(0, 0, 0));    // probability 0: untouched
  // The class line at the top left: white text pixels on its dark band.
  const cv::Mat band = annotated(cv::Rect(0, 0, 120, 20));
  cv::Mat white;
  cv::inRange(band, cv::Scalar(200, 200, 200), cv::Scalar(255, 255, 255), white);
  EXPECT_GT(cv::countNonZero(white), 10);
  EXPECT_EQ(frame.mat().at<cv::Vec3b>(99, 150), cv::Vec3b(0, 0, 0));  // the input frame is not written to
}

TEST(VisionDrawingTest, OverlayEnableSidePacketUnsetPassesFramesThrough) {
  // The ready graphs' wiring: ENABLE from output_path; unset ("") = no video, so nothing is drawn.
  const std::string config = R"(input_stream: "frame" input_stream: "boxes" output_stream: "annotated"
      node { calculator: "AnnotationOverlayCalculator" input_side_packet: "ENABLE:output_path"
        input_stream: "IMAGE:frame" input_stream: "DETECTIONS:boxes" output_stream: "IMAGE:annotated" })";
  const ImageFrame frame = *ImageFrame::FromMat(ImageFormat::kBGR, cv::Mat(100, 200, CV_8UC3, cv::Scalar::all(0)));
  Detection box;
  box.xmin = 0.25f, box.ymin = 0.25f, box.width = 0.5f, box.height = 0.5f, box.score = 0.9f;
  auto run = [&](const std::string& output_path) -> Result<cv::Mat> {
    EP_ASSIGN_OR_RETURN(GraphConfig parsed, ParseGraphConfig(config, "test graph"));
    Graph graph;
    EP_RETURN_IF_ERROR(graph.Initialize(parsed));
    cv::Mat annotated;
    EP_RETURN_IF_ERROR(graph.ObserveOutputStream("annotated", [&](const Packet& packet) {
      annotated = (*packet.Get<ImageFrame>())->mat();
      return OkStatus();
    }));
    EP_RETURN_IF_ERROR(graph.StartRun({{"output_path", MakePacket<std::string>(output_path)}}));
    EP_RETURN_IF_ERROR(graph.AddPacketToInputStream("frame", MakePacket<ImageFrame>(frame).At(Timestamp(0))));
    EP_RETURN_IF_ERROR(graph.AddPacketToInputStream("boxes", MakePacket<std::vector<Detection>>(std::vector{box}).At(Timestamp(0))));
    EP_RETURN_IF_ERROR(graph.CloseAllInputStreams());
    EP_RETURN_IF_ERROR(graph.WaitUntilDone());
    return annotated;
  };
  auto off = run("");
  auto on = run("out.avi");
  ASSERT_TRUE(off.ok()) << off.status();
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(off->data, frame.mat().data) << "off: the frame itself, shared, not a copy";
  EXPECT_GT(cv::countNonZero(on->reshape(1)), 100) << "set: the box is drawn";
}

}  // namespace
}  // namespace edgepipe
