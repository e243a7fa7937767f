#include <cmath>

#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(SoftmaxTest, Uint8EqualLogitsShareProbability) {
  // Two equal logits: p = 0.5 -> 0.5 * 256 = 128. Four: 64.
  auto in = Make<uint8_t>(DType::kUInt8, {2, 4}, {7, 7, 7, 7, 0, 0, 9, 9}, "input", PerTensor(0.5f, 0));
  auto out = Output(DType::kUInt8, {2, 4}, "output", PerTensor(1.0f / 256, 0));
  ASSERT_THAT(Softmax(in, 1.0f, out), IsOk());
  const auto v = out.Values<uint8_t>();
  EXPECT_THAT(std::vector<uint8_t>(v.begin(), v.begin() + 4), ElementsAre(64, 64, 64, 64));
  // Second row: exp(-4.5) vs 1 -> p = 1/(2+2e^-4.5) = 0.49451 -> 126.6 -> 127; e^-4.5 * that = 0.00549 -> 1.4 -> 1.
  EXPECT_THAT(std::vector<uint8_t>(v.begin() + 4, v.end()), ElementsAre(1, 1, 127, 127));
}

TEST(SoftmaxTest, Uint8ThreeToOne) {
  // input scale ln 3: logits differ by ln 3 -> probabilities 3/4, 1/4 -> 192, 64.
  auto in = Make<uint8_t>(DType::kUInt8, {2}, {1, 0}, "input", PerTensor(std::log(3.0f), 0));
  auto out = Output(DType::kUInt8, {2}, "output", PerTensor(1.0f / 256, 0));
  ASSERT_THAT(Softmax(in, 1.0f, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(192, 64));
}

TEST(SoftmaxTest, Int8ThreeToOne) {
  // Same with int8: 192 - 128 = 64, 64 - 128 = -64.
  auto in = Make<int8_t>(DType::kInt8, {2}, {-127, -128}, "input", PerTensor(std::log(3.0f), 0));
  auto out = Output(DType::kInt8, {2}, "output", PerTensor(1.0f / 256, -128));
  ASSERT_THAT(Softmax(in, 1.0f, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(64, -64));
}

TEST(SoftmaxTest, BetaScalesLogits) {
  // beta 0.5 with scale 2 ln 3 is the same as scale ln 3.
  auto in = Make<uint8_t>(DType::kUInt8, {2}, {1, 0}, "input", PerTensor(2.0f * std::log(3.0f), 0));
  auto out = Output(DType::kUInt8, {2}, "output", PerTensor(1.0f / 256, 0));
  ASSERT_THAT(Softmax(in, 0.5f, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(192, 64));
}

TEST(SoftmaxTest, CertaintySaturates) {
  // A single class has p = 1 -> 256 -> clamped to 255 (uint8) / 127 (int8).
  auto in8 = Make<uint8_t>(DType::kUInt8, {1}, {3}, "input", PerTensor(1.0f, 0));
  auto out8 = Output(DType::kUInt8, {1}, "output", PerTensor(1.0f / 256, 0));
  ASSERT_THAT(Softmax(in8, 1.0f, out8), IsOk());
  EXPECT_THAT(out8.Values<uint8_t>(), ElementsAre(255));
  auto in = Make<int8_t>(DType::kInt8, {1}, {3}, "input", PerTensor(1.0f, 0));
  auto out = Output(DType::kInt8, {1}, "output", PerTensor(1.0f / 256, -128));
  ASSERT_THAT(Softmax(in, 1.0f, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(127));
}

TEST(SoftmaxTest, Float) {
  auto in = Make<float>(DType::kFloat32, {2, 2}, {1.0f, 1.0f, 0.0f, std::log(3.0f)});
  auto out = Output(DType::kFloat32, {2, 2});
  ASSERT_THAT(Softmax(in, 1.0f, out), IsOk());
  const auto v = out.Values<float>();
  EXPECT_FLOAT_EQ(v[0], 0.5f);
  EXPECT_FLOAT_EQ(v[1], 0.5f);
  EXPECT_NEAR(v[2], 0.25f, 1e-6);
  EXPECT_NEAR(v[3], 0.75f, 1e-6);
}

TEST(SoftmaxTest, WrongOutputQuantizationNamesOutput) {
  auto in = Make<uint8_t>(DType::kUInt8, {2}, {1, 0}, "input", PerTensor(1.0f, 0));
  auto out = Output(DType::kUInt8, {2}, "probabilities", PerTensor(1.0f / 255, 0));
  EXPECT_THAT(Softmax(in, 1.0f, out), IsErrorNaming("probabilities"));
}

TEST(SoftmaxTest, Int8OutputZeroPointMustBeMinus128) {
  auto in = Make<int8_t>(DType::kInt8, {2}, {1, 0}, "input", PerTensor(1.0f, 0));
  auto out = Output(DType::kInt8, {2}, "probabilities", PerTensor(1.0f / 256, 0));
  EXPECT_THAT(Softmax(in, 1.0f, out), IsErrorNaming("probabilities"));
}

TEST(SoftmaxTest, ShapeMismatchNamesOutput) {
  auto in = Make<float>(DType::kFloat32, {2}, {1, 0});
  auto out = Output(DType::kFloat32, {3}, "wide");
  EXPECT_THAT(Softmax(in, 1.0f, out), IsErrorNaming("wide"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
