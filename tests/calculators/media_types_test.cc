// Payload types: exact frame rates, ImageFrame memory sharing, Tensor, letterbox transform.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "calculators/types/frame_rate.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/types/tensor.h"

namespace edgepipe {
namespace {

TEST(FrameRateTest, RecoversContainerRationals) {
  EXPECT_EQ(RationalFrameRate(10.0).value(), (FrameRate{10, 1}));
  EXPECT_EQ(RationalFrameRate(23.976).value(), (FrameRate{2997, 125}));
  EXPECT_EQ(RationalFrameRate(30000.0 / 1001.0).value(), (FrameRate{30000, 1001}));
  EXPECT_EQ(RationalFrameRate(24000.0 / 1001.0).value(), (FrameRate{24000, 1001}));
  EXPECT_EQ(RationalFrameRate(0.5).value(), (FrameRate{1, 2}));
  EXPECT_FALSE(RationalFrameRate(0).ok());
  EXPECT_FALSE(RationalFrameRate(std::nan("")).ok());
}

TEST(FrameRateTest, TimestampsAreExactAndDoNotDrift) {
  const FrameRate megamind{2997, 125};  // 23.976 fps: 41708.375 µs per frame
  EXPECT_EQ(FrameTimestampUs(0, megamind), 0);
  EXPECT_EQ(FrameTimestampUs(1, megamind), 41708);
  EXPECT_EQ(FrameTimestampUs(4, megamind), 166834);  // 166833.5 rounds half up
  EXPECT_EQ(FrameTimestampUs(2997, megamind), 125000000);  // exactly 125 s, no drift
  const FrameRate ntsc{30000, 1001};
  EXPECT_EQ(FrameTimestampUs(30000 * 3600, ntsc), int64_t{3600} * 1001000000);  // one hour of frames
}

TEST(ImageFrameTest, WrapsMatWithoutCopying) {
  cv::Mat mat(4, 6, CV_8UC3, cv::Scalar(1, 2, 3));
  auto frame = ImageFrame::FromMat(ImageFormat::kBGR, mat);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->data(), mat.data);
  EXPECT_EQ(frame->width(), 6);
  EXPECT_EQ(frame->height(), 4);
  EXPECT_EQ(frame->stride(), 18u);
  // A crop (ROI) keeps the parent's stride and memory.
  auto crop = ImageFrame::FromMat(ImageFormat::kBGR, mat(cv::Rect(1, 1, 2, 2)));
  ASSERT_TRUE(crop.ok());
  EXPECT_EQ(crop->stride(), 18u);
  EXPECT_EQ(crop->data(), mat.data + 18 + 3);
  // Same-format conversion shares; another format converts.
  EXPECT_EQ(frame->ConvertedTo(ImageFormat::kBGR)->data(), mat.data);
  auto rgb = frame->ConvertedTo(ImageFormat::kRGB);
  ASSERT_TRUE(rgb.ok());
  EXPECT_EQ(rgb->mat().at<cv::Vec3b>(0, 0), cv::Vec3b(3, 2, 1));
}

TEST(ImageFrameTest, RejectsMismatchedMats) {
  auto wrong_channels = ImageFrame::FromMat(ImageFormat::kRGBA, cv::Mat(2, 2, CV_8UC3));
  EXPECT_FALSE(wrong_channels.ok());
  EXPECT_THAT(wrong_channels.status().message(), ::testing::HasSubstr("RGBA"));
  EXPECT_FALSE(ImageFrame::FromMat(ImageFormat::kGray8, cv::Mat(2, 2, CV_32F)).ok());
  EXPECT_FALSE(ImageFrame::FromMat(ImageFormat::kGray8, cv::Mat()).ok());
  EXPECT_FALSE(ParseImageFormat("YUV").ok());
  EXPECT_EQ(ParseImageFormat("rgb").value(), ImageFormat::kRGB);
}

TEST(TensorTest, AlignedTypedAndViewable) {
  auto tensor = Tensor::Create(TensorDType::kInt8, {1, 4, 4, 3}, TensorQuantization{{0.5f}, {-3}, 0}, "input");
  ASSERT_TRUE(tensor.ok());
  EXPECT_EQ(tensor->num_elements(), 48u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor->raw_data()) % Tensor::kAlignment, 0u);
  EXPECT_TRUE(tensor->data<int8_t>().ok());
  auto wrong = tensor->data<float>();
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), ::testing::HasSubstr("int8"));
  engine::TensorView view = tensor->View();
  EXPECT_EQ(view.data, tensor->raw_data());
  EXPECT_EQ(view.dtype, engine::DType::kInt8);
  EXPECT_EQ(view.quant.zero_point[0], -3);
  EXPECT_FALSE(Tensor::Create(TensorDType::kFloat32, {1, 0}).ok());
  auto copy = Tensor::CopyFrom(view);
  ASSERT_TRUE(copy.ok());
  EXPECT_NE(copy->raw_data(), tensor->raw_data());
  EXPECT_EQ(copy->shape(), tensor->shape());
}

TEST(LetterboxTransformTest, InverseUndoesForward) {
  const LetterboxTransform transform = ComputeLetterbox(768, 576, 128, 128);
  EXPECT_DOUBLE_EQ(transform.scale_x, 128.0 / 768);
  EXPECT_DOUBLE_EQ(transform.pad_left, 0);
  EXPECT_DOUBLE_EQ(transform.pad_top, 16);  // 96 rows of content, centred
  for (cv::Point2d point : {cv::Point2d(0, 0), cv::Point2d(767.5, 575.5), cv::Point2d(123.25, 400.75)}) {
    const cv::Point2d back = transform.TargetToSource(transform.SourceToTarget(point));
    EXPECT_NEAR(back.x, point.x, 1e-9);
    EXPECT_NEAR(back.y, point.y, 1e-9);
  }
  // The letterboxed image's centre is the source's centre.
  const cv::Point2d centre = transform.NormalizedTargetToSource({0.5, 0.5});
  EXPECT_NEAR(centre.x, 0.5, 1e-9);
  EXPECT_NEAR(centre.y, 0.5, 1e-9);
}

}  // namespace
}  // namespace edgepipe
