// PACK: stacks same-shaped inputs along a new axis (byte copies, any dtype).
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {

Status Pack(TensorList inputs, int axis, const TensorView& output) {
  constexpr std::string_view kOp = "Pack";
  using internal::Describe;
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  if (inputs.empty()) return InvalidArgumentError("{}: no inputs for output {}", kOp, Describe(output));
  // axis indexes the output, whose rank is the inputs' rank + 1.
  EP_ASSIGN_OR_RETURN(const int pack_axis, internal::NormalizeAxis(kOp, axis, output.rank(), output));
  const int count = static_cast<int>(inputs.size());
  const TensorView* first = inputs[0];
  if (first == nullptr) return InvalidArgumentError("{}: null input for output {}", kOp, Describe(output));
  // Expected output: first's shape with `count` inserted at pack_axis.
  bool shape_ok = output.rank() == first->rank() + 1 && output.shape[pack_axis] == count;
  for (int d = 0, i = 0; shape_ok && d < output.rank(); ++d) {
    if (d == pack_axis) continue;
    shape_ok = output.shape[d] == first->shape[i++];
  }
  if (!shape_ok) {
    return InvalidArgumentError("{}: output {} must be input {} with {} inserted at axis {}", kOp, Describe(output),
                                Describe(*first), count, pack_axis);
  }
  for (const TensorView* input : inputs) {
    if (input == nullptr) return InvalidArgumentError("{}: null input for output {}", kOp, Describe(output));
    EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *input));
    EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, *input, output));
    EP_RETURN_IF_ERROR(internal::CheckSameShape(kOp, *input, *first));
  }
  const size_t element_size = DTypeSize(output.dtype);
  const int64_t outer = internal::DimProduct(output.shape, 0, pack_axis);
  const size_t inner_bytes = static_cast<size_t>(internal::DimProduct(output.shape, pack_axis + 1, output.rank())) * element_size;
  if (inner_bytes == 0) return OkStatus();
  auto* out = static_cast<uint8_t*>(output.data);
  for (int64_t k = 0; k < outer; ++k) {
    for (const TensorView* input : inputs) {
      std::memcpy(out, static_cast<const uint8_t*>(input->data) + k * inner_bytes, inner_bytes);
      out += inner_bytes;
    }
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
