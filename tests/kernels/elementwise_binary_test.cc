#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(FloorDivTest, Int32RoundsTowardMinusInfinity) {
  auto a = Make<int32_t>(DType::kInt32, {4}, {7, -7, 7, -7}, "a");
  auto b = Make<int32_t>(DType::kInt32, {4}, {2, 2, -2, -2}, "b");
  auto out = Output(DType::kInt32, {4});
  ASSERT_THAT(FloorDiv(a, b, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(3, -4, -4, 3));
}

TEST(FloorDivTest, Int32BroadcastsScalar) {
  auto a = Make<int32_t>(DType::kInt32, {2, 2}, {7, -7, 9, -9}, "a");
  auto b = Make<int32_t>(DType::kInt32, {1}, {2}, "b");
  auto out = Output(DType::kInt32, {2, 2});
  ASSERT_THAT(FloorDiv(a, b, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(3, -4, 4, -5));
}

TEST(FloorDivTest, Float) {
  auto a = Make<float>(DType::kFloat32, {2}, {7.5f, -7.5f}, "a");
  auto b = Make<float>(DType::kFloat32, {}, {2.0f}, "b");
  auto out = Output(DType::kFloat32, {2});
  ASSERT_THAT(FloorDiv(a, b, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(3.0f, -4.0f));
}

TEST(FloorDivTest, DivisionByZeroNamesDivisor) {
  auto a = Make<int32_t>(DType::kInt32, {2}, {1, 2}, "a");
  auto b = Make<int32_t>(DType::kInt32, {2}, {1, 0}, "divisor");
  auto out = Output(DType::kInt32, {2});
  EXPECT_THAT(FloorDiv(a, b, out), IsErrorNaming("divisor"));
}

TEST(BinaryInt32Test, AddSubMulBroadcastBothWays) {
  auto a = Make<int32_t>(DType::kInt32, {2, 1}, {1, 2}, "a");
  auto b = Make<int32_t>(DType::kInt32, {3}, {10, 20, 30}, "b");
  auto out = Output(DType::kInt32, {2, 3});
  ASSERT_THAT(Add(a, b, FusedActivation::kNone, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(11, 21, 31, 12, 22, 32));
  ASSERT_THAT(Sub(a, b, FusedActivation::kNone, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(-9, -19, -29, -8, -18, -28));
  ASSERT_THAT(Mul(a, b, FusedActivation::kNone, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(10, 20, 30, 20, 40, 60));
}

TEST(BinaryInt32Test, Relu6Activation) {
  auto a = Make<int32_t>(DType::kInt32, {3}, {-5, 3, 9}, "a");
  auto b = Make<int32_t>(DType::kInt32, {1}, {1}, "b");
  auto out = Output(DType::kInt32, {3});
  ASSERT_THAT(Add(a, b, FusedActivation::kRelu6, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(0, 4, 6));
}

TEST(BinaryInt32Test, DivTruncates) {
  auto a = Make<int32_t>(DType::kInt32, {2}, {7, -7}, "a");
  auto b = Make<int32_t>(DType::kInt32, {1}, {2}, "b");
  auto out = Output(DType::kInt32, {2});
  ASSERT_THAT(Div(a, b, FusedActivation::kNone, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(3, -3));
}

TEST(BinaryFloatTest, AddWithReluAndDiv) {
  auto a = Make<float>(DType::kFloat32, {2}, {-1.0f, 2.0f}, "a");
  auto b = Make<float>(DType::kFloat32, {1}, {0.5f}, "b");
  auto out = Output(DType::kFloat32, {2});
  ASSERT_THAT(Add(a, b, FusedActivation::kRelu, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(0.0f, 2.5f));
  ASSERT_THAT(Div(a, b, FusedActivation::kNone, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(-2.0f, 4.0f));
  ASSERT_THAT(Mul(a, b, FusedActivation::kReluN1To1, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(-0.5f, 1.0f));
}

TEST(BinaryFloatTest, Rank4Broadcast) {
  auto a = Make<float>(DType::kFloat32, {1, 2, 1, 2}, {1, 2, 3, 4}, "a");
  auto b = Make<float>(DType::kFloat32, {2, 1, 1, 1}, {10, 20}, "b");
  auto out = Output(DType::kFloat32, {2, 2, 1, 2});
  ASSERT_THAT(Sub(a, b, FusedActivation::kNone, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(-9, -8, -7, -6, -19, -18, -17, -16));
}

TEST(BinaryQuantizedTest, Uint8AddSubMul) {
  // a: scale 0.5 zp 0 -> {2, 5}; b: scale 0.25 zp 2 -> {1, -0.25}; out: scale 1 zp 10.
  auto a = Make<uint8_t>(DType::kUInt8, {2}, {4, 10}, "a", PerTensor(0.5f, 0));
  auto b = Make<uint8_t>(DType::kUInt8, {2}, {6, 1}, "b", PerTensor(0.25f, 2));
  auto out = Output(DType::kUInt8, {2}, "output", PerTensor(1.0f, 10));
  ASSERT_THAT(Add(a, b, FusedActivation::kNone, out), IsOk());  // 3 -> 13; 4.75 -> 5 -> 15
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(13, 15));
  ASSERT_THAT(Sub(a, b, FusedActivation::kNone, out), IsOk());  // 1 -> 11; 5.25 -> 5 -> 15
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(11, 15));
  ASSERT_THAT(Mul(a, b, FusedActivation::kNone, out), IsOk());  // 2 -> 12; -1.25 -> -1 -> 9
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(12, 9));
}

TEST(BinaryQuantizedTest, Int8AddWithReluClampsAtZeroPoint) {
  auto a = Make<int8_t>(DType::kInt8, {2}, {-5, 3}, "a", PerTensor(1.0f, 0));
  auto b = Make<int8_t>(DType::kInt8, {1}, {1}, "b", PerTensor(1.0f, 0));
  auto out = Output(DType::kInt8, {2}, "output", PerTensor(1.0f, 0));
  ASSERT_THAT(Add(a, b, FusedActivation::kRelu, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(0, 4));
}

TEST(BinaryQuantizedTest, Int8MulSaturates) {
  // 100 * 100 * (1 * 1 / 1) = 10000 -> 127.
  auto a = Make<int8_t>(DType::kInt8, {1}, {100}, "a", PerTensor(1.0f, 0));
  auto out = Output(DType::kInt8, {1}, "output", PerTensor(1.0f, 0));
  ASSERT_THAT(Mul(a, a, FusedActivation::kNone, out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(127));
}

TEST(BinaryTest, NonBroadcastableShapesNameTensors) {
  auto a = Make<float>(DType::kFloat32, {2}, {1, 2}, "left");
  auto b = Make<float>(DType::kFloat32, {3}, {1, 2, 3}, "right");
  auto out = Output(DType::kFloat32, {3});
  EXPECT_THAT(Add(a, b, FusedActivation::kNone, out), IsErrorNaming("left"));
}

TEST(BinaryTest, WrongOutputShapeNamesOutput) {
  auto a = Make<float>(DType::kFloat32, {2}, {1, 2}, "a");
  auto out = Output(DType::kFloat32, {3}, "sum");
  EXPECT_THAT(Add(a, a, FusedActivation::kNone, out), IsErrorNaming("sum"));
}

TEST(BinaryTest, DtypeMismatchNamesTensor) {
  auto a = Make<float>(DType::kFloat32, {1}, {1}, "a");
  auto b = Make<int32_t>(DType::kInt32, {1}, {1}, "int_operand");
  auto out = Output(DType::kFloat32, {1});
  EXPECT_THAT(Mul(a, b, FusedActivation::kNone, out), IsErrorNaming("int_operand"));
}

TEST(BinaryTest, QuantizedDivIsUnsupported) {
  auto a = Make<uint8_t>(DType::kUInt8, {1}, {1}, "a", PerTensor(1.0f, 0));
  auto out = Output(DType::kUInt8, {1}, "quotient", PerTensor(1.0f, 0));
  EXPECT_THAT(Div(a, a, FusedActivation::kNone, out), IsErrorNaming("quotient"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
