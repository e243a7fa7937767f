#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(ConcatenationTest, FloatAlongLastAxis) {
  auto a = Make<float>(DType::kFloat32, {2, 2}, {1, 2, 3, 4}, "a");
  auto b = Make<float>(DType::kFloat32, {2, 1}, {5, 6}, "b");
  auto out = Output(DType::kFloat32, {2, 3});
  const TensorView* inputs[] = {&a.view, &b.view};
  ASSERT_THAT(Concatenation(inputs, -1, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(1, 2, 5, 3, 4, 6));
}

TEST(ConcatenationTest, Int32AlongFirstAxis) {
  auto a = Make<int32_t>(DType::kInt32, {1, 2}, {1, 2}, "a");
  auto b = Make<int32_t>(DType::kInt32, {2, 2}, {3, 4, 5, 6}, "b");
  auto out = Output(DType::kInt32, {3, 2});
  const TensorView* inputs[] = {&a.view, &b.view};
  ASSERT_THAT(Concatenation(inputs, 0, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(ConcatenationTest, Uint8RequantizesInputsWithOtherScale) {
  // a: scale 0.5 zp 0 -> output scale 1 zp 128: q = round(q_a * 0.5) + 128.
  //    0 -> 128; 3 -> round(1.5) = 2 -> 130 (half away from zero); 10 -> 133; 255 -> round(127.5)=128 -> 256 -> 255.
  auto a = Make<uint8_t>(DType::kUInt8, {1, 4}, {0, 3, 10, 255}, "a", PerTensor(0.5f, 0));
  // b already has the output's quantization: copied unchanged.
  auto b = Make<uint8_t>(DType::kUInt8, {1, 2}, {0, 200}, "b", PerTensor(1.0f, 128));
  auto out = Output(DType::kUInt8, {1, 6}, "output", PerTensor(1.0f, 128));
  const TensorView* inputs[] = {&a.view, &b.view};
  ASSERT_THAT(Concatenation(inputs, 1, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(128, 130, 133, 255, 0, 200));
}

TEST(ConcatenationTest, Int8RequantizesWithZeroPointShift) {
  // scale = 0.25 / 0.5 = 0.5, bias = 10 * 0.5 = 5, out zp 3:
  // -10 -> 0 + 3 = 3; -13 -> round(-1.5) = -2 -> 1; 127 -> round(68.5) = 69 -> 72.
  auto a = Make<int8_t>(DType::kInt8, {3}, {-10, -13, 127}, "a", PerTensor(0.25f, -10));
  auto out = Output(DType::kInt8, {3}, "output", PerTensor(0.5f, 3));
  const TensorView* inputs[] = {&a.view};
  ASSERT_THAT(Concatenation(inputs, 0, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(3, 1, 72));
}

TEST(ConcatenationTest, MiddleAxisInterleavesBlocks) {
  auto a = Make<float>(DType::kFloat32, {2, 1, 2}, {1, 2, 3, 4}, "a");
  auto b = Make<float>(DType::kFloat32, {2, 1, 2}, {5, 6, 7, 8}, "b");
  auto out = Output(DType::kFloat32, {2, 2, 2});
  const TensorView* inputs[] = {&a.view, &b.view};
  ASSERT_THAT(Concatenation(inputs, 1, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(1, 2, 5, 6, 3, 4, 7, 8));
}

TEST(ConcatenationTest, DtypeMismatchNamesTensor) {
  auto a = Make<float>(DType::kFloat32, {1, 2}, {1, 2}, "a");
  auto b = Make<int32_t>(DType::kInt32, {1, 2}, {3, 4}, "bad_input");
  auto out = Output(DType::kFloat32, {1, 4});
  const TensorView* inputs[] = {&a.view, &b.view};
  EXPECT_THAT(Concatenation(inputs, 1, out), IsErrorNaming("bad_input"));
}

TEST(ConcatenationTest, ShapeMismatchNamesTensor) {
  auto a = Make<float>(DType::kFloat32, {1, 2}, {1, 2}, "a");
  auto b = Make<float>(DType::kFloat32, {2, 1}, {3, 4}, "odd_shape");
  auto out = Output(DType::kFloat32, {1, 3});
  const TensorView* inputs[] = {&a.view, &b.view};
  EXPECT_THAT(Concatenation(inputs, 1, out), IsErrorNaming("odd_shape"));
}

TEST(ConcatenationTest, OutputSizeMismatchNamesOutput) {
  auto a = Make<float>(DType::kFloat32, {1, 2}, {1, 2}, "a");
  auto out = Output(DType::kFloat32, {1, 3}, "too_big");
  const TensorView* inputs[] = {&a.view};
  EXPECT_THAT(Concatenation(inputs, 1, out), IsErrorNaming("too_big"));
}

TEST(ConcatenationTest, AxisOutOfRange) {
  auto a = Make<float>(DType::kFloat32, {1, 2}, {1, 2}, "a");
  auto out = Output(DType::kFloat32, {1, 2}, "out_t");
  const TensorView* inputs[] = {&a.view};
  EXPECT_THAT(Concatenation(inputs, 2, out), IsErrorNaming("out_t"));
}

TEST(ConcatenationTest, MissingQuantizationIsAnError) {
  auto a = Make<uint8_t>(DType::kUInt8, {2}, {1, 2}, "unquantized");
  auto out = Output(DType::kUInt8, {2}, "output", PerTensor(1.0f, 0));
  const TensorView* inputs[] = {&a.view};
  EXPECT_THAT(Concatenation(inputs, 0, out), IsErrorNaming("unquantized"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
