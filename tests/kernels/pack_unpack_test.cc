#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(PackTest, AxisZeroStacksRows) {
  auto a = Make<int32_t>(DType::kInt32, {2}, {1, 2}, "a");
  auto b = Make<int32_t>(DType::kInt32, {2}, {3, 4}, "b");
  auto out = Output(DType::kInt32, {2, 2});
  const TensorView* inputs[] = {&a.view, &b.view};
  ASSERT_THAT(Pack(inputs, 0, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(1, 2, 3, 4));
}

TEST(PackTest, LastAxisInterleaves) {
  auto a = Make<float>(DType::kFloat32, {2}, {1, 2}, "a");
  auto b = Make<float>(DType::kFloat32, {2}, {3, 4}, "b");
  auto c = Make<float>(DType::kFloat32, {2}, {5, 6}, "c");
  auto out = Output(DType::kFloat32, {2, 3});
  const TensorView* inputs[] = {&a.view, &b.view, &c.view};
  ASSERT_THAT(Pack(inputs, -1, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(1, 3, 5, 2, 4, 6));
}

TEST(PackTest, InputShapeMismatchNamesInput) {
  auto a = Make<float>(DType::kFloat32, {2}, {1, 2}, "a");
  auto b = Make<float>(DType::kFloat32, {3}, {3, 4, 5}, "long_one");
  auto out = Output(DType::kFloat32, {2, 2});
  const TensorView* inputs[] = {&a.view, &b.view};
  EXPECT_THAT(Pack(inputs, 0, out), IsErrorNaming("long_one"));
}

TEST(PackTest, OutputShapeMismatchNamesOutput) {
  auto a = Make<float>(DType::kFloat32, {2}, {1, 2}, "a");
  auto out = Output(DType::kFloat32, {2, 2}, "packed");
  const TensorView* inputs[] = {&a.view};
  EXPECT_THAT(Pack(inputs, 0, out), IsErrorNaming("packed"));
}

TEST(UnpackTest, AxisOne) {
  auto in = Make<int32_t>(DType::kInt32, {2, 2}, {1, 2, 3, 4});
  auto a = Output(DType::kInt32, {2}, "a");
  auto b = Output(DType::kInt32, {2}, "b");
  const TensorView* outputs[] = {&a.view, &b.view};
  ASSERT_THAT(Unpack(in, 1, outputs), IsOk());
  EXPECT_THAT(a.Values<int32_t>(), ElementsAre(1, 3));
  EXPECT_THAT(b.Values<int32_t>(), ElementsAre(2, 4));
}

TEST(UnpackTest, AxisZeroRank3) {
  auto in = Make<float>(DType::kFloat32, {2, 1, 2}, {1, 2, 3, 4});
  auto a = Output(DType::kFloat32, {1, 2}, "a");
  auto b = Output(DType::kFloat32, {1, 2}, "b");
  const TensorView* outputs[] = {&a.view, &b.view};
  ASSERT_THAT(Unpack(in, 0, outputs), IsOk());
  EXPECT_THAT(a.Values<float>(), ElementsAre(1, 2));
  EXPECT_THAT(b.Values<float>(), ElementsAre(3, 4));
}

TEST(UnpackTest, WrongOutputCountNamesInput) {
  auto in = Make<int32_t>(DType::kInt32, {3, 2}, {1, 2, 3, 4, 5, 6}, "three_rows");
  auto a = Output(DType::kInt32, {2}, "a");
  const TensorView* outputs[] = {&a.view};
  EXPECT_THAT(Unpack(in, 0, outputs), IsErrorNaming("three_rows"));
}

TEST(UnpackTest, WrongOutputShapeNamesOutput) {
  auto in = Make<int32_t>(DType::kInt32, {2, 2}, {1, 2, 3, 4});
  auto a = Output(DType::kInt32, {2}, "a");
  auto b = Output(DType::kInt32, {3}, "bad_part");
  const TensorView* outputs[] = {&a.view, &b.view};
  EXPECT_THAT(Unpack(in, 0, outputs), IsErrorNaming("bad_part"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
