// CAST between float32, int32, int64, uint8, int8 and bool.
#include <cmath>
#include <limits>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "Cast";

// TFLite cast.cc: static_cast<To>(from), and `from != 0` for bool outputs.
// static_cast of an out-of-range float to an integer is undefined behaviour in
// C++ (TFLite inherits it); we saturate instead and map NaN to 0. Integer
// narrowing wraps modulo 2^n as static_cast does.
template <typename To, typename From>
inline To CastValue(From value) {
  if constexpr (std::is_same_v<To, bool>) {
    return value != From{0};
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(value)) return To{0};
    constexpr double kLow = static_cast<double>(std::numeric_limits<To>::min());
    constexpr double kHigh = static_cast<double>(std::numeric_limits<To>::max());
    const double v = std::trunc(static_cast<double>(value));
    if (v <= kLow) return std::numeric_limits<To>::min();
    if (v >= kHigh) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(value);
  }
}

// Bool tensors are read as bytes (any non-zero byte is true) so that foreign
// memory never produces an invalid bool object.
struct BoolByte {
  uint8_t byte;
};

template <typename To, typename From>
void CastAll(const From* input, int64_t count, To* output) {
  for (int64_t i = 0; i < count; ++i) {
    if constexpr (std::is_same_v<From, BoolByte>) {
      output[i] = CastValue<To>(input[i].byte != 0);
    } else {
      output[i] = CastValue<To>(input[i]);
    }
  }
}

template <typename From>
Status CastFrom(const From* input, int64_t count, const TensorView& output) {
  switch (output.dtype) {
    case DType::kFloat32: CastAll(input, count, output.as<float>()); break;
    case DType::kInt32: CastAll(input, count, output.as<int32_t>()); break;
    case DType::kInt64: CastAll(input, count, output.as<int64_t>()); break;
    case DType::kUInt8: CastAll(input, count, output.as<uint8_t>()); break;
    case DType::kInt8: CastAll(input, count, output.as<int8_t>()); break;
    case DType::kBool: CastAll(input, count, output.as<bool>()); break;
    default: return InvalidArgumentError("{}: unsupported output {}", kOp, Describe(output));
  }
  return OkStatus();
}

}  // namespace

Status Cast(const TensorView& input, const TensorView& output) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, input));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));
  EP_RETURN_IF_ERROR(internal::CheckSameShape(kOp, output, input));
  const int64_t n = static_cast<int64_t>(input.num_elements());
  switch (input.dtype) {
    case DType::kFloat32: return CastFrom(input.as<const float>(), n, output);
    case DType::kInt32: return CastFrom(input.as<const int32_t>(), n, output);
    case DType::kInt64: return CastFrom(input.as<const int64_t>(), n, output);
    case DType::kUInt8: return CastFrom(input.as<const uint8_t>(), n, output);
    case DType::kInt8: return CastFrom(input.as<const int8_t>(), n, output);
    case DType::kBool: return CastFrom(input.as<const BoolByte>(), n, output);
    default: return InvalidArgumentError("{}: unsupported input {}", kOp, Describe(input));
  }
}

}  // namespace edgepipe::engine::kernels
