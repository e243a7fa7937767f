// Image and tensor calculators: letterbox round trip, resize, crop, rotate,
// colour conversion, image → tensor normalisation and quantization.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "calculators/types/image_frame.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/types/tensor.h"
#include "core/graph.h"

namespace edgepipe {
namespace {

// Runs a one-node graph "in" → node → outputs, feeding one image at t=0.
Result<std::map<std::string, Packet>> RunOnImage(const std::string& node, const ImageFrame& image,
                                                 const std::vector<std::string>& outputs) {
  std::string text = "input_stream: \"in\"\n";
  for (const std::string& output : outputs) text += "output_stream: \"" + output + "\"\n";
  text += node;
  EP_ASSIGN_OR_RETURN(GraphConfig config, ParseGraphConfig(text, "test graph"));
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  auto results = std::make_shared<std::map<std::string, Packet>>();
  auto mutex = std::make_shared<std::mutex>();
  for (const std::string& output : outputs) {
    EP_RETURN_IF_ERROR(graph.ObserveOutputStream(output, [results, mutex, output](const Packet& packet) {
      std::lock_guard lock(*mutex);
      (*results)[output] = packet;
      return OkStatus();
    }));
  }
  EP_RETURN_IF_ERROR(graph.StartRun());
  EP_RETURN_IF_ERROR(graph.AddPacketToInputStream("in", MakePacket<ImageFrame>(image).At(Timestamp(0))));
  EP_RETURN_IF_ERROR(graph.CloseAllInputStreams());
  EP_RETURN_IF_ERROR(graph.WaitUntilDone());
  return *results;
}

// Intensity-weighted centre of a gray image, in continuous pixel coordinates.
cv::Point2d Centroid(const cv::Mat& gray) {
  const cv::Moments moments = cv::moments(gray);
  return {moments.m10 / moments.m00 + 0.5, moments.m01 / moments.m00 + 0.5};
}

TEST(LetterboxCalculatorTest, PointRoundTripsWithinHalfAPixel) {
  // A bright 9×9 square centred on pixel (400, 100) of a 640×360 image.
  cv::Mat source(360, 640, CV_8UC1, cv::Scalar(0));
  cv::rectangle(source, cv::Rect(396, 96, 9, 9), cv::Scalar(255), cv::FILLED);
  const cv::Point2d source_point = Centroid(source);
  ASSERT_NEAR(source_point.x, 400.5, 1e-9);

  auto results = RunOnImage(R"(node {
      calculator: "LetterboxCalculator"
      input_stream: "IMAGE:in"
      output_stream: "IMAGE:boxed"
      output_stream: "TRANSFORM:transform"
      options { [edgepipe.LetterboxCalculatorOptions.ext] { width: 256 height: 256 } }
    })", ImageFrame::FromMat(ImageFormat::kGray8, source).value(), {"boxed", "transform"});
  ASSERT_TRUE(results.ok()) << results.status();
  const ImageFrame* boxed = (*results)["boxed"].Get<ImageFrame>().value();
  const LetterboxTransform* transform = (*results)["transform"].Get<LetterboxTransform>().value();
  EXPECT_EQ(boxed->width(), 256);
  EXPECT_EQ(boxed->height(), 256);
  EXPECT_EQ(transform->pad_top, 56);  // 144 rows of content, centred
  // The square's centre found in the letterboxed image, mapped back.
  const cv::Point2d back = transform->TargetToSource(Centroid(boxed->mat()));
  EXPECT_NEAR(back.x, source_point.x, 0.5);
  EXPECT_NEAR(back.y, source_point.y, 0.5);
  // And the forward mapping lands on it.
  const cv::Point2d forward = transform->SourceToTarget(source_point);
  const cv::Point2d found = Centroid(boxed->mat());
  EXPECT_NEAR(forward.x, found.x, 0.5 * transform->scale_x);
  EXPECT_NEAR(forward.y, found.y, 0.5 * transform->scale_y);
}

TEST(ImageResizeCalculatorTest, KeepsAspectWhenOneSideIsZero) {
  cv::Mat source(576, 768, CV_8UC3, cv::Scalar(10, 20, 30));
  auto results = RunOnImage(R"(node {
      calculator: "ImageResizeCalculator"
      input_stream: "IMAGE:in"
      output_stream: "IMAGE:out"
      options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 384 } }
    })", ImageFrame::FromMat(ImageFormat::kBGR, source).value(), {"out"});
  ASSERT_TRUE(results.ok()) << results.status();
  const ImageFrame* out = (*results)["out"].Get<ImageFrame>().value();
  EXPECT_EQ(out->width(), 384);
  EXPECT_EQ(out->height(), 288);
  EXPECT_EQ(out->mat().at<cv::Vec3b>(100, 100), cv::Vec3b(10, 20, 30));
}

