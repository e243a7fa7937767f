// ARG_MAX / ARG_MIN over one axis.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

// TFLite reference_ops::ArgMinMax: the running best is replaced only when the
// comparison is strict, so ties resolve to the lowest index. Quantized inputs
// compare their integer values (monotonic in the real value for scale > 0).
template <typename T, typename Index, bool kMax>
void ArgReduce(const T* input, int64_t outer, int64_t axis_size, int64_t inner, Index* output) {
  auto better = [](T value, T best) { return kMax ? value > best : value < best; };
  if constexpr (sizeof(T) == 1) {
    if (inner == 1 && axis_size <= 256) {
      // 8-bit values along the contiguous axis (deeplab: 21 classes per pixel):
      // fold value and index into one 16-bit key, value (flipped for min) in
      // the high byte and 255 - index in the low byte, so the largest key is
      // the best value at its lowest index. A max over keys has no
      // loop-carried select chain and vectorises.
      for (int64_t o = 0; o < outer; ++o) {
        const T* row = input + o * axis_size;
        uint16_t best_key = 0;
        for (int64_t a = 0; a < axis_size; ++a) {
          const auto biased = static_cast<uint8_t>(static_cast<uint8_t>(row[a]) ^ (std::is_signed_v<T> ? 0x80 : 0));
          const auto ordered = static_cast<uint16_t>(kMax ? biased : 255 - biased);
          const auto key = static_cast<uint16_t>((ordered << 8) | (255 - a));
          best_key = std::max(best_key, key);
        }
        output[o] = static_cast<Index>(255 - (best_key & 0xff));
      }
      return;
    }
  }
  if (inner == 1) {
    // Reduction along the contiguous axis (deeplab: 21 classes per pixel).
    // Selects instead of branches: which class wins is unpredictable.
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = input + o * axis_size;
      T best = row[0];
      Index best_index = 0;
      for (int64_t a = 1; a < axis_size; ++a) {
        const bool replace = better(row[a], best);
        best = replace ? row[a] : best;
        best_index = replace ? static_cast<Index>(a) : best_index;
      }
      output[o] = best_index;
    }
    return;
  }
  // Strided axis: sweep whole rows of `inner` elements so that the running
  // best of every position updates in one contiguous, vectorisable loop.
  std::vector<T> best(static_cast<size_t>(inner));
  for (int64_t o = 0; o < outer; ++o) {
    const T* block = input + o * axis_size * inner;
    Index* best_index = output + o * inner;
    std::copy(block, block + inner, best.begin());
    std::fill(best_index, best_index + inner, Index{0});
    for (int64_t a = 1; a < axis_size; ++a) {
      const T* row = block + a * inner;
      for (int64_t i = 0; i < inner; ++i) {
        const bool replace = better(row[i], best[i]);
        best[i] = replace ? row[i] : best[i];
        best_index[i] = replace ? static_cast<Index>(a) : best_index[i];
      }
    }
  }
}

template <typename Index, bool kMax>
Status Dispatch(std::string_view op, const TensorView& input, int64_t outer, int64_t axis_size, int64_t inner,
                Index* out) {
  switch (input.dtype) {
    case DType::kFloat32: ArgReduce<float, Index, kMax>(input.as<const float>(), outer, axis_size, inner, out); break;
    case DType::kInt32: ArgReduce<int32_t, Index, kMax>(input.as<const int32_t>(), outer, axis_size, inner, out); break;
    case DType::kInt64: ArgReduce<int64_t, Index, kMax>(input.as<const int64_t>(), outer, axis_size, inner, out); break;
    case DType::kUInt8: ArgReduce<uint8_t, Index, kMax>(input.as<const uint8_t>(), outer, axis_size, inner, out); break;
    case DType::kInt8: ArgReduce<int8_t, Index, kMax>(input.as<const int8_t>(), outer, axis_size, inner, out); break;
    case DType::kBool: ArgReduce<uint8_t, Index, kMax>(input.as<const uint8_t>(), outer, axis_size, inner, out); break;
    default:
      return InvalidArgumentError("{}: input {} must be float32, int32, int64, uint8, int8 or bool", op, Describe(input));
  }
  return OkStatus();
}

template <bool kMax>
Status ArgMinMax(std::string_view op, const TensorView& input, int axis, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(op, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(op, output));
  EP_ASSIGN_OR_RETURN(const int reduce_axis, internal::NormalizeAxis(op, axis, input.rank(), input));
  const bool shape_ok = [&] {
    if (output.rank() != input.rank() - 1) return false;
    for (int d = 0, o = 0; d < input.rank(); ++d) {
      if (d == reduce_axis) continue;
      if (output.shape[o++] != input.shape[d]) return false;
    }
    return true;
  }();
  if (!shape_ok) {
    return InvalidArgumentError("{}: output {} must be input {} without axis {}", op, Describe(output), Describe(input),
                                reduce_axis);
  }
  const int64_t axis_size = input.shape[reduce_axis];
  if (axis_size == 0) return InvalidArgumentError("{}: input {} is empty along axis {}", op, Describe(input), reduce_axis);
  const int64_t outer = internal::DimProduct(input.shape, 0, reduce_axis);
  const int64_t inner = internal::DimProduct(input.shape, reduce_axis + 1, input.rank());
  if (output.dtype == DType::kInt32) return Dispatch<int32_t, kMax>(op, input, outer, axis_size, inner, output.as<int32_t>());
  if (output.dtype == DType::kInt64) return Dispatch<int64_t, kMax>(op, input, outer, axis_size, inner, output.as<int64_t>());
  return InvalidArgumentError("{}: output {} must be int32 or int64", op, Describe(output));
}

}  // namespace

Status ArgMax(const TensorView& input, int axis, const TensorView& output) {
  return ArgMinMax<true>("ArgMax", input, axis, output);
}

Status ArgMin(const TensorView& input, int axis, const TensorView& output) {
  return ArgMinMax<false>("ArgMin", input, axis, output);
}

}  // namespace edgepipe::engine::kernels
