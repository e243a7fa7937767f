// TransformTensorBilinear v2: hand-computed samples through identity, scaling
// and shifting matrices, and option parsing.
#include <flatbuffers/flexbuffers.h>

#include "engine/kernels/mediapipe_ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

std::vector<float> Affine(float a, float b, float tx, float c, float d, float ty) {
  return {a, b, 0, tx, c, d, 0, ty, 0, 0, 1, 0, 0, 0, 0, 1};
}

TEST(TransformTensorBilinearTest, ParsesAndRejectsOptions) {
  flexbuffers::Builder fbb;
  fbb.Map([&] {
    fbb.Int("output_height", 16);
    fbb.Int("output_width", 12);
  });
  fbb.Finish();
  auto o = ParseTransformTensorBilinearOptions(fbb.GetBuffer().data(), fbb.GetBuffer().size());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->output_height, 16);
  EXPECT_EQ(o->output_width, 12);

  flexbuffers::Builder missing;
  missing.Map([&] { missing.Int("output_height", 16); });
  missing.Finish();
  auto r = ParseTransformTensorBilinearOptions(missing.GetBuffer().data(), missing.GetBuffer().size());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("output_width"));
  flexbuffers::Builder zero;
  zero.Map([&] {
    zero.Int("output_height", 0);
    zero.Int("output_width", 4);
  });
  zero.Finish();
  EXPECT_FALSE(ParseTransformTensorBilinearOptions(zero.GetBuffer().data(), zero.GetBuffer().size()).ok());
  const uint8_t garbage[] = {1, 2, 3};
  EXPECT_FALSE(ParseTransformTensorBilinearOptions(garbage, sizeof(garbage)).ok());
}

TEST(TransformTensorBilinearTest, IdentityCopies) {
  TestTensor in = Make<float>(DType::kFloat32, {1, 2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, "in");
  TestTensor m = Make<float>(DType::kFloat32, {1, 4, 4}, Affine(1, 0, 0, 0, 1, 0), "m");
  TestTensor out = Output(DType::kFloat32, {1, 2, 3, 2});
  ASSERT_THAT(TransformTensorBilinear({2, 3}, in, m, out), IsOk());
  EXPECT_THAT(out.Values<float>(), Pointwise(FloatNear(0), in.Values<float>()));
}

TEST(TransformTensorBilinearTest, HalfScaleSamplesBetweenPixelCenters) {
  // M = 0.5 I: with pixel-center alignment the sample is 0.5 * (o + 0.5) - 0.5
  // = 0.5 o - 0.25: o = 0 -> -0.25 (outside, 0), 1 -> 0.25, 2 -> 0.75, 3 -> 1.25 (outside).
  // Input [[1, 2], [3, 4]] is the plane 1 + x + 2y, so in-range samples are 1 + tx + 2 ty.
  TestTensor in = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 2, 3, 4}, "in");
  TestTensor m = Make<float>(DType::kFloat32, {1, 4, 4}, Affine(0.5f, 0, 0, 0, 0.5f, 0), "m");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4, 1});
  ASSERT_THAT(TransformTensorBilinear({4, 4}, in, m, out), IsOk());
  EXPECT_THAT(out.Values<float>(), Pointwise(FloatNear(1e-6f), std::vector<float>{0, 0, 0, 0,        //
                                                                                   0, 1.75f, 2.25f, 0,  //
                                                                                   0, 2.75f, 3.25f, 0,  //
                                                                                   0, 0, 0, 0}));
}

TEST(TransformTensorBilinearTest, ShiftAndSwapAxes) {
  // M maps output (x, y) to input (y + 0.5, x): rows (0, 1, 0, 0.5) and (1, 0, 0, 0);
  // alignment adds 0.5 + 0.5*0 ... : tx = y + 0.5 + (0 + 0.5 - 0.5) = y + 0.5,
  // ty = x + (0.5 - 0.5) = x. Input 2 wide x 3 high, value 10*row + col.
  TestTensor in = Make<float>(DType::kFloat32, {1, 3, 2, 1}, {0, 1, 10, 11, 20, 21}, "in");
  TestTensor m = Make<float>(DType::kFloat32, {1, 4, 4}, Affine(0, 1, 0.5f, 1, 0, 0), "m");
  TestTensor out = Output(DType::kFloat32, {1, 2, 3, 1});
  ASSERT_THAT(TransformTensorBilinear({2, 3}, in, m, out), IsOk());
  // Output (y=0, x) samples (0.5, x): 10x + 0.5; (y=1) samples (1.5, x): outside (> W-1 = 1).
  EXPECT_THAT(out.Values<float>(), Pointwise(FloatNear(1e-6f), std::vector<float>{0.5f, 10.5f, 20.5f, 0, 0, 0}));
}

TEST(TransformTensorBilinearTest, ShapeErrorsNameTheTensor) {
  TestTensor in = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 2, 3, 4}, "in");
  TestTensor m = Make<float>(DType::kFloat32, {1, 4, 4}, Affine(1, 0, 0, 0, 1, 0), "m");
  TestTensor bad_out = Output(DType::kFloat32, {1, 3, 2, 1}, "bad_out");
  EXPECT_THAT(TransformTensorBilinear({2, 2}, in, m, bad_out), IsErrorNaming("bad_out"));
  TestTensor bad_m = Make<float>(DType::kFloat32, {1, 2, 4}, std::vector<float>(8, 0), "bad_m");
  TestTensor out = Output(DType::kFloat32, {1, 2, 2, 1});
  EXPECT_THAT(TransformTensorBilinear({2, 2}, in, bad_m, out), IsErrorNaming("bad_m"));
  TestTensor batch2 = Make<float>(DType::kFloat32, {2, 2, 2, 1}, std::vector<float>(8, 0), "batch2");
  EXPECT_THAT(TransformTensorBilinear({2, 2}, batch2, m, out), IsErrorNaming("batch2"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
