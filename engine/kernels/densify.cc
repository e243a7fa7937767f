// DENSIFY: TFLite sparse tensors (SparsityParameters) to dense tensors.
#include "engine/kernels/densify.h"

#include <algorithm>
#include <cstring>

#include <fmt/ranges.h>

#include "engine/kernels/kernel_util.h"

namespace edgepipe::engine::kernels {
namespace {

constexpr std::string_view kOp = "Densify";

// The walk recurses once per traversed dimension; real tensors have at most a
// handful, and a bound keeps a hostile file from exhausting the stack.
constexpr size_t kMaxExpandedDims = 16;
// Dense element counts past this cannot be allocated anyway; the bound keeps
// every offset and byte count below overflow.
constexpr int64_t kMaxDenseElements = int64_t{1} << 52;

const char* FormatName(SparseDimFormat format) {
  return format == SparseDimFormat::kDense ? "DENSE" : "SPARSE_CSR";
}

// What the walk needs per traversal level, derived once by Analyze.
struct Layout {
  std::vector<int64_t> level_size;    // size of the expanded dim traversed at each level
  std::vector<int64_t> level_stride;  // its step in the dense row-major tensor, in elements
  size_t num_values = 0;
};

Result<Layout> Analyze(const SparsityParams& s, std::span<const int32_t> shape) {
  const size_t n = shape.size();
  const size_t k = s.block_map.size();
  const size_t levels = n + k;
  if (levels > kMaxExpandedDims)
    return UnimplementedError("sparse tensor of rank {} with {} block dimensions: more than {} dimensions in all",
                              n, k, kMaxExpandedDims);
  if (k > n)
    return InvalidArgumentError("sparsity has {} block dimensions for a rank {} tensor", k, n);
  if (s.traversal_order.size() != levels)
    return InvalidArgumentError("traversal_order has {} entries, expected {} (rank {} + {} block dimensions)",
                                s.traversal_order.size(), levels, n, k);
  if (s.dim_metadata.size() != levels)
    return InvalidArgumentError("dim_metadata has {} entries, expected {} (one per traversed dimension)",
                                s.dim_metadata.size(), levels);

  // traversal_order must visit each expanded dimension exactly once.
  std::vector<int> level_of(levels, -1);
  for (size_t level = 0; level < levels; ++level) {
    const int32_t dim = s.traversal_order[level];
    if (dim < 0 || static_cast<size_t>(dim) >= levels || level_of[dim] >= 0)
      return InvalidArgumentError("traversal_order [{}] is not a permutation of 0..{}",
                                  fmt::join(s.traversal_order, ","), levels - 1);
    level_of[dim] = static_cast<int>(level);
  }

  // Row-major strides of the dense tensor, with an overflow-safe element count.
  std::vector<int64_t> stride(n, 1);
  int64_t total = 1;
  for (size_t d = n; d-- > 0;) {
    if (shape[d] < 0) return InvalidArgumentError("negative dimension {} in the dense shape", shape[d]);
    stride[d] = total;
    if (shape[d] > 0 && total > kMaxDenseElements / shape[d])
      return InvalidArgumentError("dense shape [{}] has too many elements", fmt::join(shape, ","));
    total *= shape[d];
  }

  // Expanded dims: a blocked dim d counts whole blocks (stride scaled by the
  // block size); block dim n+j is the position inside the block, with d's stride.
  std::vector<int64_t> esize(levels), estride(levels);
  for (size_t d = 0; d < n; ++d) esize[d] = shape[d], estride[d] = stride[d];
  std::vector<bool> blocked(n, false);
  for (size_t j = 0; j < k; ++j) {
    const int32_t d = s.block_map[j];
    if (d < 0 || static_cast<size_t>(d) >= n || blocked[d])
      return InvalidArgumentError("block_map [{}] must name distinct dimensions below {}",
                                  fmt::join(s.block_map, ","), n);
    blocked[d] = true;
    const int32_t block = s.dim_metadata[level_of[n + j]].dense_size;
    if (block <= 0 || shape[d] % block != 0)
      return InvalidArgumentError("block dimension {} has size {}, which does not divide dimension {} of size {}",
                                  n + j, block, d, shape[d]);
    esize[d] = shape[d] / block;
    estride[d] = stride[d] * block;
    esize[n + j] = block;
    estride[n + j] = stride[d];
  }

  // Count the nodes of each level of the traversal tree, checking every
  // segments/indices entry the walk will read.
  Layout layout;
  layout.level_size.resize(levels);
  layout.level_stride.resize(levels);
  int64_t nodes = 1;  // the root
  for (size_t level = 0; level < levels; ++level) {
    const SparseDimension& m = s.dim_metadata[level];
    const int32_t dim = s.traversal_order[level];
    const int64_t size = esize[dim];
    layout.level_size[level] = size;
    layout.level_stride[level] = estride[dim];
    auto where = [&] {
      return fmt::format("dim_metadata[{}] ({}, expanded dimension {} of size {})", level, FormatName(m.format),
                         dim, size);
    };
    if (m.format == SparseDimFormat::kDense) {
      if (m.dense_size != size)
        return InvalidArgumentError("{}: dense_size is {}", where(), m.dense_size);
      // Bounded by the dense element count: each level multiplies in one more dimension.
      nodes *= size;
      continue;
    }
    if (m.format != SparseDimFormat::kSparseCsr)
      return InvalidArgumentError("{}: unknown dimension format {}", where(), static_cast<int>(m.format));
    if (m.segments.size() != static_cast<size_t>(nodes) + 1)
      return InvalidArgumentError("{}: array_segments has {} entries, expected {} (one more than the {} parent nodes)",
                                  where(), m.segments.size(), nodes + 1, nodes);
    if (m.segments[0] != 0)
      return InvalidArgumentError("{}: array_segments starts at {}, not 0", where(), m.segments[0]);
    const int64_t num_indices = static_cast<int64_t>(m.indices.size());
    for (int64_t p = 0; p < nodes; ++p) {
      const int64_t begin = m.segments[p], end = m.segments[p + 1];
      if (end < begin || end > num_indices)
        return InvalidArgumentError("{}: array_segments[{}..{}] = {}..{} is decreasing or past the {} array_indices",
                                    where(), p, p + 1, begin, end, num_indices);
      // Sorted, distinct coordinates: each stored value has one place, and the
      // node count stays below the dense element count.
      for (int64_t i = begin; i < end; ++i) {
        const int64_t index = m.indices[i];
        if (index < 0 || index >= size)
          return InvalidArgumentError("{}: array_indices[{}] = {} is out of range [0, {})", where(), i, index, size);
        if (i > begin && index <= m.indices[i - 1])
          return InvalidArgumentError("{}: array_indices[{}] = {} does not increase within its segment", where(), i,
                                      index);
      }
    }
    if (m.segments[nodes] != num_indices)
      return InvalidArgumentError("{}: array_segments ends at {}, but there are {} array_indices", where(),
                                  m.segments[nodes], num_indices);
    nodes = num_indices;
  }
  layout.num_values = static_cast<size_t>(nodes);
  return layout;
}

// Depth-first over the traversal levels. Both DENSE and CSR children are
// numbered in traversal order, so a leaf's node number is the position of its
// value in the stored array.
class Walker {
 public:
  Walker(const SparsityParams& s, const Layout& layout, const uint8_t* values, uint8_t* out, size_t element_size)
      : s_(s), layout_(layout), values_(values), out_(out), element_size_(element_size) {}

