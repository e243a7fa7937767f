#include <numeric>

#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;

std::vector<int32_t> Iota(int n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

Status Slice(const TestTensor& in, std::vector<int32_t> begin, std::vector<int32_t> end, std::vector<int32_t> strides,
             StridedSliceOptions options, const TestTensor& out) {
  return StridedSlice(in, begin, end, strides, options, out);
}

TEST(StridedSliceTest, PositiveStride) {
  auto in = Make<int32_t>(DType::kInt32, {8}, Iota(8));
  auto out = Output(DType::kInt32, {3});
  ASSERT_THAT(Slice(in, {1}, {7}, {2}, {}, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(1, 3, 5));
}

TEST(StridedSliceTest, NegativeStrideAndNegativeBegin) {
  // [-1:0:-1] -> 7..1
  auto in = Make<int32_t>(DType::kInt32, {8}, Iota(8));
  auto out = Output(DType::kInt32, {7});
  ASSERT_THAT(Slice(in, {-1}, {0}, {-1}, {}, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(7, 6, 5, 4, 3, 2, 1));
}

TEST(StridedSliceTest, MasksSelectWholeAxisReversed) {
  // [::-3] via begin/end masks -> 7, 4, 1
  auto in = Make<int32_t>(DType::kInt32, {8}, Iota(8));
  auto out = Output(DType::kInt32, {3});
  StridedSliceOptions o;
  o.begin_mask = 1;
  o.end_mask = 1;
  ASSERT_THAT(Slice(in, {5}, {5}, {-3}, o, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(7, 4, 1));
}

TEST(StridedSliceTest, EndIsClamped) {
  auto in = Make<int32_t>(DType::kInt32, {4}, Iota(4));
  auto out = Output(DType::kInt32, {2});
  ASSERT_THAT(Slice(in, {2}, {100}, {1}, {}, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(2, 3));
}

TEST(StridedSliceTest, ShrinkAxisDropsDimension) {
  // x[1, :] of a [3, 4] tensor -> [4]
  auto in = Make<int32_t>(DType::kInt32, {3, 4}, Iota(12));
  auto out = Output(DType::kInt32, {4});
  StridedSliceOptions o;
  o.shrink_axis_mask = 1;
  ASSERT_THAT(Slice(in, {1, 0}, {2, 4}, {1, 1}, o, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(4, 5, 6, 7));
}

TEST(StridedSliceTest, ShrinkWithNegativeIndex) {
  // x[:, -1] of [3, 4] -> [3] = 3, 7, 11 (the end value is ignored for shrunk axes).
  auto in = Make<int32_t>(DType::kInt32, {3, 4}, Iota(12));
  auto out = Output(DType::kInt32, {3});
  StridedSliceOptions o;
  o.begin_mask = 1;
  o.end_mask = 1;
  o.shrink_axis_mask = 2;
  ASSERT_THAT(Slice(in, {0, -1}, {0, 0}, {1, 1}, o, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(3, 7, 11));
}

TEST(StridedSliceTest, EllipsisExpandsLeadingAxes) {
  // x[..., 1:2] of [2, 3, 2] -> [2, 3, 1] = odd elements.
  auto in = Make<float>(DType::kFloat32, {2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto out = Output(DType::kFloat32, {2, 3, 1});
  StridedSliceOptions o;
  o.ellipsis_mask = 1;
  ASSERT_THAT(Slice(in, {0, 1}, {0, 2}, {1, 1}, o, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(1, 3, 5, 7, 9, 11));
}

TEST(StridedSliceTest, NewAxisInsertsDimension) {
  // x[tf.newaxis, :] of [2] -> [1, 2]
  auto in = Make<int32_t>(DType::kInt32, {2}, {4, 5});
  auto out = Output(DType::kInt32, {1, 2});
  StridedSliceOptions o;
  o.new_axis_mask = 1;
  o.begin_mask = 2;
  o.end_mask = 2;
  ASSERT_THAT(Slice(in, {0, 0}, {0, 0}, {1, 1}, o, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(4, 5));
}

TEST(StridedSliceTest, OffsetMakesEndRelative) {
  // offset: end = begin + end = 1 + 2 = 3 -> elements 1, 2.
  auto in = Make<int32_t>(DType::kInt32, {5}, Iota(5));
  auto out = Output(DType::kInt32, {2});
  StridedSliceOptions o;
  o.offset = true;
  ASSERT_THAT(Slice(in, {1}, {2}, {1}, o, out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(1, 2));
}

TEST(StridedSliceTest, TrailingAxesAreFullySelected) {
  // x[1:3] of [4, 2] -> rows 1, 2
  auto in = Make<uint8_t>(DType::kUInt8, {4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  auto out = Output(DType::kUInt8, {2, 2});
  ASSERT_THAT(Slice(in, {1}, {3}, {1}, {}, out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(2, 3, 4, 5));
}

TEST(StridedSliceTest, WrongOutputShapeNamesOutput) {
  auto in = Make<int32_t>(DType::kInt32, {8}, Iota(8));
  auto out = Output(DType::kInt32, {4}, "sliced");
  EXPECT_THAT(Slice(in, {1}, {7}, {2}, {}, out), IsErrorNaming("sliced"));
}

TEST(StridedSliceTest, ZeroStrideIsAnError) {
  auto in = Make<int32_t>(DType::kInt32, {8}, Iota(8), "zero_stride_input");
  auto out = Output(DType::kInt32, {1});
  EXPECT_THAT(Slice(in, {1}, {2}, {0}, {}, out), IsErrorNaming("zero_stride_input"));
}

TEST(StridedSliceTest, MismatchedSpecLengthsAreAnError) {
  auto in = Make<int32_t>(DType::kInt32, {8}, Iota(8), "spec_input");
  auto out = Output(DType::kInt32, {1});
  EXPECT_THAT(Slice(in, {1}, {2, 3}, {1}, {}, out), IsErrorNaming("spec_input"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