// An impossible size (OpenCV threw cv::Exception or allocated tens of GB) is
// refused before OpenCV sees it, naming the node: an option at Open, a side
// that follows the aspect ratio at the frame that makes it too large.
TEST(ImageResizeCalculatorTest, ImpossibleSizeIsAnErrorNamingTheNode) {
  cv::Mat source(4, 4, CV_8UC3, cv::Scalar(10, 20, 30));
  auto results = RunOnImage(R"(node {
      name: "huge"
      calculator: "ImageResizeCalculator"
      input_stream: "IMAGE:in"
      output_stream: "IMAGE:out"
      options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 100000 height: 100000 } }
    })", ImageFrame::FromMat(ImageFormat::kBGR, source).value(), {"out"});
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.status().message().find("node \"huge\" (ImageResizeCalculator"), std::string::npos)
      << results.status();
  EXPECT_NE(results.status().message().find("100000x100000 is outside 1..16384"), std::string::npos) << results.status();

  cv::Mat tall(4, 1, CV_8UC3, cv::Scalar(10, 20, 30));  // width 16000 keeps the ratio: 64000 high
  auto ratio = RunOnImage(R"(node {
      name: "tall"
      calculator: "ImageResizeCalculator"
      input_stream: "IMAGE:in"
      output_stream: "IMAGE:out"
      options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 16000 } }
    })", ImageFrame::FromMat(ImageFormat::kBGR, tall).value(), {"out"});
  ASSERT_FALSE(ratio.ok());
  EXPECT_NE(ratio.status().message().find("node \"tall\""), std::string::npos) << ratio.status();
  EXPECT_NE(ratio.status().message().find("16000x16385"), std::string::npos) << ratio.status();
}

TEST(ImageCropCalculatorTest, CropSharesPixels) {
  cv::Mat source(100, 200, CV_8UC3, cv::Scalar(0, 0, 0));
  source.at<cv::Vec3b>(50, 100) = cv::Vec3b(1, 2, 3);
  const ImageFrame input = ImageFrame::FromMat(ImageFormat::kBGR, source).value();
  auto results = RunOnImage(R"(node {
      calculator: "ImageCropCalculator"
      input_stream: "IMAGE:in"
      output_stream: "IMAGE:out"
      options { [edgepipe.ImageCropCalculatorOptions.ext] { x: 0.25 y: 0.25 width: 0.5 height: 0.5 normalized: true } }
    })", input, {"out"});
  ASSERT_TRUE(results.ok()) << results.status();
  const ImageFrame* out = (*results)["out"].Get<ImageFrame>().value();
  EXPECT_EQ(out->width(), 100);
  EXPECT_EQ(out->height(), 50);
  EXPECT_EQ(out->mat().at<cv::Vec3b>(25, 50), cv::Vec3b(1, 2, 3));
  EXPECT_EQ(out->data(), source.data + 25 * source.step[0] + 50 * 3);  // a view, not a copy
}

