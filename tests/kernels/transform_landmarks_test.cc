// TransformLandmarks v2: hand-computed affine maps of 2-D and 3-D landmarks.
#include "engine/kernels/mediapipe_ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAreArray;

// Rows: x' = 2x - y + 3, y' = 0.5x + 4y - 1; the third column (z) must not matter.
const std::vector<float> kMatrix = {2, -1, 100, 3, 0.5f, 4, 100, -1, 7, 7, 7, 7, 7, 7, 7, 7};

TEST(TransformLandmarksTest, MapsTwoDimensionalLandmarks) {
  TestTensor lm = Make<float>(DType::kFloat32, {1, 2, 2}, {1, 2, -2, 0.5f}, "lm");
  TestTensor m = Make<float>(DType::kFloat32, {1, 4, 4}, kMatrix, "m");
  TestTensor out = Output(DType::kFloat32, {1, 2, 2});
  ASSERT_THAT(TransformLandmarks(lm, m, out), IsOk());
  // (1,2) -> (2-2+3, 0.5+8-1) = (3, 7.5); (-2,0.5) -> (-4-0.5+3, -1+2-1) = (-1.5, 0).
  EXPECT_THAT(out.Values<float>(), ElementsAreArray<float>({3, 7.5f, -1.5f, 0}));
}

TEST(TransformLandmarksTest, CopiesZOfThreeDimensionalLandmarks) {
  TestTensor lm = Make<float>(DType::kFloat32, {1, 1, 3}, {1, 2, 42}, "lm");
  TestTensor m = Make<float>(DType::kFloat32, {1, 4, 4}, kMatrix, "m");
  TestTensor out = Output(DType::kFloat32, {1, 1, 3});
  ASSERT_THAT(TransformLandmarks(lm, m, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAreArray<float>({3, 7.5f, 42}));
}

TEST(TransformLandmarksTest, ShapeErrorsNameTheTensor) {
  TestTensor lm = Make<float>(DType::kFloat32, {1, 2, 2}, {1, 2, 3, 4}, "lm");
  TestTensor m = Make<float>(DType::kFloat32, {1, 4, 4}, kMatrix, "m");
  TestTensor bad_out = Output(DType::kFloat32, {1, 2, 3}, "bad_out");
  EXPECT_THAT(TransformLandmarks(lm, m, bad_out), IsErrorNaming("bad_out"));
  TestTensor four_d = Make<float>(DType::kFloat32, {1, 1, 1, 4}, {1, 2, 3, 4}, "four_d");
  TestTensor out4 = Output(DType::kFloat32, {1, 1, 1, 4});
  EXPECT_THAT(TransformLandmarks(four_d, m, out4), IsErrorNaming("four_d"));
  TestTensor bad_m = Make<float>(DType::kFloat32, {1, 3, 3}, std::vector<float>(9, 0), "bad_m");
  TestTensor out = Output(DType::kFloat32, {1, 2, 2});
  EXPECT_THAT(TransformLandmarks(lm, bad_m, out), IsErrorNaming("bad_m"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
