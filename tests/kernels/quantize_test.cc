#include <bit>
#include <cmath>
#include <limits>

#include "engine/kernels/kernel_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(QuantizeTest, FloatToUint8RoundsHalfAwayFromZeroAndClamps) {
  // scale 0.5 zp 10: 0 -> 10; 1.25 -> round(2.5) = 3 -> 13; -3 -> -6 -> 4; 200 -> 410 -> 255; -100 -> -190 -> 0.
  auto in = Make<float>(DType::kFloat32, {5}, {0.0f, 1.25f, -3.0f, 200.0f, -100.0f});
  auto out = Output(DType::kUInt8, {5}, "output", PerTensor(0.5f, 10));
  ASSERT_THAT(Quantize(in, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(10, 13, 4, 255, 0));
}

TEST(QuantizeTest, FloatToInt8) {
  // scale 0.5 zp -1: -0.75 -> round(-1.5) = -2 -> -3; 63 -> 126 -> 125; 64.5 -> 129 -> 128 -> 127.
  auto in = Make<float>(DType::kFloat32, {3}, {-0.75f, 63.0f, 64.5f});
  auto out = Output(DType::kInt8, {3}, "output", PerTensor(0.5f, -1));
  ASSERT_THAT(Quantize(in, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(-3, 125, 127));
}

TEST(QuantizeTest, FloatToInt8PerChannel) {
  Quantization q;
  q.scale = {1.0f, 0.5f};
  q.zero_point = {0, 0};
  q.axis = 0;
  auto in = Make<float>(DType::kFloat32, {2, 2}, {1, 2, 3, 4});
  auto out = Output(DType::kInt8, {2, 2}, "output", q);
  ASSERT_THAT(Quantize(in, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(1, 2, 6, 8));
}

TEST(QuantizeTest, NanAndHugeValuesDoNotOverflow) {
  auto in = Make<float>(DType::kFloat32, {3},
                        {std::numeric_limits<float>::quiet_NaN(), 1e30f, -std::numeric_limits<float>::infinity()});
  auto out = Output(DType::kInt8, {3}, "output", PerTensor(1.0f, 5));
  ASSERT_THAT(Quantize(in, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(5, 127, -128));
}

TEST(QuantizeTest, Uint8ToInt8SameScaleIsBitFlip) {
  auto in = Make<uint8_t>(DType::kUInt8, {3}, {0, 128, 255}, "input", PerTensor(0.1f, 128));
  auto out = Output(DType::kInt8, {3}, "output", PerTensor(0.1f, 0));
  ASSERT_THAT(Quantize(in, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(-128, 0, 127));
}

TEST(QuantizeTest, Int8ToUint8SameScaleIsBitFlip) {
  auto in = Make<int8_t>(DType::kInt8, {3}, {-128, 0, 127}, "input", PerTensor(0.1f, 0));
  auto out = Output(DType::kUInt8, {3}, "output", PerTensor(0.1f, 128));
  ASSERT_THAT(Quantize(in, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(0, 128, 255));
}

TEST(QuantizeTest, RequantizeToOtherScale) {
  // multiplier 0.5 (Q31 2^30, shift 0): 3 -> 1.5 -> 2; 4 -> 2; 5 -> 2.5 -> 3; 255 -> 127.5 -> 128.
  auto in = Make<uint8_t>(DType::kUInt8, {4}, {3, 4, 5, 255}, "input", PerTensor(0.5f, 0));
  auto out = Output(DType::kUInt8, {4}, "output", PerTensor(1.0f, 0));
  ASSERT_THAT(Quantize(in, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(2, 2, 3, 128));
}

TEST(QuantizeTest, RequantizeUint8ToInt8WithScaleAndZeroPoint) {
  // in: scale 1 zp 100; out: scale 2 zp -5. q = (q_in - 100) * 0.5 - 5 with gemmlowp's
  // SaturatingRoundingDoublingHighMul, which rounds exact halves toward +infinity:
  // 100 -> -5; 103 -> 1.5 -> 2 -> -3; 97 -> -1.5 -> -1 -> -6; 0 -> -50 -> -55.
  auto in = Make<uint8_t>(DType::kUInt8, {4}, {100, 103, 97, 0}, "input", PerTensor(1.0f, 100));
  auto out = Output(DType::kInt8, {4}, "output", PerTensor(2.0f, -5));
  ASSERT_THAT(Quantize(in, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(-5, -3, -6, -55));
}

TEST(QuantizeTest, FloatOutputIsAnError) {
  auto in = Make<float>(DType::kFloat32, {1}, {1.0f});
  auto out = Output(DType::kFloat32, {1}, "float_out");
  EXPECT_THAT(Quantize(in, out), IsErrorNaming("float_out"));
}

TEST(QuantizeTest, ShapeMismatchNamesOutput) {
  auto in = Make<float>(DType::kFloat32, {2}, {1.0f, 2.0f});
  auto out = Output(DType::kUInt8, {3}, "short_out", PerTensor(1.0f, 0));
  EXPECT_THAT(Quantize(in, out), IsErrorNaming("short_out"));
}

TEST(DequantizeTest, Uint8PerTensor) {
  auto in = Make<uint8_t>(DType::kUInt8, {3}, {128, 130, 0}, "input", PerTensor(0.5f, 128));
  auto out = Output(DType::kFloat32, {3});
  ASSERT_THAT(Dequantize(in, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(0.0f, 1.0f, -64.0f));
}

TEST(DequantizeTest, Int8PerChannel) {
  Quantization q;
  q.scale = {2.0f, 0.25f};
  q.zero_point = {0, 4};
  q.axis = 1;
  auto in = Make<int8_t>(DType::kInt8, {2, 2}, {3, 8, -1, 0}, "input", q);
  auto out = Output(DType::kFloat32, {2, 2});
  ASSERT_THAT(Dequantize(in, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(6.0f, 1.0f, -2.0f, -1.0f));
}

TEST(DequantizeTest, Float16) {
  // 0x3C00 = 1, 0xC000 = -2, 0x3555 = 0.333251953125, 0x0001 = 2^-24 (subnormal), 0x7C00 = inf, 0x8000 = -0.
  auto in = Make<uint16_t>(DType::kFloat16, {6}, {0x3C00, 0xC000, 0x3555, 0x0001, 0x7C00, 0x8000});
  auto out = Output(DType::kFloat32, {6});
  ASSERT_THAT(Dequantize(in, out), IsOk());
  const auto v = out.Values<float>();
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], 0.333251953125f);
  EXPECT_EQ(v[3], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(v[4]) && v[4] > 0);
  EXPECT_TRUE(v[5] == 0.0f && std::signbit(v[5]));
}

// Every binary16 value, through the bulk (F16C where available) path, against
// the scalar conversion checked by hand above: the same bits, NaN stays NaN.
TEST(DequantizeTest, Float16EveryValueMatchesTheScalarConversion) {
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  auto in = Make<uint16_t>(DType::kFloat16, {65536}, all);
  auto out = Output(DType::kFloat32, {65536});
  ASSERT_THAT(Dequantize(in, out), IsOk());
  const auto v = out.Values<float>();
  for (size_t i = 0; i < all.size(); ++i) {
    const float expected = internal::HalfToFloat(all[i]);
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(v[i])) << "half 0x" << std::hex << i;
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(v[i]), std::bit_cast<uint32_t>(expected)) << "half 0x" << std::hex << i;
    }
  }
}

TEST(DequantizeTest, NonFloatOutputIsAnError) {
  auto in = Make<uint8_t>(DType::kUInt8, {1}, {1}, "input", PerTensor(1.0f, 0));
  auto out = Output(DType::kInt32, {1}, "int_out");
  EXPECT_THAT(Dequantize(in, out), IsErrorNaming("int_out"));
}

TEST(DequantizeTest, MissingQuantizationNamesInput) {
  auto in = Make<uint8_t>(DType::kUInt8, {1}, {1}, "no_quant");
  auto out = Output(DType::kFloat32, {1});
  EXPECT_THAT(Dequantize(in, out), IsErrorNaming("no_quant"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
