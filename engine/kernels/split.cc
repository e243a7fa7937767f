// SPLIT and SPLIT_V: the inverse of concatenation, byte copies for any dtype.
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

Status SplitAlongAxis(std::string_view op, const TensorView& input, int axis, TensorList outputs,
                      bool equal_parts) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(op, input));
  if (outputs.empty()) return InvalidArgumentError("{}: no outputs for input {}", op, Describe(input));
  const int rank = input.rank();
  EP_ASSIGN_OR_RETURN(const int split_axis, internal::NormalizeAxis(op, axis, rank, input));
  int64_t axis_total = 0;
  for (const TensorView* output : outputs) {
    if (output == nullptr) return InvalidArgumentError("{}: null output for input {}", op, Describe(input));
    EP_RETURN_IF_ERROR(internal::CheckTensor(op, *output));
    EP_RETURN_IF_ERROR(internal::CheckSameDType(op, *output, input));
    if (output->rank() != rank) {
      return InvalidArgumentError("{}: output {} must have the rank of input {}", op, Describe(*output),
                                  Describe(input));
    }
    for (int d = 0; d < rank; ++d) {
      if (d != split_axis && output->shape[d] != input.shape[d]) {
        return InvalidArgumentError("{}: output {} differs from input {} outside axis {}", op,
                                    Describe(*output), Describe(input), split_axis);
      }
    }
    if (equal_parts && output->shape[split_axis] != outputs[0]->shape[split_axis]) {
      return InvalidArgumentError("{}: output {} must have the size of {} along axis {} (equal parts)", op,
                                  Describe(*output), Describe(*outputs[0]), split_axis);
    }
    axis_total += output->shape[split_axis];
  }
  if (axis_total != input.shape[split_axis]) {
    return InvalidArgumentError("{}: outputs' sizes along axis {} sum to {}, but input {} has {}", op, split_axis,
                                axis_total, Describe(input), input.shape[split_axis]);
  }

  const size_t element_size = DTypeSize(input.dtype);
  const int64_t outer = internal::DimProduct(input.shape, 0, split_axis);
  const int64_t inner = internal::DimProduct(input.shape, split_axis + 1, rank);
  const auto* in = static_cast<const uint8_t*>(input.data);
  for (int64_t k = 0; k < outer; ++k) {
    for (const TensorView* output : outputs) {
      const size_t bytes = static_cast<size_t>(output->shape[split_axis] * inner) * element_size;
      if (bytes == 0) continue;
      std::memcpy(static_cast<uint8_t*>(output->data) + k * bytes, in, bytes);
      in += bytes;
    }
  }
  return OkStatus();
}

}  // namespace

Status Split(const TensorView& input, int axis, TensorList outputs) {
  return SplitAlongAxis("Split", input, axis, outputs, /*equal_parts=*/true);
}

Status SplitV(const TensorView& input, int axis, TensorList outputs) {
  return SplitAlongAxis("SplitV", input, axis, outputs, /*equal_parts=*/false);
}

}  // namespace edgepipe::engine::kernels
