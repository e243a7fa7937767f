#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(ResizeNearestNeighborTest, UpscaleTwiceLegacy) {
  // scale 0.5: columns 0,0,1,1 (floor(o * 0.5)).
  auto in = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 2, 3, 4});
  auto out = Output(DType::kFloat32, {1, 4, 4, 1});
  ASSERT_THAT(ResizeNearestNeighbor(in, false, false, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4));
}

TEST(ResizeNearestNeighborTest, AlignCornersRoundsHalfAwayFromZero) {
  // scale (2-1)/(3-1) = 0.5: round(0) = 0, round(0.5) = 1, round(1) = 1.
  auto in = Make<uint8_t>(DType::kUInt8, {1, 2, 2, 1}, {1, 2, 3, 4});
  auto out = Output(DType::kUInt8, {1, 3, 3, 1});
  ASSERT_THAT(ResizeNearestNeighbor(in, true, false, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(1, 2, 2, 3, 4, 4, 3, 4, 4));
}

TEST(ResizeNearestNeighborTest, HalfPixelCentersDownscale) {
  // 3 -> 2, scale 1.5: half-pixel: floor(0.75) = 0, floor(2.25) = 2; legacy: floor(0) = 0, floor(1.5) = 1.
  auto in = Make<int8_t>(DType::kInt8, {1, 3, 1, 1}, {1, 2, 3});
  auto out = Output(DType::kInt8, {1, 2, 1, 1});
  ASSERT_THAT(ResizeNearestNeighbor(in, false, true, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(1, 3));
  ASSERT_THAT(ResizeNearestNeighbor(in, false, false, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(1, 2));
}

TEST(ResizeNearestNeighborTest, CopiesWholePixels) {
  auto in = Make<int32_t>(DType::kInt32, {1, 1, 2, 2}, {1, 2, 3, 4});
  auto out = Output(DType::kInt32, {1, 1, 4, 2});
  ASSERT_THAT(ResizeNearestNeighbor(in, false, false, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(1, 2, 1, 2, 3, 4, 3, 4));
}

TEST(ResizeNearestNeighborTest, ChannelMismatchNamesOutput) {
  auto in = Make<float>(DType::kFloat32, {1, 1, 1, 2}, {1, 2});
  auto out = Output(DType::kFloat32, {1, 2, 2, 1}, "resized");
  EXPECT_THAT(ResizeNearestNeighbor(in, false, false, out), IsErrorNaming("resized"));
}

TEST(ResizeNearestNeighborTest, RankMustBeFour) {
  auto in = Make<float>(DType::kFloat32, {2, 2}, {1, 2, 3, 4}, "flat");
  auto out = Output(DType::kFloat32, {4, 4});
  EXPECT_THAT(ResizeNearestNeighbor(in, false, false, out), IsErrorNaming("flat"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
