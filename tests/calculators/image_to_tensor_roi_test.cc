// ImageToTensorCalculator's MediaPipe-style path on a real photo: letterboxing
// the whole frame by one affine warp (zero border, TRANSFORM for projecting
// back), a rotated region of interest, and replicate borders.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "calculators/types/image_frame.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/types/normalized_rect.h"
#include "calculators/types/tensor.h"
#include "core/graph.h"
#include "tests/testing/shared_data.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;

ImageFrame GraceHopper() {
  cv::Mat bgr = cv::imread(MediaPath("grace_hopper.bmp"));
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return ImageFrame::FromMat(ImageFormat::kRGB, rgb).value();
}

// Runs ImageToTensorCalculator (UINT8 output: raw pixels) on one image, with an
// optional ROI; returns the tensor as an image and the other outputs.
struct Converted {
  cv::Mat pixels;
  std::map<std::string, Packet> outputs;
};
Result<Converted> Convert(const ImageFrame& image, const std::string& options, const NormalizedRect* roi) {
  std::string text = R"(
    input_stream: "image"
    input_stream: "roi"
    output_stream: "tensor"
    output_stream: "sampled"
    node {
      calculator: "ImageToTensorCalculator"
      input_stream: "IMAGE:image")";
  text += roi ? "\n      input_stream: \"NORM_RECT:roi\"" : "";
  text += R"(
      output_stream: "TENSOR:tensor"
      output_stream: "ROI:sampled")";
  if (!roi) text = "output_stream: \"transform\"\n" + text + "\n      output_stream: \"TRANSFORM:transform\"";
  text += "\n      options { [edgepipe.ImageToTensorCalculatorOptions.ext] { output_type: UINT8 " + options + " } }\n    }";
  EP_ASSIGN_OR_RETURN(GraphConfig config, ParseGraphConfig(text, "test graph"));
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  auto converted = std::make_shared<Converted>();
  for (const char* name : {"tensor", "transform", "sampled"}) {
    if (roi && std::string(name) == "transform") continue;
    EP_RETURN_IF_ERROR(graph.ObserveOutputStream(name, [converted, name](const Packet& packet) {
      converted->outputs[name] = packet;
      return OkStatus();
    }));
  }
  EP_RETURN_IF_ERROR(graph.StartRun());
  EP_RETURN_IF_ERROR(graph.AddPacketToInputStream("image", MakePacket<ImageFrame>(image).At(Timestamp(0))));
  if (roi) EP_RETURN_IF_ERROR(graph.AddPacketToInputStream("roi", MakePacket<NormalizedRect>(*roi).At(Timestamp(0))));
  EP_RETURN_IF_ERROR(graph.CloseAllInputStreams());
  EP_RETURN_IF_ERROR(graph.WaitUntilDone());
  EP_ASSIGN_OR_RETURN(const Tensor* tensor, converted->outputs["tensor"].Get<Tensor>());
  const std::vector<int32_t>& shape = tensor->shape();
  converted->pixels = cv::Mat(shape[1], shape[2], CV_8UC3, const_cast<void*>(tensor->raw_data())).clone();
  return *converted;
}

TEST(ImageToTensorRoiTest, WholeFrameLetterboxIsOneBilinearWarpWithZeroBars) {
  EDGEPIPE_REQUIRE_SHARED_FILE(MediaPath("grace_hopper.bmp"));
  const ImageFrame image = GraceHopper();  // 512 × 600: portrait, so bars left and right
  auto converted = Convert(image, "output_width: 128 output_height: 128", nullptr);
  ASSERT_TRUE(converted.ok()) << converted.status();
  const auto* transform = converted->outputs["transform"].Get<LetterboxTransform>().value();
  const double scale = 128.0 / image.height();
  EXPECT_NEAR(transform->scale_x, scale, 1e-9);
  EXPECT_NEAR(transform->scale_y, scale, 1e-9);
  EXPECT_NEAR(transform->pad_left, (128 - image.width() * scale) / 2, 1e-9);  // fractional, not rounded
  EXPECT_NEAR(transform->pad_top, 0.0, 1e-9);
  // The bars are zero; the content is the source bilinearly sampled at
  // tensor pixel (x, y) ↦ source ((x − pad) / scale, y / scale).
  EXPECT_EQ(converted->pixels.at<cv::Vec3b>(64, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(converted->pixels.at<cv::Vec3b>(64, 127), cv::Vec3b(0, 0, 0));
  cv::Mat expected;
  cv::getRectSubPix(image.mat(), {1, 1}, cv::Point2f((70 - transform->pad_left) / scale, 50 / scale), expected);
  const cv::Vec3b got = converted->pixels.at<cv::Vec3b>(50, 70);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], expected.at<cv::Vec3b>(0, 0)[c], 1) << "channel " << c;
  // Projecting back: the tensor's centre is the image's centre.
  const cv::Point2d centre = transform->NormalizedTargetToSource({0.5, 0.5});
  EXPECT_NEAR(centre.x, 0.5, 1e-9);
  EXPECT_NEAR(centre.y, 0.5, 1e-9);
}

