// The 8-bit kernels switch to lookup tables (and ARG_MAX to packed keys) on
// large tensors. Each test runs a tensor big enough to take the fast path and
// checks every element against the same kernel on one element at a time, which
// takes the direct arithmetic path.
#include <cstdint>
#include <vector>

#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

template <typename T>
std::vector<T> AllValuesRepeated(size_t count) {
  std::vector<T> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = static_cast<T>(static_cast<uint8_t>(i * 7 + i / 256));
  return values;
}

// Movenet's shape: an image minus a per-channel constant ([1,1,1,C] broadcast).
TEST(TablePathTest, Int8BroadcastSubMatchesElementwiseArithmetic) {
  const Quantization qa = PerTensor(0.0078125f, -3), qb = PerTensor(0.37f, 11), qo = PerTensor(0.0213f, 5);
  const std::vector<int8_t> a_values = AllValuesRepeated<int8_t>(32 * 32 * 3);
  const std::vector<int8_t> b_values = {-128, 17, 127};
  auto a = Make<int8_t>(DType::kInt8, {1, 32, 32, 3}, a_values, "a", qa);
  auto b = Make<int8_t>(DType::kInt8, {1, 1, 1, 3}, b_values, "b", qb);
  auto out = Output(DType::kInt8, {1, 32, 32, 3}, "output", qo);
  for (BinaryOp op : {BinaryOp::kSub, BinaryOp::kAdd, BinaryOp::kMul}) {
    ASSERT_THAT(ElementwiseBinary(op, a, b, FusedActivation::kRelu6, out), IsOk());
    // Same op, small operand first, so the table is built over the other side.
    auto reversed = Output(DType::kInt8, {1, 32, 32, 3}, "reversed", qo);
    ASSERT_THAT(ElementwiseBinary(op, b, a, FusedActivation::kNone, reversed), IsOk());
    const std::vector<int8_t> got = out.Values<int8_t>(), got_reversed = reversed.Values<int8_t>();
    for (size_t i = 0; i < a_values.size(); ++i) {
      auto one_a = Make<int8_t>(DType::kInt8, {1}, {a_values[i]}, "a", qa);
      auto one_b = Make<int8_t>(DType::kInt8, {1}, {b_values[i % 3]}, "b", qb);
      auto one_out = Output(DType::kInt8, {1}, "output", qo);
      ASSERT_THAT(ElementwiseBinary(op, one_a, one_b, FusedActivation::kRelu6, one_out), IsOk());
      ASSERT_EQ(got[i], one_out.Values<int8_t>()[0]) << "element " << i << " op " << static_cast<int>(op);
      ASSERT_THAT(ElementwiseBinary(op, one_b, one_a, FusedActivation::kNone, one_out), IsOk());
      ASSERT_EQ(got_reversed[i], one_out.Values<int8_t>()[0]) << "reversed element " << i;
    }
  }
}

TEST(TablePathTest, Uint8RequantizeMatchesElementwiseArithmetic) {
  const Quantization qi = PerTensor(0.0474f, 131), qo = PerTensor(0.0391f, 120);
  const std::vector<uint8_t> values = AllValuesRepeated<uint8_t>(4096);
  auto in = Make<uint8_t>(DType::kUInt8, {4096}, values, "input", qi);
  auto out = Output(DType::kUInt8, {4096}, "output", qo);
  ASSERT_THAT(Quantize(in, out), IsOk());
  const std::vector<uint8_t> got = out.Values<uint8_t>();
  for (size_t i = 0; i < values.size(); ++i) {
    auto one_in = Make<uint8_t>(DType::kUInt8, {1}, {values[i]}, "input", qi);
    auto one_out = Output(DType::kUInt8, {1}, "output", qo);
    ASSERT_THAT(Quantize(one_in, one_out), IsOk());
    ASSERT_EQ(got[i], one_out.Values<uint8_t>()[0]) << "element " << i;
  }
}

// Contiguous 8-bit axis: ties resolve to the lowest index, for max and min,
// signed and unsigned (the packed-key path).
TEST(TablePathTest, ArgMaxArgMinOnContiguous8BitAxisPickLowestIndexOnTies) {
  auto u = Make<uint8_t>(DType::kUInt8, {3, 4}, {5, 9, 9, 1, 0, 0, 0, 0, 255, 3, 255, 0}, "u");
  auto s = Make<int8_t>(DType::kInt8, {3, 4}, {-5, 7, 7, -128, -1, -1, -1, -1, 127, -128, -128, 127}, "s");
  auto out = Output(DType::kInt32, {3});
  ASSERT_THAT(ArgMax(u, 1, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ::testing::ElementsAre(1, 0, 0));
  ASSERT_THAT(ArgMin(u, 1, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ::testing::ElementsAre(3, 0, 3));
  ASSERT_THAT(ArgMax(s, 1, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ::testing::ElementsAre(1, 0, 0));
  ASSERT_THAT(ArgMin(s, 1, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ::testing::ElementsAre(3, 0, 1));
}

// Strided axis (movenet's [1, 2304, 17] over axis 1): row sweeps keep the first best.
TEST(TablePathTest, ArgMaxOverStridedAxisKeepsFirstBest) {
  auto in = Make<float>(DType::kFloat32, {1, 3, 2}, {1.0f, 4.0f, 3.0f, 4.0f, 3.0f, -1.0f}, "in");
  auto out = Output(DType::kInt64, {1, 2});
  ASSERT_THAT(ArgMax(in, 1, out), IsOk());
  EXPECT_THAT(out.Values<int64_t>(), ::testing::ElementsAre(1, 0));
  ASSERT_THAT(ArgMin(in, 1, out), IsOk());
  EXPECT_THAT(out.Values<int64_t>(), ::testing::ElementsAre(0, 2));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