TEST(ImageRotateCalculatorTest, Rotates90Clockwise) {
  cv::Mat source(2, 3, CV_8UC1, cv::Scalar(0));
  source.at<uint8_t>(0, 0) = 9;  // top-left → top-right after 90° clockwise
  auto results = RunOnImage(R"(node {
      calculator: "ImageRotateCalculator"
      input_stream: "IMAGE:in"
      output_stream: "IMAGE:out"
      options { [edgepipe.ImageRotateCalculatorOptions.ext] { rotation_degrees: 90 } }
    })", ImageFrame::FromMat(ImageFormat::kGray8, source).value(), {"out"});
  ASSERT_TRUE(results.ok()) << results.status();
  const ImageFrame* out = (*results)["out"].Get<ImageFrame>().value();
  EXPECT_EQ(out->width(), 2);
  EXPECT_EQ(out->height(), 3);
  EXPECT_EQ(out->mat().at<uint8_t>(0, 1), 9);
}

TEST(ColorConvertCalculatorTest, BgrToRgb) {
  cv::Mat source(1, 1, CV_8UC3, cv::Scalar(1, 2, 3));
  auto results = RunOnImage(R"(node {
      calculator: "ColorConvertCalculator"
      input_stream: "IMAGE:in"
      output_stream: "IMAGE:out"
      options { [edgepipe.ColorConvertCalculatorOptions.ext] { target_format: "RGB" } }
    })", ImageFrame::FromMat(ImageFormat::kBGR, source).value(), {"out"});
  ASSERT_TRUE(results.ok()) << results.status();
  const ImageFrame* out = (*results)["out"].Get<ImageFrame>().value();
  EXPECT_EQ(out->format(), ImageFormat::kRGB);
  EXPECT_EQ(out->mat().at<cv::Vec3b>(0, 0), cv::Vec3b(3, 2, 1));
}

ImageFrame BlackAndWhite() {
  cv::Mat source(1, 2, CV_8UC3, cv::Scalar(0, 0, 0));
  source.at<cv::Vec3b>(0, 1) = cv::Vec3b(255, 255, 255);
  return ImageFrame::FromMat(ImageFormat::kRGB, source).value();
}

Result<Tensor> ToTensor(const std::string& options) {
  EP_ASSIGN_OR_RETURN(auto results, RunOnImage(R"(node {
      calculator: "ImageToTensorCalculator"
      input_stream: "IMAGE:in"
      output_stream: "TENSOR:out"
      options { [edgepipe.ImageToTensorCalculatorOptions.ext] { )" + options + R"( } }
    })", BlackAndWhite(), {"out"}));
  EP_ASSIGN_OR_RETURN(const Tensor* tensor, results["out"].Get<Tensor>());
  return *tensor;
}

TEST(ImageToTensorCalculatorTest, FloatMinusOneToOne) {
  auto tensor = ToTensor("range_min: -1 range_max: 1");
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(tensor->shape(), (std::vector<int32_t>{1, 1, 2, 3}));
  const float* values = tensor->data<float>().value();
  EXPECT_FLOAT_EQ(values[0], -1.0f);
  EXPECT_FLOAT_EQ(values[3], 1.0f);
}

TEST(ImageToTensorCalculatorTest, Uint8DefaultIsRawPixels) {
  auto tensor = ToTensor("output_type: UINT8");
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(tensor->dtype(), TensorDType::kUInt8);
  EXPECT_EQ(tensor->data<uint8_t>().value()[0], 0);
  EXPECT_EQ(tensor->data<uint8_t>().value()[3], 255);
  EXPECT_NEAR(tensor->quantization().scale[0], 1.0 / 255, 1e-9);
  EXPECT_EQ(tensor->quantization().zero_point[0], 0);
}

TEST(ImageToTensorCalculatorTest, Int8WithModelQuantization) {
  // A model input quantized with scale 1/128, zero point 0 over [-1, 1].
  auto tensor = ToTensor("output_type: INT8 range_min: -1 range_max: 1 quantization_scale: 0.0078125 quantization_zero_point: 0");
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  const int8_t* values = tensor->data<int8_t>().value();
  EXPECT_EQ(values[0], -128);  // -1 / (1/128)
  EXPECT_EQ(values[3], 127);   // +1 → 128, saturated
  EXPECT_EQ(tensor->quantization().zero_point[0], 0);
}

}  // namespace
}  // namespace edgepipe
