#include <cmath>
#include <limits>

#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(CastTest, FloatToInt32TruncatesAndSaturates) {
  auto in = Make<float>(DType::kFloat32, {5}, {1.7f, -1.7f, 0.0f, 3e10f, std::numeric_limits<float>::quiet_NaN()});
  auto out = Output(DType::kInt32, {5});
  ASSERT_THAT(Cast(in, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(1, -1, 0, std::numeric_limits<int32_t>::max(), 0));
}

TEST(CastTest, Int32ToFloatAndInt64) {
  auto in = Make<int32_t>(DType::kInt32, {3}, {-3, 0, 16777217});
  auto f = Output(DType::kFloat32, {3});
  auto l = Output(DType::kInt64, {3});
  ASSERT_THAT(Cast(in, f), IsOk());
  ASSERT_THAT(Cast(in, l), IsOk());
  EXPECT_THAT(f.Values<float>(), ElementsAre(-3.0f, 0.0f, 16777216.0f));
  EXPECT_THAT(l.Values<int64_t>(), ElementsAre(-3, 0, 16777217));
}

TEST(CastTest, ToBoolIsNonZero) {
  auto in = Make<int32_t>(DType::kInt32, {3}, {0, 1, -3});
  auto out = Output(DType::kBool, {3});
  ASSERT_THAT(Cast(in, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(0, 1, 1));
}

TEST(CastTest, FromBool) {
  auto in = Make<uint8_t>(DType::kBool, {2}, {0, 1});
  auto out = Output(DType::kFloat32, {2});
  ASSERT_THAT(Cast(in, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(0.0f, 1.0f));
}

TEST(CastTest, IntegerNarrowingWraps) {
  auto in = Make<int32_t>(DType::kInt32, {2}, {300, -1});
  auto u8 = Output(DType::kUInt8, {2});
  auto i8 = Output(DType::kInt8, {2});
  ASSERT_THAT(Cast(in, u8), IsOk());
  ASSERT_THAT(Cast(in, i8), IsOk());
  EXPECT_THAT(u8.Values<uint8_t>(), ElementsAre(44, 255));
  EXPECT_THAT(i8.Values<int8_t>(), ElementsAre(44, -1));
}

TEST(CastTest, Uint8ToInt32) {
  auto in = Make<uint8_t>(DType::kUInt8, {2}, {0, 255});
  auto out = Output(DType::kInt32, {2});
  ASSERT_THAT(Cast(in, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(0, 255));
}

TEST(CastTest, ShapeMismatchNamesOutput) {
  auto in = Make<int32_t>(DType::kInt32, {2}, {1, 2});
  auto out = Output(DType::kFloat32, {3}, "cast_out");
  EXPECT_THAT(Cast(in, out), IsErrorNaming("cast_out"));
}

TEST(CastTest, UnsupportedDtypeNamesTensor) {
  auto in = Make<uint16_t>(DType::kFloat16, {1}, {0x3C00}, "half_in");
  auto out = Output(DType::kFloat32, {1});
  EXPECT_THAT(Cast(in, out), IsErrorNaming("half_in"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
