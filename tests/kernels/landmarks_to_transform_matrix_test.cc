// Landmarks2TransformMatrix v2: matrices worked out by hand for a level and a
// 90-degree-rotated landmark set, and option parsing.
#include <flatbuffers/flexbuffers.h>

#include "engine/kernels/mediapipe_ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

std::vector<uint8_t> BuildOptions(std::vector<int> subset, int left, int right, int out_h, int out_w, float scale,
                                  bool with_scale_y = true) {
  flexbuffers::Builder fbb;
  fbb.Map([&] {
    fbb.Int("left_rotation_idx", left);
    fbb.Int("output_height", out_h);
    fbb.Int("output_width", out_w);
    fbb.Int("right_rotation_idx", right);
    fbb.Float("scale_x", scale);
    if (with_scale_y) fbb.Float("scale_y", scale);
    fbb.TypedVector("subset_idxs", [&] {
      for (int i : subset) fbb.Int(i);
    });
    fbb.Float("target_rotation_radians", 0.0f);
  });
  fbb.Finish();
  return fbb.GetBuffer();
}

LandmarksToTransformMatrixOptions Parse(const std::vector<uint8_t>& bytes) {
  auto o = ParseLandmarksToTransformMatrixOptions(bytes.data(), bytes.size());
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return o.ok() ? *o : LandmarksToTransformMatrixOptions{};
}

TEST(LandmarksToTransformMatrixTest, ParsesFlexBufferOptions) {
  const LandmarksToTransformMatrixOptions o = Parse(BuildOptions({4, 1, 7}, 2, 3, 16, 8, 1.5f));
  EXPECT_EQ(o.subset_idxs, (std::vector<int32_t>{4, 1, 7}));
  EXPECT_EQ(o.left_rotation_idx, 2);
  EXPECT_EQ(o.right_rotation_idx, 3);
  EXPECT_EQ(o.output_height, 16);
  EXPECT_EQ(o.output_width, 8);
  EXPECT_FLOAT_EQ(o.scale_x, 1.5f);
  EXPECT_EQ(o.max_index, 7);
}

TEST(LandmarksToTransformMatrixTest, RejectsMalformedOptions) {
  std::vector<uint8_t> missing = BuildOptions({0, 1}, 0, 1, 4, 4, 1.0f, /*with_scale_y=*/false);
  auto r = ParseLandmarksToTransformMatrixOptions(missing.data(), missing.size());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("scale_y"));
  std::vector<uint8_t> empty_subset = BuildOptions({}, 0, 1, 4, 4, 1.0f);
  EXPECT_FALSE(ParseLandmarksToTransformMatrixOptions(empty_subset.data(), empty_subset.size()).ok());
  std::vector<uint8_t> bad_size = BuildOptions({0, 1}, 0, 1, 0, 4, 1.0f);
  EXPECT_FALSE(ParseLandmarksToTransformMatrixOptions(bad_size.data(), bad_size.size()).ok());
  std::vector<uint8_t> bad_scale = BuildOptions({0, 1}, 0, 1, 4, 4, -1.0f);
  EXPECT_FALSE(ParseLandmarksToTransformMatrixOptions(bad_scale.data(), bad_scale.size()).ok());
  std::vector<uint8_t> bad_index = BuildOptions({0, -3}, 0, 1, 4, 4, 1.0f);
  EXPECT_FALSE(ParseLandmarksToTransformMatrixOptions(bad_index.data(), bad_index.size()).ok());
  const uint8_t garbage[] = {0xff, 0x13, 0x00, 0x7f, 0x42};
  EXPECT_FALSE(ParseLandmarksToTransformMatrixOptions(garbage, sizeof(garbage)).ok());
  EXPECT_FALSE(ParseLandmarksToTransformMatrixOptions(nullptr, 0).ok());
  const std::vector<uint8_t> good = BuildOptions({0, 1}, 0, 1, 4, 4, 1.0f);
  for (size_t n = 1; n < good.size(); ++n) {  // never reads out of bounds
    std::vector<uint8_t> suffix(good.end() - static_cast<std::ptrdiff_t>(n), good.end());
    (void)ParseLandmarksToTransformMatrixOptions(suffix.data(), suffix.size());
  }
}

