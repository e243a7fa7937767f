// RESHAPE: the data is unchanged; only the static shape differs.
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {

Status Reshape(const TensorView& input, const TensorView& output) {
  constexpr std::string_view kOp = "Reshape";
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckSameDType(kOp, output, input));
  EP_RETURN_IF_ERROR(internal::CheckElementCount(kOp, output, input.num_elements()));
  if (output.data != input.data && input.num_bytes() > 0) std::memmove(output.data, input.data, input.num_bytes());
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
