// The landmark path's calculators on hand-computed cases: DetectionToRoi (the
// ROI rule), TensorsToLandmarks (decoding and projecting from a rotated ROI)
// and the overlay's LANDMARKS drawing. The graphs built from them are checked
// against MediaPipe on real photos in tests/python/test_landmark_graphs.py.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "calculators/types/detection.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/landmarks.h"
#include "calculators/types/normalized_rect.h"
#include "calculators/types/tensor.h"
#include "core/graph.h"

namespace edgepipe {
namespace {

// Feeds one packet per input stream at t=0 into a one-node graph, returns the packet on `output`.
Result<Packet> RunNode(const std::string& node, const std::map<std::string, Packet>& inputs, const std::string& output) {
  std::string text;
  for (const auto& [name, packet] : inputs) text += "input_stream: \"" + name + "\"\n";
  text += "output_stream: \"" + output + "\"\n" + node;
  EP_ASSIGN_OR_RETURN(GraphConfig config, ParseGraphConfig(text, "test graph"));
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  auto result = std::make_shared<Packet>();
  EP_RETURN_IF_ERROR(graph.ObserveOutputStream(output, [result](const Packet& packet) {
    *result = packet;
    return OkStatus();
  }));
  EP_RETURN_IF_ERROR(graph.StartRun());
  for (const auto& [name, packet] : inputs) EP_RETURN_IF_ERROR(graph.AddPacketToInputStream(name, packet.At(Timestamp(0))));
  EP_RETURN_IF_ERROR(graph.CloseAllInputStreams());
  EP_RETURN_IF_ERROR(graph.WaitUntilDone());
  if (result->IsEmpty()) return NotFoundError("no packet on {}", output);
  return *result;
}

constexpr char kHandRoi[] = R"(node {
  calculator: "DetectionToRoiCalculator"
  input_stream: "DETECTIONS:palms"
  input_stream: "IMAGE:frame"
  output_stream: "NORM_RECT:roi"
  options { [edgepipe.DetectionToRoiCalculatorOptions.ext] { scale_x: 2 scale_y: 2 shift_y: -0.5 } }
})";

Detection Palm(NormalizedKeypoint wrist, NormalizedKeypoint finger) {
  // 40 × 40 px at (80, 40) on a 200 × 100 frame.
  Detection palm{0.4f, 0.4f, 0.2f, 0.4f, 0.9f, 0, {}, -1, {}};
  palm.keypoints = {wrist, {0, 0}, finger};
  return palm;
}

TEST(DetectionToRoiTest, UprightPalmShiftsTowardsTheFingers) {
  const ImageFrame frame = ImageFrame::Allocate(ImageFormat::kRGB, 200, 100).value();
  auto roi = RunNode(kHandRoi, {{"palms", MakePacket<std::vector<Detection>>(std::vector<Detection>{Palm({0.5f, 0.8f}, {0.5f, 0.4f})})},
                                {"frame", MakePacket<ImageFrame>(frame)}}, "roi");
  ASSERT_TRUE(roi.ok()) << roi.status();
  const NormalizedRect* rect = roi->Get<NormalizedRect>().value();
  EXPECT_NEAR(rect->rotation, 0.0f, 1e-6);
  EXPECT_NEAR(rect->x_center, 0.5f, 1e-6);
  EXPECT_NEAR(rect->y_center, 0.6f - 0.2f, 1e-6);  // half the box height up
  EXPECT_NEAR(rect->width, 0.4f, 1e-6);             // 80 px
  EXPECT_NEAR(rect->height, 0.8f, 1e-6);            // 80 px
}

TEST(DetectionToRoiTest, PalmPointingRightIsTurnedAQuarterAndShiftedRight) {
  const ImageFrame frame = ImageFrame::Allocate(ImageFormat::kRGB, 200, 100).value();
  auto roi = RunNode(kHandRoi, {{"palms", MakePacket<std::vector<Detection>>(std::vector<Detection>{Palm({0.5f, 0.8f}, {0.7f, 0.8f})})},
                                {"frame", MakePacket<ImageFrame>(frame)}}, "roi");
  ASSERT_TRUE(roi.ok()) << roi.status();
  const NormalizedRect* rect = roi->Get<NormalizedRect>().value();
  EXPECT_NEAR(rect->rotation, std::numbers::pi / 2, 1e-6);
  EXPECT_NEAR(rect->x_center, 0.5f + 20.0f / 200, 1e-6);  // "up" in the ROI is +x on screen
  EXPECT_NEAR(rect->y_center, 0.6f, 1e-6);
}