TEST(LandmarksToTransformMatrixTest, LevelBoxGivesScaleAndShift) {
  // Box corners (2,2) (6,2) (6,4) (2,4); left/right = (2,2)/(6,2) so no rotation.
  // Box 4 x 2 at center (4,3); output 8 x 4, scale 1.5: s = 1.5*4/8 = 1.5*2/4 = 0.75;
  // translation = center - s * (out/2) = (4 - 0.75*4, 3 - 0.75*2) = (1, 1.5).
  TestTensor lm = Make<float>(DType::kFloat32, {1, 5, 3}, {2, 2, 9, 6, 2, 9, 6, 4, 9, 2, 4, 9, 100, 100, 100}, "lm");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4});
  ASSERT_THAT(LandmarksToTransformMatrix(Parse(BuildOptions({0, 1, 2, 3}, 0, 1, 4, 8, 1.5f)), lm, out), IsOk());
  EXPECT_THAT(out.Values<float>(), Pointwise(FloatNear(1e-6f), std::vector<float>{0.75f, 0, 0, 1,     //
                                                                                   0, 0.75f, 0, 1.5f,  //
                                                                                   0, 0, 1, 0,         //
                                                                                   0, 0, 0, 1}));
}

TEST(LandmarksToTransformMatrixTest, RotatedBoxIsLeveledFirst) {
  // left (1,1), right (1,3): atan2(2, 0) = pi/2, rotation r = -pi/2, which maps
  // (x, y) -> (y, -x). Subset (1,1) (1,3) (0,1) (0,3) -> x in [1,3], y in [-1,0]:
  // w 2, h 1, center (2,-0.5) rotated back by pi/2 -> (0.5, 2).
  // Output 4 x 2, scale 1: s = 0.5; linear part Rotate(pi/2) * 0.5 = [[0,-.5],[.5,0]];
  // translation = (0.5, 2) + L * (-2, -1) = (1, 1).
  TestTensor lm = Make<float>(DType::kFloat32, {1, 4, 3}, {1, 1, 0, 1, 3, 0, 0, 1, 0, 0, 3, 0}, "lm");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4});
  ASSERT_THAT(LandmarksToTransformMatrix(Parse(BuildOptions({0, 1, 2, 3}, 0, 1, 2, 4, 1.0f)), lm, out), IsOk());
  EXPECT_THAT(out.Values<float>(), Pointwise(FloatNear(1e-5f), std::vector<float>{0, -0.5f, 0, 1,  //
                                                                                   0.5f, 0, 0, 1,  //
                                                                                   0, 0, 1, 0,     //
                                                                                   0, 0, 0, 1}));
}

TEST(LandmarksToTransformMatrixTest, ShapeErrorsNameTheTensor) {
  const LandmarksToTransformMatrixOptions o = Parse(BuildOptions({0, 4}, 0, 1, 4, 4, 1.0f));
  TestTensor few = Make<float>(DType::kFloat32, {1, 4, 3}, std::vector<float>(12, 0), "few");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4});
  EXPECT_THAT(LandmarksToTransformMatrix(o, few, out), IsErrorNaming("few"));  // index 4 of 4 landmarks
  TestTensor flat = Make<float>(DType::kFloat32, {1, 5, 2}, std::vector<float>(10, 0), "flat");
  EXPECT_THAT(LandmarksToTransformMatrix(o, flat, out), IsErrorNaming("flat"));
  TestTensor lm = Make<float>(DType::kFloat32, {1, 5, 3}, std::vector<float>(15, 0), "lm");
  TestTensor bad_out = Output(DType::kFloat32, {1, 16}, "bad_out");
  EXPECT_THAT(LandmarksToTransformMatrix(o, lm, bad_out), IsErrorNaming("bad_out"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
