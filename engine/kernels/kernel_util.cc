#include "engine/kernels/kernel_util.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "engine/cpu/cpu_features.h"
#if defined(__x86_64__)
#include "engine/kernels/kernel_util_f16c.h"
#endif

namespace edgepipe::engine::kernels::internal {

std::string ShapeString(std::span<const int32_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string Describe(const TensorView& tensor) {
  return fmt::format("'{}' {} {}", tensor.name, ShapeString(tensor.shape), DTypeName(tensor.dtype));
}

Status CheckTensor(std::string_view op, const TensorView& tensor) {
  for (int32_t d : tensor.shape) {
    if (d < 0) return InvalidArgumentError("{}: tensor {} has a negative dimension", op, Describe(tensor));
  }
  if (tensor.data == nullptr && tensor.num_elements() != 0) {
    return InvalidArgumentError("{}: tensor {} has no data", op, Describe(tensor));
  }
  return OkStatus();
}

Status CheckDType(std::string_view op, const TensorView& tensor, DType expected) {
  if (tensor.dtype != expected) {
    return InvalidArgumentError("{}: tensor {} must be {}", op, Describe(tensor), DTypeName(expected));
  }
  return OkStatus();
}

Status CheckSameDType(std::string_view op, const TensorView& tensor, const TensorView& reference) {
  if (tensor.dtype != reference.dtype) {
    return InvalidArgumentError("{}: tensor {} must have the dtype of {}", op, Describe(tensor),
                                Describe(reference));
  }
  return OkStatus();
}

Status CheckSameShape(std::string_view op, const TensorView& tensor, const TensorView& reference) {
  if (tensor.shape != reference.shape) {
    return InvalidArgumentError("{}: tensor {} must have the shape of {}", op, Describe(tensor),
                                Describe(reference));
  }
  return OkStatus();
}

Status CheckElementCount(std::string_view op, const TensorView& tensor, size_t expected) {
  if (tensor.num_elements() != expected) {
    return InvalidArgumentError("{}: tensor {} must have {} elements", op, Describe(tensor), expected);
  }
  return OkStatus();
}

Result<int> NormalizeAxis(std::string_view op, int axis, int rank, const TensorView& tensor) {
  if (axis < -rank || axis >= rank) {
    return InvalidArgumentError("{}: axis {} is out of range for rank {} (tensor {})", op, axis, rank,
                                Describe(tensor));
  }
  return axis < 0 ? axis + rank : axis;
}

bool IsQuantized8(DType dtype) { return dtype == DType::kUInt8 || dtype == DType::kInt8; }
bool IsQuantizedInteger(DType dtype) { return IsQuantized8(dtype) || dtype == DType::kInt16; }

Result<QuantParams> PerTensorQuant(std::string_view op, const TensorView& tensor) {
  const Quantization& q = tensor.quant;
  if (q.scale.size() != 1 || q.zero_point.size() > 1) {
    return InvalidArgumentError("{}: tensor {} needs per-tensor quantization (has {} scales)", op,
                                Describe(tensor), q.scale.size());
  }
  if (!(q.scale[0] > 0.0f) || !std::isfinite(q.scale[0])) {
    return InvalidArgumentError("{}: tensor {} has invalid scale {}", op, Describe(tensor), q.scale[0]);
  }
  const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[0];
  if (zp < std::numeric_limits<int32_t>::min() || zp > std::numeric_limits<int32_t>::max()) {
    return InvalidArgumentError("{}: tensor {} has invalid zero point {}", op, Describe(tensor), zp);
  }
  return QuantParams{q.scale[0], static_cast<int32_t>(zp)};
}

IntRange QuantizedActivationRange(FusedActivation activation, DType dtype, QuantParams q) {
  IntRange range = QuantizedRange(dtype);
  auto quantize = [&](float f) { return q.zero_point + static_cast<int32_t>(std::round(f / q.scale)); };
  switch (activation) {
    case FusedActivation::kNone: break;
    case FusedActivation::kRelu: range.min = std::max(range.min, quantize(0.0f)); break;
    case FusedActivation::kRelu6:
      range.min = std::max(range.min, quantize(0.0f));
      range.max = std::min(range.max, quantize(6.0f));
      break;
    case FusedActivation::kReluN1To1:
      range.min = std::max(range.min, quantize(-1.0f));
      range.max = std::min(range.max, quantize(1.0f));
      break;
  }
  return range;
}

IntRange QuantizedRange(DType dtype) {
  switch (dtype) {
    case DType::kUInt8: return {0, 255};
    case DType::kInt8: return {-128, 127};
    case DType::kInt16: return {-32768, 32767};
    default: return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
  }
}

void QuantizeMultiplier(double real_multiplier, int32_t* quantized_multiplier, int* shift) {
  if (real_multiplier == 0.0 || !std::isfinite(real_multiplier)) {
    *quantized_multiplier = 0;
    *shift = 0;
    return;
  }
  const double q = std::frexp(real_multiplier, shift);
  int64_t q_fixed = static_cast<int64_t>(std::round(q * static_cast<double>(int64_t{1} << 31)));
  if (q_fixed == (int64_t{1} << 31)) {
    q_fixed /= 2;
    ++*shift;
  }
  // TFLite flushes multipliers below 2^-31 to zero.
  if (*shift < -31) {
    *shift = 0;
    q_fixed = 0;
  }
  // Multipliers this large would overflow the left shift; TFLite caps at 30.
  if (*shift > 30) {
    *shift = 30;
    q_fixed = std::numeric_limits<int32_t>::max();
  }
  *quantized_multiplier = static_cast<int32_t>(q_fixed);
}

float HalfToFloat(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1Fu;
  uint32_t mantissa = half & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // inf / NaN
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;  // +-0
  } else {
    // Subnormal half: normalize into a float.
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    mantissa &= 0x3FFu;
    bits = sign | (exponent << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

void HalfToFloat(const uint16_t* half, float* out, int64_t count) {
  int64_t done = 0;
#if defined(__x86_64__)
  if (HostCpu().f16c) done = HalfToFloatF16c(half, out, count);
#endif
  for (int64_t i = done; i < count; ++i) out[i] = HalfToFloat(half[i]);
}

Result<ConvPadding> CheckConvGeometry(std::string_view op, const TensorView& input, int32_t kernel_h, int32_t kernel_w,
                                      const ConvParams& p, const TensorView& output) {
  if (p.stride_height < 1 || p.stride_width < 1 || p.dilation_height < 1 || p.dilation_width < 1)
    return InvalidArgumentError("{}: strides and dilations must be positive", op);
  const int32_t in_h = input.shape[1], in_w = input.shape[2], out_h = output.shape[1], out_w = output.shape[2];
  const int32_t eff_h = (kernel_h - 1) * p.dilation_height + 1, eff_w = (kernel_w - 1) * p.dilation_width + 1;
  const int32_t want_h = p.same_padding ? (in_h + p.stride_height - 1) / p.stride_height
                                        : (in_h - eff_h + p.stride_height) / p.stride_height;
  const int32_t want_w = p.same_padding ? (in_w + p.stride_width - 1) / p.stride_width
                                        : (in_w - eff_w + p.stride_width) / p.stride_width;
  if (out_h != want_h || out_w != want_w || out_h < 1 || out_w < 1)
    return InvalidArgumentError("{}: output {} should be {}x{}", op, Describe(output), want_h, want_w);
  ConvPadding padding;
  if (p.same_padding) {
    padding.top = std::max(0, (out_h - 1) * p.stride_height + eff_h - in_h) / 2;
    padding.left = std::max(0, (out_w - 1) * p.stride_width + eff_w - in_w) / 2;
  }
  return padding;
}

Status Check8BitConvOperands(std::string_view op, const TensorView& input, const TensorView& filter,
                             const TensorView& output) {
  if (input.dtype != DType::kInt8 && input.dtype != DType::kUInt8)
    return InvalidArgumentError("{}: input {} must be int8 or uint8", op, Describe(input));
  EP_RETURN_IF_ERROR(CheckDType(op, filter, input.dtype));
  EP_RETURN_IF_ERROR(CheckDType(op, output, input.dtype));
  EP_RETURN_IF_ERROR(CheckTensor(op, filter));
  if (input.rank() != 4 || filter.rank() != 4 || output.rank() != 4)
    return InvalidArgumentError("{}: input {}, filter {} and output {} must be 4-D", op, Describe(input),
                                Describe(filter), Describe(output));
  return OkStatus();
}

Result<int32_t> UniformFilterZeroPoint(std::string_view op, const TensorView& filter) {
  const bool u8 = filter.dtype == DType::kUInt8;
  const auto& zero_points = filter.quant.zero_point;
  int32_t zero_point = 0;
  if (u8) {
    if (zero_points.empty() || zero_points[0] < 0 || zero_points[0] > 255)
      return InvalidArgumentError("{}: filter {} needs a zero point in [0, 255]", op, Describe(filter));
    zero_point = static_cast<int32_t>(zero_points[0]);
  }
  for (int64_t zp : zero_points)
    if (zp != zero_point)
      return InvalidArgumentError("{}: filter {} must have {}", op, Describe(filter),
                                  u8 ? "one zero point for every channel" : "zero points 0");
  return zero_point;
}

Result<BroadcastPlan> PlanBroadcast(std::string_view op, const TensorView& a, const TensorView& b,
                                    const TensorView& output) {
  BroadcastPlan plan;
  const int rank = output.rank();
  if (rank > kMaxRank || a.rank() > rank || b.rank() > rank) {
    return InvalidArgumentError("{}: output {} must have rank <= {} and >= the inputs' ({} and {})", op,
                                Describe(output), kMaxRank, Describe(a), Describe(b));
  }
  plan.rank = rank;
  plan.same_shape = a.shape == output.shape && b.shape == output.shape;
  int64_t a_stride = 1, b_stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    const int32_t out_dim = output.shape[d];
    const int a_d = d - (rank - a.rank());
    const int b_d = d - (rank - b.rank());
    const int32_t a_dim = a_d >= 0 ? a.shape[a_d] : 1;
    const int32_t b_dim = b_d >= 0 ? b.shape[b_d] : 1;
    const int32_t expected = a_dim == 1 ? b_dim : ((b_dim == 1 || b_dim == a_dim) ? a_dim : -1);
    if (expected < 0 || expected != out_dim) {
      return InvalidArgumentError("{}: shapes of {} and {} do not broadcast to output {}", op, Describe(a),
                                  Describe(b), Describe(output));
    }
    plan.dims[d] = out_dim;
    plan.a_strides[d] = a_dim == 1 ? 0 : a_stride;
    plan.b_strides[d] = b_dim == 1 ? 0 : b_stride;
    a_stride *= a_dim;
    b_stride *= b_dim;
  }
  return plan;
}

}  // namespace edgepipe::engine::kernels::internal
