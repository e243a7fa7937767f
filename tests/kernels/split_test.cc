#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(SplitTest, EqualPartsAlongLastAxis) {
  auto in = Make<int32_t>(DType::kInt32, {2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  auto a = Output(DType::kInt32, {2, 2}, "a");
  auto b = Output(DType::kInt32, {2, 2}, "b");
  const TensorView* outputs[] = {&a.view, &b.view};
  ASSERT_THAT(Split(in, -1, outputs), IsOk());
  EXPECT_THAT(a.Values<int32_t>(), ElementsAre(0, 1, 4, 5));
  EXPECT_THAT(b.Values<int32_t>(), ElementsAre(2, 3, 6, 7));
}

TEST(SplitTest, AlongFirstAxisUint8) {
  auto in = Make<uint8_t>(DType::kUInt8, {3, 1}, {9, 8, 7});
  auto a = Output(DType::kUInt8, {1, 1}, "a");
  auto b = Output(DType::kUInt8, {1, 1}, "b");
  auto c = Output(DType::kUInt8, {1, 1}, "c");
  const TensorView* outputs[] = {&a.view, &b.view, &c.view};
  ASSERT_THAT(Split(in, 0, outputs), IsOk());
  EXPECT_THAT(a.Values<uint8_t>(), ElementsAre(9));
  EXPECT_THAT(b.Values<uint8_t>(), ElementsAre(8));
  EXPECT_THAT(c.Values<uint8_t>(), ElementsAre(7));
}

TEST(SplitTest, UnequalPartsAreAnErrorForSplit) {
  auto in = Make<int32_t>(DType::kInt32, {4}, {0, 1, 2, 3});
  auto a = Output(DType::kInt32, {1}, "a");
  auto b = Output(DType::kInt32, {3}, "uneven");
  const TensorView* outputs[] = {&a.view, &b.view};
  EXPECT_THAT(Split(in, 0, outputs), IsErrorNaming("uneven"));
}

TEST(SplitVTest, UnequalParts) {
  auto in = Make<float>(DType::kFloat32, {2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  auto a = Output(DType::kFloat32, {2, 1}, "a");
  auto b = Output(DType::kFloat32, {2, 3}, "b");
  const TensorView* outputs[] = {&a.view, &b.view};
  ASSERT_THAT(SplitV(in, 1, outputs), IsOk());
  EXPECT_THAT(a.Values<float>(), ElementsAre(0, 4));
  EXPECT_THAT(b.Values<float>(), ElementsAre(1, 2, 3, 5, 6, 7));
}

TEST(SplitVTest, SizesMustSumToInput) {
  auto in = Make<float>(DType::kFloat32, {4}, {0, 1, 2, 3});
  auto a = Output(DType::kFloat32, {1}, "a");
  auto b = Output(DType::kFloat32, {2}, "b");
  const TensorView* outputs[] = {&a.view, &b.view};
  EXPECT_THAT(SplitV(in, 0, outputs), IsErrorNaming("input"));
}

TEST(SplitTest, DtypeMismatchNamesOutput) {
  auto in = Make<float>(DType::kFloat32, {2}, {0, 1});
  auto a = Output(DType::kFloat32, {1}, "a");
  auto b = Output(DType::kInt32, {1}, "int_part");
  const TensorView* outputs[] = {&a.view, &b.view};
  EXPECT_THAT(Split(in, 0, outputs), IsErrorNaming("int_part"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
