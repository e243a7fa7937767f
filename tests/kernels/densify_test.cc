// Densify: TFLite sparse tensors expanded to dense ones, on hand-worked examples.
#include "engine/kernels/densify.h"

#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

SparseDimension Dense(int32_t size) {
  SparseDimension d;
  d.format = SparseDimFormat::kDense;
  d.dense_size = size;
  return d;
}

// The arrays must outlive the SparsityParams (they are read in place).
template <typename Index>
SparseDimension Csr(const std::vector<Index>& segments, const std::vector<Index>& indices) {
  SparseDimension d;
  d.format = SparseDimFormat::kSparseCsr;
  d.segments = SparseIndexArray(std::span<const Index>(segments));
  d.indices = SparseIndexArray(std::span<const Index>(indices));
  return d;
}

template <typename T>
std::span<const uint8_t> Bytes(const std::vector<T>& values) {
  return {reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(T)};
}

// [[0, 1, 0, 2],
//  [0, 0, 0, 0],
//  [3, 0, 4, 5]]  rows DENSE, columns CSR: row r's columns are indices[seg[r]..seg[r+1]).
TEST(DensifyTest, CsrMatrix) {
  const std::vector<int32_t> segments = {0, 2, 2, 5}, indices = {1, 3, 0, 2, 3};
  SparsityParams s{{0, 1}, {}, {Dense(3), Csr(segments, indices)}};
  const std::vector<float> values = {1, 2, 3, 4, 5};
  ASSERT_THAT(CheckSparsity(s, std::vector<int32_t>{3, 4}).value_or(0), 5u);
  auto out = Output(DType::kFloat32, {3, 4});
  ASSERT_THAT(Densify(s, Bytes(values), out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 4, 5));
}

// [[1, 0, 2],
//  [0, 3, 4]]  stored column by column (traversal [1, 0]): columns DENSE, rows CSR.
TEST(DensifyTest, CsrColumnMajor) {
  const std::vector<int32_t> segments = {0, 1, 2, 4}, indices = {0, 1, 0, 1};
  SparsityParams s{{1, 0}, {}, {Dense(3), Csr(segments, indices)}};
  const std::vector<int32_t> values = {1, 3, 2, 4};
  auto out = Output(DType::kInt32, {2, 3});
  ASSERT_THAT(Densify(s, Bytes(values), out), IsOk());
  EXPECT_THAT(out.Values<int32_t>(), ElementsAre(1, 0, 2, 0, 3, 4));
}

// 4x4 in 2x2 blocks: block rows DENSE, block columns CSR, inside a block dense.
// [[1, 2, 0, 0],
//  [3, 4, 0, 0],
//  [0, 0, 5, 6],
//  [0, 0, 7, 8]]
TEST(DensifyTest, BlockSparse) {
  const std::vector<int32_t> segments = {0, 1, 2}, indices = {0, 1};
  SparsityParams s{{0, 1, 2, 3}, {0, 1}, {Dense(2), Csr(segments, indices), Dense(2), Dense(2)}};
  const std::vector<float> values = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_THAT(CheckSparsity(s, std::vector<int32_t>{4, 4}).value_or(0), 8u);
  auto out = Output(DType::kFloat32, {4, 4});
  ASSERT_THAT(Densify(s, Bytes(values), out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8));
}

// 2x6 in 1x3 blocks (only the columns are blocked); block (1, 0) is absent.
// [[1, 2, 3, 4, 5, 6],
//  [0, 0, 0, 7, 8, 9]]
TEST(DensifyTest, BlockSparseOneBlockedDimension) {
  const std::vector<uint8_t> segments = {0, 2, 3}, indices = {0, 1, 1};
  SparsityParams s{{0, 1, 2}, {1}, {Dense(2), Csr(segments, indices), Dense(3)}};
  const std::vector<int8_t> values = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto out = Output(DType::kInt8, {2, 6});
  ASSERT_THAT(Densify(s, Bytes(values), out), IsOk());
  EXPECT_THAT(out.Values<int8_t>(), ElementsAre(1, 2, 3, 4, 5, 6, 0, 0, 0, 7, 8, 9));
}

