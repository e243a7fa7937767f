// GATHER_ND: output[i0..iq-2, ...] = params[indices[i0..iq-2, :], ...].
#include <algorithm>
#include <array>
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "GatherNd";

template <typename Index>
Status Gather(const TensorView& params, const TensorView& indices, const TensorView& output, int index_depth) {
  const Index* index_data = indices.as<const Index>();
  const int64_t lookups = internal::DimProduct(indices.shape, 0, indices.rank() - 1);
  const size_t element_size = DTypeSize(params.dtype);
  const size_t slice_bytes =
      static_cast<size_t>(internal::DimProduct(params.shape, index_depth, params.rank())) * element_size;
  // Elements per step along each indexed params axis.
  std::array<int64_t, internal::kMaxRank> strides{};
  for (int d = 0; d < index_depth; ++d) strides[d] = internal::DimProduct(params.shape, d + 1, params.rank());
  const auto* in = static_cast<const uint8_t*>(params.data);
  auto* out = static_cast<uint8_t*>(output.data);
  for (int64_t l = 0; l < lookups; ++l, out += slice_bytes) {
    int64_t offset = 0;
    for (int d = 0; d < index_depth; ++d) {
      const int64_t index = static_cast<int64_t>(index_data[l * index_depth + d]);
      // TFLite gather_nd.cc fails the op on out-of-bounds indices.
      if (index < 0 || index >= params.shape[d]) {
        return InvalidArgumentError("{}: index {} of {} is out of bounds for axis {} of params {}", kOp, index,
                                    Describe(indices), d, Describe(params));
      }
      offset += index * strides[d];
    }
    if (slice_bytes > 0) std::memcpy(out, in + offset * element_size, slice_bytes);
  }
  return OkStatus();
}

}  // namespace

Status GatherNd(const TensorView& params, const TensorView& indices, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, params));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, indices));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, output, params));
  if (indices.dtype != DType::kInt32 && indices.dtype != DType::kInt64) {
    return InvalidArgumentError("{}: indices {} must be int32 or int64", kOp, Describe(indices));
  }
  if (indices.rank() < 1 || params.rank() < 1 || params.rank() > internal::kMaxRank) {
    return InvalidArgumentError("{}: indices {} need rank >= 1 and params {} rank 1..{}", kOp, Describe(indices),
                                Describe(params), internal::kMaxRank);
  }
  const int index_depth = indices.shape.back();
  if (index_depth > params.rank()) {
    return InvalidArgumentError("{}: indices {} index {} dims of params {}", kOp, Describe(indices), index_depth,
                                Describe(params));
  }
  // Output shape: indices.shape[:-1] + params.shape[index_depth:].
  std::vector<int32_t>::const_iterator out_it = output.shape.begin();
  bool shape_ok = output.rank() == indices.rank() - 1 + params.rank() - index_depth;
  shape_ok = shape_ok && std::equal(indices.shape.begin(), indices.shape.end() - 1, out_it) &&
             std::equal(params.shape.begin() + index_depth, params.shape.end(), out_it + (indices.rank() - 1));
  if (!shape_ok) {
    return InvalidArgumentError("{}: output {} must be indices {}[:-1] + params {}[{}:]", kOp, Describe(output),
                                Describe(indices), Describe(params), index_depth);
  }
  if (output.num_elements() == 0) return OkStatus();
  if (indices.dtype == DType::kInt32) return Gather<int32_t>(params, indices, output, index_depth);
  return Gather<int64_t>(params, indices, output, index_depth);
}

}  // namespace edgepipe::engine::kernels
