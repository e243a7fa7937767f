#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(ArgMaxTest, LastAxisTiesPickFirst) {
  auto in = Make<float>(DType::kFloat32, {2, 3}, {1, 5, 5, 7, 2, 9});
  auto out = Output(DType::kInt32, {2});
  ASSERT_THAT(ArgMax(in, -1, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(1, 2));
}

TEST(ArgMaxTest, FirstAxisInt64Output) {
  auto in = Make<float>(DType::kFloat32, {2, 3}, {1, 5, 5, 7, 2, 9});
  auto out = Output(DType::kInt64, {3});
  ASSERT_THAT(ArgMax(in, 0, out), IsOk());
  EXPECT_THAT(out.Values<int64_t>(), ElementsAre(1, 0, 1));
}

TEST(ArgMaxTest, Uint8ComparesQuantizedValues) {
  // Segmentation-style [1, H, W, C] -> [1, H, W].
  auto in = Make<uint8_t>(DType::kUInt8, {1, 1, 2, 3}, {10, 200, 30, 255, 0, 255}, "input", PerTensor(0.1f, 128));
  auto out = Output(DType::kInt64, {1, 1, 2});
  ASSERT_THAT(ArgMax(in, 3, out), IsOk());
  EXPECT_THAT(out.Values<int64_t>(), ElementsAre(1, 0));
}

TEST(ArgMinTest, LastAxis) {
  auto in = Make<int32_t>(DType::kInt32, {2, 3}, {1, 5, 1, 7, 2, 9});
  auto out = Output(DType::kInt32, {2});
  ASSERT_THAT(ArgMin(in, 1, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(0, 1));
}

TEST(ArgMaxTest, FloatOutputIsAnError) {
  auto in = Make<float>(DType::kFloat32, {3}, {1, 2, 3});
  auto out = Output(DType::kFloat32, {}, "float_index");
  EXPECT_THAT(ArgMax(in, 0, out), IsErrorNaming("float_index"));
}

TEST(ArgMaxTest, WrongOutputShapeNamesOutput) {
  auto in = Make<float>(DType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto out = Output(DType::kInt32, {3}, "indices");
  EXPECT_THAT(ArgMax(in, 1, out), IsErrorNaming("indices"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