// The 4x4 above, but each 2x2 block traversed column by column ([0, 1, 3, 2]).
TEST(DensifyTest, BlockTraversedColumnMajor) {
  const std::vector<int32_t> segments = {0, 1, 2}, indices = {0, 1};
  SparsityParams s{{0, 1, 3, 2}, {0, 1}, {Dense(2), Csr(segments, indices), Dense(2), Dense(2)}};
  const std::vector<float> values = {1, 3, 2, 4, 5, 7, 6, 8};
  auto out = Output(DType::kFloat32, {4, 4});
  ASSERT_THAT(Densify(s, Bytes(values), out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8));
}

TEST(DensifyTest, AllDenseIsACopy) {
  SparsityParams s{{0, 1}, {}, {Dense(2), Dense(3)}};
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  auto out = Output(DType::kFloat32, {2, 3});
  ASSERT_THAT(Densify(s, Bytes(values), out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAreArray(values));
}

TEST(DensifyTest, AllDenseTransposed) {
  SparsityParams s{{1, 0}, {}, {Dense(3), Dense(2)}};
  const std::vector<float> values = {1, 4, 2, 5, 3, 6};  // column by column
  auto out = Output(DType::kFloat32, {2, 3});
  ASSERT_THAT(Densify(s, Bytes(values), out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAre(1, 2, 3, 4, 5, 6));
}

// Uint16 segments/indices, fp16 values (copied as raw 16-bit patterns), rank 3.
TEST(DensifyTest, Uint16IndicesFloat16Values) {
  // Shape [2, 2, 3]: dims 0, 1 DENSE, dim 2 CSR.
  const std::vector<uint16_t> segments = {0, 1, 1, 3, 4}, indices = {2, 0, 1, 1};
  SparsityParams s{{0, 1, 2}, {}, {Dense(2), Dense(2), Csr(segments, indices)}};
  const std::vector<uint16_t> values = {0x3C00, 0x4000, 0x4200, 0xC400};  // 1, 2, 3, -4
  ASSERT_THAT(CheckSparsity(s, std::vector<int32_t>{2, 2, 3}).value_or(0), 4u);
  auto out = Output(DType::kFloat16, {2, 2, 3});
  ASSERT_THAT(Densify(s, Bytes(values), out), IsOk());
  EXPECT_THAT(out.Values<uint16_t>(), ElementsAre(0, 0, 0x3C00, 0, 0, 0, 0x4000, 0x4200, 0, 0, 0xC400, 0));
}

// Two CSR levels (a sparse vector of sparse rows), uint8 indices, uint8 values.
TEST(DensifyTest, TwoCsrLevelsUint8) {
  // [[0, 0, 0], [7, 0, 9], [0, 0, 0], [0, 5, 0]]: rows 1 and 3 present.
  const std::vector<uint8_t> row_segments = {0, 2}, rows = {1, 3};
  const std::vector<uint8_t> col_segments = {0, 2, 3}, cols = {0, 2, 1};
  SparsityParams s{{0, 1}, {}, {Csr(row_segments, rows), Csr(col_segments, cols)}};
  const std::vector<uint8_t> values = {7, 9, 5};
  auto out = Output(DType::kUInt8, {4, 3});
  ASSERT_THAT(Densify(s, Bytes(values), out), IsOk());
  EXPECT_THAT(out.Values<uint8_t>(), ElementsAre(0, 0, 0, 7, 0, 9, 0, 0, 0, 0, 5, 0));
}

class DensifyErrorTest : public ::testing::Test {
 protected:
  // Densifies the 3x4 CSR matrix of CsrMatrix with the given arrays.
  Status Run(std::vector<int32_t> segments, std::vector<int32_t> indices, size_t num_values = 5,
             std::vector<int32_t> traversal = {0, 1}, int32_t rows = 3) {
    segments_ = std::move(segments);
    indices_ = std::move(indices);
    SparsityParams s{std::move(traversal), {}, {Dense(rows), Csr(segments_, indices_)}};
    values_.assign(num_values, 1.0f);
    out_ = std::make_unique<TestTensor>(DType::kFloat32, std::vector<int32_t>{3, 4}, "weights");
    return Densify(s, Bytes(values_), *out_);
  }
  std::vector<int32_t> segments_, indices_;
  std::vector<float> values_;
  std::unique_ptr<TestTensor> out_;
};

TEST_F(DensifyErrorTest, IndexOutOfRange) {
  Status s = Run({0, 2, 2, 5}, {1, 4, 0, 2, 3});
  EXPECT_THAT(s, IsErrorNaming("weights"));
  EXPECT_THAT(s.message(), HasSubstr("array_indices[1] = 4 is out of range [0, 4)"));
}

TEST_F(DensifyErrorTest, NegativeIndex) {
  EXPECT_THAT(Run({0, 2, 2, 5}, {1, -1, 0, 2, 3}).message(), HasSubstr("out of range"));
}

TEST_F(DensifyErrorTest, DecreasingSegments) {
  Status s = Run({0, 2, 1, 5}, {1, 3, 0, 2, 3});
  EXPECT_THAT(s, IsErrorNaming("weights"));
  EXPECT_THAT(s.message(), HasSubstr("decreasing"));
}

TEST_F(DensifyErrorTest, SegmentsPastIndices) {
  EXPECT_THAT(Run({0, 2, 2, 6}, {1, 3, 0, 2, 3}).message(), HasSubstr("past the 5 array_indices"));
}

TEST_F(DensifyErrorTest, SegmentsOfWrongLength) {
  EXPECT_THAT(Run({0, 2, 5}, {1, 3, 0, 2, 3}).message(), HasSubstr("array_segments has 3 entries, expected 4"));
}

TEST_F(DensifyErrorTest, SegmentsNotStartingAtZero) {
  EXPECT_THAT(Run({1, 2, 2, 5}, {1, 3, 0, 2, 3}).message(), HasSubstr("starts at 1"));
}

TEST_F(DensifyErrorTest, SegmentsNotEndingAtIndices) {
  EXPECT_THAT(Run({0, 2, 2, 4}, {1, 3, 0, 2, 3}).message(), HasSubstr("ends at 4"));
}

TEST_F(DensifyErrorTest, RepeatedIndex) {
  EXPECT_THAT(Run({0, 2, 2, 5}, {1, 1, 0, 2, 3}).message(), HasSubstr("does not increase"));
}

TEST_F(DensifyErrorTest, WrongValueCount) {
  Status s = Run({0, 2, 2, 5}, {1, 3, 0, 2, 3}, 6);
  EXPECT_THAT(s, IsErrorNaming("weights"));
  EXPECT_THAT(s.message(), HasSubstr("stores 5 values"));
}

TEST_F(DensifyErrorTest, TraversalNotAPermutation) {
  EXPECT_THAT(Run({0, 2, 2, 5}, {1, 3, 0, 2, 3}, 5, {0, 0}).message(), HasSubstr("not a permutation"));
  EXPECT_THAT(Run({0, 2, 2, 5}, {1, 3, 0, 2, 3}, 5, {0, 2}).message(), HasSubstr("not a permutation"));
  EXPECT_THAT(Run({0, 2, 2, 5}, {1, 3, 0, 2, 3}, 5, {0}).message(), HasSubstr("traversal_order has 1 entries"));
}

TEST_F(DensifyErrorTest, DenseSizeMismatch) {
  EXPECT_THAT(Run({0, 2, 2, 5}, {1, 3, 0, 2, 3}, 5, {0, 1}, 2).message(), HasSubstr("dense_size is 2"));
}

TEST(DensifyBlockErrorTest, BlockSizeMustDivideTheDimension) {
  const std::vector<int32_t> segments = {0, 1, 2}, indices = {0, 1};
  SparsityParams s{{0, 1, 2, 3}, {0, 1}, {Dense(2), Csr(segments, indices), Dense(2), Dense(3)}};
  auto result = CheckSparsity(s, std::vector<int32_t>{4, 4});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("does not divide dimension 1 of size 4"));
}

TEST(DensifyBlockErrorTest, BlockMapMustNameDistinctDimensions) {
  SparsityParams s{{0, 1, 2, 3}, {1, 1}, {Dense(2), Dense(2), Dense(2), Dense(2)}};
  auto result = CheckSparsity(s, std::vector<int32_t>{4, 4});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("block_map [1,1]"));
}

TEST(DensifyBlockErrorTest, HugeShapeIsAnError) {
  SparsityParams s{{0, 1, 2}, {}, {Dense(1 << 30), Dense(1 << 30), Dense(1 << 30)}};
  auto result = CheckSparsity(s, std::vector<int32_t>{1 << 30, 1 << 30, 1 << 30});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("too many elements"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