  void Walk(size_t level, int64_t node, int64_t offset) {
    const SparseDimension& m = s_.dim_metadata[level];
    const int64_t stride = layout_.level_stride[level];
    const bool last = level + 1 == s_.dim_metadata.size();
    if (m.format == SparseDimFormat::kDense) {
      const int64_t size = layout_.level_size[level];
      for (int64_t i = 0; i < size; ++i) {
        if (last) {
          Place(node * size + i, offset + i * stride);
        } else {
          Walk(level + 1, node * size + i, offset + i * stride);
        }
      }
      return;
    }
    const int64_t end = m.segments[node + 1];
    for (int64_t i = m.segments[node]; i < end; ++i) {
      if (last) {
        Place(i, offset + m.indices[i] * stride);
      } else {
        Walk(level + 1, i, offset + m.indices[i] * stride);
      }
    }
  }

 private:
  void Place(int64_t value, int64_t offset) {
    std::memcpy(out_ + offset * element_size_, values_ + value * element_size_, element_size_);
  }

  const SparsityParams& s_;
  const Layout& layout_;
  const uint8_t* values_;
  uint8_t* out_;
  size_t element_size_;
};

}  // namespace

Result<size_t> CheckSparsity(const SparsityParams& sparsity, std::span<const int32_t> dense_shape) {
  EP_ASSIGN_OR_RETURN(const Layout layout, Analyze(sparsity, dense_shape));
  return layout.num_values;
}

Status Densify(const SparsityParams& sparsity, std::span<const uint8_t> values, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  auto layout = Analyze(sparsity, output.shape);
  if (!layout.ok())
    return layout.status().WithContext(fmt::format("{}: output {}", kOp, internal::Describe(output)));
  const size_t element_size = DTypeSize(output.dtype);
  if (values.size() != layout->num_values * element_size)
    return InvalidArgumentError("{}: output {}: {} bytes of values, but the sparsity stores {} values of {} bytes",
                                kOp, internal::Describe(output), values.size(), layout->num_values, element_size);
  auto* out = static_cast<uint8_t*>(output.data);
  // Places with no stored value are zero; zero bytes are zero in every element type.
  if (output.num_bytes() > 0) std::memset(out, 0, output.num_bytes());
  if (output.num_elements() == 0) return OkStatus();
  if (sparsity.dim_metadata.empty()) {  // a scalar: no level to walk, its one value stored as is
    std::memcpy(out, values.data(), element_size);
    return OkStatus();
  }
  Walker(sparsity, *layout, values.data(), out, element_size).Walk(0, 0, 0);
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
