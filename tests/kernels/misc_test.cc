// Reshape and Logistic.
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(ReshapeTest, CopiesBytes) {
  auto in = Make<int32_t>(DType::kInt32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto out = Output(DType::kInt32, {3, 2});
  ASSERT_THAT(Reshape(in, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(ReshapeTest, InPlaceIsANoOp) {
  auto in = Make<int32_t>(DType::kInt32, {2}, {7, 8});
  TensorView alias = in.view;
  alias.shape = {1, 2};
  ASSERT_THAT(Reshape(in, alias), IsOk());
  EXPECT_THAT(in.Values<int32_t>(), ElementsAre(7, 8));
}

TEST(ReshapeTest, CountMismatchNamesOutput) {
  auto in = Make<int32_t>(DType::kInt32, {2}, {1, 2});
  auto out = Output(DType::kInt32, {3}, "reshaped");
  EXPECT_THAT(Reshape(in, out), IsErrorNaming("reshaped"));
}

TEST(LogisticTest, Float) {
  auto in = Make<float>(DType::kFloat32, {3}, {0.0f, 100.0f, -100.0f});
  auto out = Output(DType::kFloat32, {3});
  ASSERT_THAT(Logistic(in, out), IsOk());
  const auto v = out.Values<float>();
  EXPECT_FLOAT_EQ(v[0], 0.5f);
  EXPECT_FLOAT_EQ(v[1], 1.0f);
  EXPECT_NEAR(v[2], 0.0f, 1e-30);
}

TEST(LogisticTest, Uint8) {
  // scale 0.1 zp 128: 128 -> sigmoid(0) = 0.5 -> 128; 255 -> sigmoid(12.7) = 0.999997 -> 256 -> 255;
  // 0 -> sigmoid(-12.8) = 2.76e-6 -> 0; 150 -> sigmoid(2.2) = 0.900250 -> 230.46 -> 230.
  auto in = Make<uint8_t>(DType::kUInt8, {4}, {128, 255, 0, 150}, "input", PerTensor(0.1f, 128));
  auto out = Output(DType::kUInt8, {4}, "output", PerTensor(1.0f / 256, 0));
  ASSERT_THAT(Logistic(in, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(128, 255, 0, 230));
}

TEST(LogisticTest, Int8) {
  // scale 0.1 zp 0: 0 -> 0.5 -> 128 - 128 = 0; 22 -> 0.900250 -> 230 - 128 = 102.
  auto in = Make<int8_t>(DType::kInt8, {2}, {0, 22}, "input", PerTensor(0.1f, 0));
  auto out = Output(DType::kInt8, {2}, "output", PerTensor(1.0f / 256, -128));
  ASSERT_THAT(Logistic(in, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(0, 102));
}

TEST(LogisticTest, WrongOutputQuantizationNamesOutput) {
  auto in = Make<uint8_t>(DType::kUInt8, {1}, {1}, "input", PerTensor(0.1f, 128));
  auto out = Output(DType::kUInt8, {1}, "gate", PerTensor(0.5f, 0));
  EXPECT_THAT(Logistic(in, out), IsErrorNaming("gate"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
