// UNPACK: slices the input along an axis into tensors without that axis.
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {

Status Unpack(const TensorView& input, int axis, TensorList outputs) {
  constexpr std::string_view kOp = "Unpack";
  using internal::Describe;
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_ASSIGN_OR_RETURN(const int unpack_axis, internal::NormalizeAxis(kOp, axis, input.rank(), input));
  const int count = static_cast<int>(outputs.size());
  if (count != input.shape[unpack_axis]) {
    return InvalidArgumentError("{}: {} outputs for input {} of size {} along axis {}", kOp, count, Describe(input),
                                input.shape[unpack_axis], unpack_axis);
  }
  for (const TensorView* output : outputs) {
    if (output == nullptr) return InvalidArgumentError("{}: null output for input {}", kOp, Describe(input));
    EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *output));
    EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, *output, input));
    bool shape_ok = output->rank() == input.rank() - 1;
    for (int d = 0, o = 0; shape_ok && d < input.rank(); ++d) {
      if (d == unpack_axis) continue;
      shape_ok = output->shape[o++] == input.shape[d];
    }
    if (!shape_ok) {
      return InvalidArgumentError("{}: output {} must be input {} without axis {}", kOp, Describe(*output),
                                  Describe(input), unpack_axis);
    }
  }
  const size_t element_size = DTypeSize(input.dtype);
  const int64_t outer = internal::DimProduct(input.shape, 0, unpack_axis);
  const size_t inner_bytes = static_cast<size_t>(internal::DimProduct(input.shape, unpack_axis + 1, input.rank())) * element_size;
  if (inner_bytes == 0) return OkStatus();
  const auto* in = static_cast<const uint8_t*>(input.data);
  for (int64_t k = 0; k < outer; ++k) {
    for (const TensorView* output : outputs) {
      std::memcpy(static_cast<uint8_t*>(output->data) + k * inner_bytes, in, inner_bytes);
      in += inner_bytes;
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
