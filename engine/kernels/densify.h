// DENSIFY: TFLite's sparse constant tensors (SparsityParameters) expanded into
// dense row-major tensors. The planner folds these at load time; the reader
// uses CheckSparsity so that a model it accepts can always be densified.
//
// The format, as the TFLite schema defines it: a dense tensor of rank n may be
// split into blocks along k of its dimensions (block_map[j] names the original
// dimension that block dimension n+j subdivides). That gives n+k "expanded"
// dimensions: 0..n-1 (the original ones, counted in blocks where blocked) and
// n..n+k-1 (the position inside a block). traversal_order is a permutation of
// the expanded dimensions, outermost first; dim_metadata[i] describes the i-th
// traversed dimension: DENSE (every coordinate 0..dense_size-1 is present) or
// SPARSE_CSR (the coordinates present under parent node p are
// indices[segments[p] .. segments[p+1]-1]). The stored values are the leaves of
// that traversal, in order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "core/status.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine::kernels {

// A segments or indices vector as the file stores it (Int32Vector, Uint16Vector
// or Uint8Vector), read in place: large sparse weights carry millions of indices,
// and converting them all to int32 would double the model's footprint.
class SparseIndexArray {
 public:
  SparseIndexArray() = default;
  explicit SparseIndexArray(std::span<const int32_t> v) : data_(v.data()), size_(v.size()), width_(4) {}
  explicit SparseIndexArray(std::span<const uint16_t> v) : data_(v.data()), size_(v.size()), width_(2) {}
  explicit SparseIndexArray(std::span<const uint8_t> v) : data_(v.data()), size_(v.size()), width_(1) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int width() const { return width_; }  // bytes per entry
  // memcpy: the file guarantees no alignment for these vectors' payload.
  int64_t operator[](size_t i) const {
    const auto* bytes = static_cast<const uint8_t*>(data_) + i * width_;
    switch (width_) {
      case 1: return bytes[0];
      case 2: {
        uint16_t v;
        std::memcpy(&v, bytes, sizeof v);
        return v;
      }
      default: {
        int32_t v;
        std::memcpy(&v, bytes, sizeof v);
        return v;
      }
    }
  }

 private:
  const void* data_ = nullptr;
  size_t size_ = 0;
  int width_ = 4;
};

enum class SparseDimFormat : uint8_t { kDense, kSparseCsr };

struct SparseDimension {
  SparseDimFormat format = SparseDimFormat::kDense;
  int32_t dense_size = 0;     // DENSE: the dimension's size (also a block's size)
  SparseIndexArray segments;  // SPARSE_CSR
  SparseIndexArray indices;   // SPARSE_CSR
};

struct SparsityParams {
  std::vector<int32_t> traversal_order;    // n + k expanded dimensions
  std::vector<int32_t> block_map;          // k entries: original dimension of each block dim
  std::vector<SparseDimension> dim_metadata;  // one per traversal_order entry, same order
};

// Checks the parameters against the dense shape: traversal_order a permutation
// of the n + k expanded dims, block_map naming distinct dims that the block
// sizes divide, DENSE sizes matching the expanded dims, CSR segments starting
// at 0, non-decreasing, one more than the parent level's node count and ending
// at the indices' size, every index inside its dimension. Returns how many
// values the tensor stores (its buffer holds that many elements).
Result<size_t> CheckSparsity(const SparsityParams& sparsity, std::span<const int32_t> dense_shape);

// Writes the dense tensor: every stored value at its place, zero bytes
// elsewhere. Any element type (values are copied as DTypeSize(output.dtype)
// bytes); `values` must hold exactly the stored values. Validates `sparsity`
// with CheckSparsity against output.shape first: errors name output.
Status Densify(const SparsityParams& sparsity, std::span<const uint8_t> values, const TensorView& output);

}  // namespace edgepipe::engine::kernels