TEST(ImageToTensorRoiTest, RoiRotatedClockwiseAppearsTurnedCounterClockwise) {
  EDGEPIPE_REQUIRE_SHARED_FILE(MediaPath("grace_hopper.bmp"));
  const ImageFrame image = GraceHopper();
  // A 100 × 100 square at (200, 150)–(300, 250), turned 90° clockwise, sampled at
  // its own size: every tensor pixel is one source pixel (MediaPipe maps the
  // ROI's corners onto the tensor's corners, hence the one-pixel shift).
  const int size = 100, left = 200, top = 150;
  const NormalizedRect roi{(left + size / 2.0f) / image.width(), (top + size / 2.0f) / image.height(),
                           static_cast<float>(size) / image.width(), static_cast<float>(size) / image.height(),
                           static_cast<float>(std::numbers::pi / 2)};
  auto converted = Convert(image, "output_width: 100 output_height: 100", &roi);
  ASSERT_TRUE(converted.ok()) << converted.status();
  cv::Mat expected;
  cv::rotate(image.mat()(cv::Rect(left + 1, top, size, size)), expected, cv::ROTATE_90_COUNTERCLOCKWISE);
  cv::Mat difference;
  cv::absdiff(converted->pixels, expected, difference);
  double worst = 0;
  cv::minMaxLoc(difference.reshape(1), nullptr, &worst);
  EXPECT_LE(worst, 1.0);
  const auto* sampled = converted->outputs["sampled"].Get<NormalizedRect>().value();
  EXPECT_NEAR(sampled->width, roi.width, 1e-6);
  EXPECT_NEAR(sampled->rotation, roi.rotation, 1e-6);
}

TEST(ImageToTensorRoiTest, KeepAspectRatioGrowsTheRoiAndReplicateFillsOutside) {
  EDGEPIPE_REQUIRE_SHARED_FILE(MediaPath("grace_hopper.bmp"));
  const ImageFrame image = GraceHopper();
  // A wide ROI across the top edge: grown to square, it reaches above the image.
  const NormalizedRect roi{0.5f, 20.0f / image.height(), 200.0f / image.width(), 40.0f / image.height(), 0.0f};
  auto converted = Convert(image, "output_width: 64 output_height: 64 border_mode: BORDER_REPLICATE", &roi);
  ASSERT_TRUE(converted.ok()) << converted.status();
  const auto* sampled = converted->outputs["sampled"].Get<NormalizedRect>().value();
  EXPECT_NEAR(sampled->width * image.width(), 200, 1e-3);
  EXPECT_NEAR(sampled->height * image.height(), 200, 1e-3);  // grown to the tensor's aspect ratio
  // Rows above the image repeat the top row: the tensor's first row equals the row where the image starts.
  const int first_image_row = static_cast<int>(std::ceil((0 - (20 - 100)) * 64.0 / 200));
  cv::Mat difference;
  cv::absdiff(converted->pixels.row(0), converted->pixels.row(first_image_row - 1), difference);
  double worst = 0;
  cv::minMaxLoc(difference.reshape(1), nullptr, &worst);
  EXPECT_LE(worst, 1.0);
  EXPECT_GT(cv::sum(converted->pixels.row(0))[0], 0) << "replicate, not zero";
}

TEST(ImageToTensorRoiTest, TensorFormatConvertsTheSampledPixelsOnly) {
  EDGEPIPE_REQUIRE_SHARED_FILE(MediaPath("grace_hopper.bmp"));
  const ImageFrame rgb = GraceHopper();
  const ImageFrame bgr = rgb.ConvertedTo(ImageFormat::kBGR).value();
  const std::string size = "output_width: 96 output_height: 64 keep_aspect_ratio: false ";
  auto from_rgb = Convert(rgb, size, nullptr);
  auto from_bgr = Convert(bgr, size + "tensor_format: \"RGB\"", nullptr);
  auto bgr_as_is = Convert(bgr, size, nullptr);
  ASSERT_TRUE(from_rgb.ok()) << from_rgb.status();
  ASSERT_TRUE(from_bgr.ok()) << from_bgr.status();
  ASSERT_TRUE(bgr_as_is.ok()) << bgr_as_is.status();
  // A BGR frame with tensor_format RGB gives exactly the tensor of the RGB frame…
  EXPECT_EQ(cv::norm(from_rgb->pixels, from_bgr->pixels, cv::NORM_INF), 0.0);
  // …and without it the channels stay swapped (the option does something).
  EXPECT_GT(cv::norm(from_rgb->pixels, bgr_as_is->pixels, cv::NORM_INF), 50.0);
  EXPECT_FALSE(Convert(rgb, size + "tensor_format: \"YUV\"", nullptr).ok()) << "an unknown format is refused";
}

}  // namespace
}  // namespace edgepipe
