#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

TEST(GatherNdTest, FullIndicesPickElements) {
  auto params = Make<float>(DType::kFloat32, {2, 2}, {1, 2, 3, 4}, "params");
  auto indices = Make<int32_t>(DType::kInt32, {2, 2}, {0, 0, 1, 1}, "indices");
  auto out = Output(DType::kFloat32, {2});
  ASSERT_THAT(GatherNd(params, indices, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(1, 4));
}

TEST(GatherNdTest, PartialIndicesPickRows) {
  auto params = Make<int32_t>(DType::kInt32, {2, 2}, {1, 2, 3, 4}, "params");
  auto indices = Make<int64_t>(DType::kInt64, {2, 1}, {1, 0}, "indices");
  auto out = Output(DType::kInt32, {2, 2});
  ASSERT_THAT(GatherNd(params, indices, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(3, 4, 1, 2));
}

TEST(GatherNdTest, KeypointStyleBatchIndices) {
  // params [1, 2, 3, 2] (N, H, W, C); indices [1, 2, 3] picking (0, y, x) -> [1, 2, 2].
  auto params = Make<float>(DType::kFloat32, {1, 2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, "params");
  auto indices = Make<int32_t>(DType::kInt32, {1, 2, 3}, {0, 1, 2, 0, 0, 1}, "indices");
  auto out = Output(DType::kFloat32, {1, 2, 2});
  ASSERT_THAT(GatherNd(params, indices, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(10, 11, 2, 3));
}

TEST(GatherNdTest, OutOfRangeIndexNamesIndices) {
  auto params = Make<float>(DType::kFloat32, {2, 2}, {1, 2, 3, 4}, "params");
  auto indices = Make<int32_t>(DType::kInt32, {1, 2}, {2, 0}, "bad_indices");
  auto out = Output(DType::kFloat32, {1});
  EXPECT_THAT(GatherNd(params, indices, out), IsErrorNaming("bad_indices"));
}

TEST(GatherNdTest, NegativeIndexIsAnError) {
  auto params = Make<float>(DType::kFloat32, {2}, {1, 2}, "params");
  auto indices = Make<int32_t>(DType::kInt32, {1, 1}, {-1}, "negative");
  auto out = Output(DType::kFloat32, {1});
  EXPECT_THAT(GatherNd(params, indices, out), IsErrorNaming("negative"));
}

TEST(GatherNdTest, FloatIndicesAreAnError) {
  auto params = Make<float>(DType::kFloat32, {2}, {1, 2}, "params");
  auto indices = Make<float>(DType::kFloat32, {1, 1}, {0}, "float_indices");
  auto out = Output(DType::kFloat32, {1});
  EXPECT_THAT(GatherNd(params, indices, out), IsErrorNaming("float_indices"));
}

TEST(GatherNdTest, WrongOutputShapeNamesOutput) {
  auto params = Make<float>(DType::kFloat32, {2, 2}, {1, 2, 3, 4}, "params");
  auto indices = Make<int32_t>(DType::kInt32, {2, 1}, {1, 0}, "indices");
  auto out = Output(DType::kFloat32, {2}, "gathered");
  EXPECT_THAT(GatherNd(params, indices, out), IsErrorNaming("gathered"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