TEST(TensorsToLandmarksTest, PixelLandmarksAreProjectedFromARotatedRoi) {
  Tensor tensor = Tensor::Create(TensorDType::kFloat32, {1, 6}).value();
  float* values = tensor.mutable_data<float>().value();
  const float landmarks[6] = {168, 112, 22.4f, 112, 112, 0};  // (0.75, 0.5) and the centre, in 224-px input
  std::copy(landmarks, landmarks + 6, values);
  const NormalizedRect roi{0.5f, 0.5f, 0.4f, 0.2f, static_cast<float>(std::numbers::pi / 2)};
  auto list = RunNode(R"(node {
    calculator: "TensorsToLandmarksCalculator"
    input_stream: "TENSORS:tensors"
    input_stream: "ROI:roi"
    output_stream: "LANDMARKS:landmarks"
    options { [edgepipe.TensorsToLandmarksCalculatorOptions.ext] {
      num_landmarks: 2 input_width: 224 input_height: 224 connections: [0, 1] } }
  })", {{"tensors", MakePacket<std::vector<Tensor>>(std::vector<Tensor>{tensor})}, {"roi", MakePacket<NormalizedRect>(roi)}}, "landmarks");
  ASSERT_TRUE(list.ok()) << list.status();
  const LandmarkList* result = list->Get<LandmarkList>().value();
  ASSERT_EQ(result->landmarks.size(), 2u);
  // A quarter turn clockwise: right of centre in the crop is below centre on screen.
  EXPECT_NEAR(result->landmarks[0].x, 0.5f, 1e-6);
  EXPECT_NEAR(result->landmarks[0].y, 0.5f + 0.25f * 0.2f, 1e-6);
  EXPECT_NEAR(result->landmarks[0].z, 0.1f * 0.4f, 1e-6);
  EXPECT_NEAR(result->landmarks[1].x, 0.5f, 1e-6);
  ASSERT_EQ(result->connections.size(), 1u);
}

TEST(AnnotationOverlayTest, DrawsLandmarksAndTheirConnections) {
  const ImageFrame frame = ImageFrame::FromMat(ImageFormat::kRGB, cv::Mat::zeros(100, 100, CV_8UC3)).value();
  LandmarkList list;
  list.landmarks = {{0.2f, 0.5f, 0, 1}, {0.8f, 0.5f, 0, 1}, {0.5f, 0.9f, 0, 0.1f}};
  list.connections = {{0, 1}, {1, 2}};
  auto annotated = RunNode(R"(node {
    calculator: "AnnotationOverlayCalculator"
    input_stream: "IMAGE:frame"
    input_stream: "LANDMARKS:landmarks"
    output_stream: "IMAGE:annotated"
  })", {{"frame", MakePacket<ImageFrame>(frame)}, {"landmarks", MakePacket<LandmarkList>(list)}}, "annotated");
  ASSERT_TRUE(annotated.ok()) << annotated.status();
  const cv::Mat& pixels = annotated->Get<ImageFrame>().value()->mat();
  EXPECT_EQ(pixels.at<cv::Vec3b>(50, 50), cv::Vec3b(255, 255, 255));  // the line 0–1, white
  EXPECT_EQ(pixels.at<cv::Vec3b>(50, 20), cv::Vec3b(255, 0, 0));      // landmark 0, red (RGB)
  EXPECT_EQ(pixels.at<cv::Vec3b>(90, 50), cv::Vec3b(0, 0, 0));        // landmark 2 scored below 0.3: not drawn
  EXPECT_EQ(pixels.at<cv::Vec3b>(70, 65), cv::Vec3b(0, 0, 0));        // nor its connection
}

}  // namespace
}  // namespace edgepipe
