// Sparse constants through the reader and the planner: the sparsity the reader
// exposes, its errors, and the DENSIFY fold running end to end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include <flatbuffers/flatbuffers.h>

#include "engine/interpreter.h"
#include "engine/model.h"
#include "engine/schema/tflite_subset_generated.h"

namespace edgepipe::engine {
namespace {

namespace fb = tflite_fb;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct SparseSpec {
  // The [4] constant, one CSR dimension: which of the 4 places hold a value.
  std::vector<uint8_t> segments = {0, 2};
  std::vector<uint8_t> indices = {1, 3};
  std::vector<float> values = {5.0f, 7.0f};
  bool add_reads_sparse = false;  // ADD takes the sparse constant itself, no DENSIFY
};

// input [4] + DENSIFY(sparse [4]) -> ADD -> output [4].
std::vector<uint8_t> BuildSparseModel(const SparseSpec& spec) {
  flatbuffers::FlatBufferBuilder b;
  auto data = b.CreateVector(reinterpret_cast<const uint8_t*>(spec.values.data()), spec.values.size() * sizeof(float));
  std::vector<flatbuffers::Offset<fb::Buffer>> buffers = {fb::CreateBuffer(b), fb::CreateBuffer(b, data)};
  auto segments = fb::CreateUint8VectorDirect(b, &spec.segments);
  auto indices = fb::CreateUint8VectorDirect(b, &spec.indices);
  std::vector<flatbuffers::Offset<fb::DimensionMetadata>> dims = {
      fb::CreateDimensionMetadata(b, fb::DimensionType::SPARSE_CSR, 0, fb::SparseIndexVector::Uint8Vector,
                                  segments.Union(), fb::SparseIndexVector::Uint8Vector, indices.Union())};
  auto sparsity = fb::CreateSparsityParameters(b, b.CreateVector(std::vector<int32_t>{0}), 0, b.CreateVector(dims));
  auto shape = [&] { return b.CreateVector(std::vector<int32_t>{4}); };
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors = {
      fb::CreateTensor(b, shape(), fb::TensorType::FLOAT32, 0, b.CreateString("input")),
      fb::CreateTensor(b, shape(), fb::TensorType::FLOAT32, 1, b.CreateString("sparse_bias"), 0, false, sparsity),
      fb::CreateTensor(b, shape(), fb::TensorType::FLOAT32, 0, b.CreateString("dense_bias")),
      fb::CreateTensor(b, shape(), fb::TensorType::FLOAT32, 0, b.CreateString("sum")),
  };
  std::vector<flatbuffers::Offset<fb::OperatorCode>> codes = {
      fb::CreateOperatorCode(b, 0, 0, 1, fb::BuiltinOperator::ADD),
      fb::CreateOperatorCode(b, 124, 0, 1, static_cast<fb::BuiltinOperator>(124)),
  };
  auto ints = [&](std::vector<int32_t> v) { return b.CreateVector(v); };
  std::vector<flatbuffers::Offset<fb::Operator>> ops;
  if (!spec.add_reads_sparse) ops.push_back(fb::CreateOperator(b, 1, ints({1}), ints({2})));
  ops.push_back(fb::CreateOperator(b, 0, ints({0, spec.add_reads_sparse ? 1 : 2}), ints({3}),
                                   fb::BuiltinOptions::AddOptions, fb::CreateAddOptions(b).Union()));
  auto subgraph = fb::CreateSubGraph(b, b.CreateVector(tensors), ints({0}), ints({3}), b.CreateVector(ops));
  auto model = fb::CreateModel(b, 3, b.CreateVector(codes), b.CreateVector(std::vector{subgraph}),
                               b.CreateString("sparse"), b.CreateVector(buffers));
  b.Finish(model, "TFL3");
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

TEST(SparseModelTest, ReaderExposesTheSparsity) {
  auto model = Model::FromBuffer(BuildSparseModel({}));
  ASSERT_TRUE(model.ok()) << model.status();
  const TensorInfo& t = (*model)->tensors()[1];
  ASSERT_TRUE(t.is_sparse());
  EXPECT_EQ(t.data_size, 2 * sizeof(float));
  EXPECT_THAT(t.sparsity->traversal_order, ElementsAre(0));
  EXPECT_TRUE(t.sparsity->block_map.empty());
  ASSERT_EQ(t.sparsity->dim_metadata.size(), 1u);
  const kernels::SparseDimension& dim = t.sparsity->dim_metadata[0];
  EXPECT_EQ(dim.format, kernels::SparseDimFormat::kSparseCsr);
  EXPECT_EQ(dim.indices.width(), 1);
  ASSERT_EQ(dim.indices.size(), 2u);
  EXPECT_EQ(dim.indices[0], 1);
  EXPECT_EQ(dim.indices[1], 3);
  EXPECT_EQ(dim.segments[1], 2);
  EXPECT_FALSE((*model)->tensors()[0].is_sparse());
}

TEST(SparseModelTest, DensifyIsFoldedAndRuns) {
  auto model = Model::FromBuffer(BuildSparseModel({}));
  ASSERT_TRUE(model.ok()) << model.status();
  auto interpreter = Interpreter::Create(*model);
  ASSERT_TRUE(interpreter.ok()) << interpreter.status();
  Interpreter& it = **interpreter;
  EXPECT_THAT(it.rewrites(), ::testing::Contains(HasSubstr("folded 1 constant DENSIFY")));
  const float in[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  std::memcpy(it.input(0).data, in, sizeof(in));
  ASSERT_TRUE(it.Invoke().ok());
  const float* out = it.output(0).as<const float>();
  EXPECT_THAT(std::vector<float>(out, out + 4), ElementsAre(1.0f, 7.0f, 3.0f, 11.0f));
}

TEST(SparseModelTest, IndexOutOfRangeNamesTheTensor) {
  SparseSpec spec;
  spec.indices = {1, 4};
  auto model = Model::FromBuffer(BuildSparseModel(spec));
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("tensor 1 'sparse_bias': sparsity"));
  EXPECT_THAT(model.status().message(), HasSubstr("array_indices[1] = 4 is out of range [0, 4)"));
}

TEST(SparseModelTest, SegmentsPastTheIndicesAreAnError) {
  SparseSpec spec;
  spec.segments = {0, 3};
  auto model = Model::FromBuffer(BuildSparseModel(spec));
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("'sparse_bias'"));
  EXPECT_THAT(model.status().message(), HasSubstr("past the 2 array_indices"));
}

TEST(SparseModelTest, ValueBytesMustMatchTheStoredCount) {
  SparseSpec spec;
  spec.values = {5.0f, 7.0f, 9.0f};
  auto model = Model::FromBuffer(BuildSparseModel(spec));
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("'sparse_bias': sparse constant data is 12 bytes"));
  EXPECT_THAT(model.status().message(), HasSubstr("stores 2 values"));
}

TEST(SparseModelTest, OtherOpsMayNotReadSparseConstants) {
  SparseSpec spec;
  spec.add_reads_sparse = true;
  auto model = Model::FromBuffer(BuildSparseModel(spec));
  ASSERT_TRUE(model.ok()) << model.status();
  auto interpreter = Interpreter::Create(*model);
  ASSERT_FALSE(interpreter.ok());
  EXPECT_THAT(interpreter.status().message(),
              HasSubstr("operator 0 (ADD): input 1 tensor 1 'sparse_bias' is a sparse constant"));
}

}  // namespace
}  // namespace edgepipe::engine
