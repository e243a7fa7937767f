// ADD / SUB / MUL / DIV / FLOOR_DIV with NumPy broadcasting, for float32,
// int32 and (add/sub/mul) uint8/int8. Reference fallbacks for what the XNNPACK
// segments do not cover.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::BroadcastPlan;
using internal::Describe;

std::string_view OpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "Add";
    case BinaryOp::kSub: return "Sub";
    case BinaryOp::kMul: return "Mul";
    case BinaryOp::kDiv: return "Div";
    case BinaryOp::kFloorDiv: return "FloorDiv";
  }
  return "Binary";
}

template <typename Fn>
void Run(const BroadcastPlan& plan, Fn&& fn) {
  if (plan.same_shape) {
    int64_t total = 1;
    for (int d = 0; d < plan.rank; ++d) total *= plan.dims[d];
    for (int64_t i = 0; i < total; ++i) fn(i, i, i);
  } else {
    internal::ForEachBroadcast(plan, fn);
  }
}

// ---- float32. TFLite ActivationFunctionWithMinMax: clamp to the activation's
// [min, max] (RELU [0, inf), RELU6 [0, 6], RELU_N1_TO_1 [-1, 1]).
template <typename T>
void ActivationRange(FusedActivation activation, T* lo, T* hi) {
  *lo = std::numeric_limits<T>::lowest();
  *hi = std::numeric_limits<T>::max();
  switch (activation) {
    case FusedActivation::kNone: break;
    case FusedActivation::kRelu: *lo = 0; break;
    case FusedActivation::kRelu6: *lo = 0; *hi = 6; break;
    case FusedActivation::kReluN1To1: *lo = -1; *hi = 1; break;
  }
}

Status BinaryFloat(BinaryOp op, const BroadcastPlan& plan, const float* a, const float* b, FusedActivation activation,
                   float* out) {
  float lo, hi;
  ActivationRange(activation, &lo, &hi);
  auto clamp = [lo, hi](float v) { return std::min(std::max(v, lo), hi); };
  switch (op) {
    case BinaryOp::kAdd: Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = clamp(a[i] + b[j]); }); break;
    case BinaryOp::kSub: Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = clamp(a[i] - b[j]); }); break;
    case BinaryOp::kMul: Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = clamp(a[i] * b[j]); }); break;
    case BinaryOp::kDiv: Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = clamp(a[i] / b[j]); }); break;
    // TFLite floor_div.cc (float): std::floor(a / b).
    case BinaryOp::kFloorDiv:
      Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = clamp(std::floor(a[i] / b[j])); });
      break;
  }
  return OkStatus();
}

// ---- int32. Add/sub/mul wrap modulo 2^32 (TFLite's overflow is undefined;
// wrapping is what the hardware does). Division by zero is an error, as in
// TFLite's floor_div.cc ("Division by 0") and div.cc.
Status BinaryInt32(std::string_view name, BinaryOp op, const BroadcastPlan& plan, const TensorView& b_tensor,
                   const int32_t* a, const int32_t* b, FusedActivation activation, int32_t* out) {
  if (op == BinaryOp::kDiv || op == BinaryOp::kFloorDiv) {
    const size_t n = b_tensor.num_elements();
    if (std::find(b, b + n, 0) != b + n) return InvalidArgumentError("{}: division by 0 in {}", name, Describe(b_tensor));
  }
  int32_t lo, hi;
  ActivationRange(activation, &lo, &hi);
  auto clamp = [lo, hi](int32_t v) { return std::min(std::max(v, lo), hi); };
  auto wrap = [](int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v))); };
  switch (op) {
    case BinaryOp::kAdd:
      Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = clamp(wrap(int64_t{a[i]} + b[j])); });
      break;
    case BinaryOp::kSub:
      Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = clamp(wrap(int64_t{a[i]} - b[j])); });
      break;
    case BinaryOp::kMul:
      Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = clamp(wrap(int64_t{a[i]} * b[j])); });
      break;
    case BinaryOp::kDiv:  // C++ truncating division; INT_MIN / -1 wraps.
      Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = clamp(wrap(int64_t{a[i]} / b[j])); });
      break;
    case BinaryOp::kFloorDiv:  // TFLite: static_cast<T>(std::floor(double(a) / double(b))).
      Run(plan, [&](int64_t o, int64_t i, int64_t j) {
        out[o] = clamp(wrap(static_cast<int64_t>(std::floor(static_cast<double>(a[i]) / static_cast<double>(b[j])))));
      });
      break;
  }
  return OkStatus();
}

// ---- uint8/int8, TFLite add.cc / sub.cc / mul.cc (reference kernels).

// Runs an 8-bit binary op given as compute(a_value, b_value) -> T over the
// broadcast. When one operand is much smaller than the output (movenet
// subtracts a [1,1,1,3] mean from a 192x192 image), every output is a function
// of one 8-bit value for each element of the small operand: the exact results
// for all 256 values are tabulated once per call and the loop becomes a table
// lookup instead of three fixed-point multiplications per element.
template <typename T, typename Compute>
Status RunQuantized(const BroadcastPlan& plan, const TensorView& a_tensor, const TensorView& b_tensor,
                    const TensorView& out_tensor, Compute&& compute) {
  constexpr int64_t kValues = 256;
  constexpr int64_t kMinUsesPerEntry = 4;  // below this, tabulating costs more than it saves
  const T* a = a_tensor.as<const T>();
  const T* b = b_tensor.as<const T>();
  T* out = out_tensor.as<T>();
  const auto total = static_cast<int64_t>(out_tensor.num_elements());
  const auto a_count = static_cast<int64_t>(a_tensor.num_elements());
  const auto b_count = static_cast<int64_t>(b_tensor.num_elements());
  auto slot = [](T v) { return static_cast<int64_t>(static_cast<uint8_t>(v)); };
  auto value_of_slot = [](int64_t k) { return static_cast<int32_t>(static_cast<T>(static_cast<uint8_t>(k))); };
  if (b_count * kValues * kMinUsesPerEntry <= total) {
    std::vector<T> table(static_cast<size_t>(b_count * kValues));
    for (int64_t j = 0; j < b_count; ++j)
      for (int64_t k = 0; k < kValues; ++k) table[j * kValues + k] = compute(value_of_slot(k), b[j]);
    Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = table[j * kValues + slot(a[i])]; });
    return OkStatus();
  }
  if (a_count * kValues * kMinUsesPerEntry <= total) {
    std::vector<T> table(static_cast<size_t>(a_count * kValues));
    for (int64_t i = 0; i < a_count; ++i)
      for (int64_t k = 0; k < kValues; ++k) table[i * kValues + k] = compute(a[i], value_of_slot(k));
    Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = table[i * kValues + slot(b[j])]; });
    return OkStatus();
  }
  Run(plan, [&](int64_t o, int64_t i, int64_t j) { out[o] = compute(a[i], b[j]); });
  return OkStatus();
}

template <typename T>
Status BinaryQuantized(std::string_view name, BinaryOp op, const BroadcastPlan& plan, const TensorView& a_tensor,
                       const TensorView& b_tensor, const TensorView& out_tensor, FusedActivation activation) {
  EP_ASSIGN_OR_RETURN(const internal::QuantParams qa, internal::PerTensorQuant(name, a_tensor));
  EP_ASSIGN_OR_RETURN(const internal::QuantParams qb, internal::PerTensorQuant(name, b_tensor));
  EP_ASSIGN_OR_RETURN(const internal::QuantParams qo, internal::PerTensorQuant(name, out_tensor));
  const internal::IntRange range = internal::QuantizedActivationRange(activation, out_tensor.dtype, qo);
  const int32_t a_offset = -qa.zero_point, b_offset = -qb.zero_point, out_offset = qo.zero_point;

  if (op == BinaryOp::kMul) {
    // real_multiplier = s_a * s_b / s_out (double);
    // q = out_offset + MultiplyByQuantizedMultiplier((a + a_off) * (b + b_off)).
    int32_t multiplier;
    int shift;
    internal::QuantizeMultiplier(static_cast<double>(qa.scale) * static_cast<double>(qb.scale) /
                                     static_cast<double>(qo.scale),
                                 &multiplier, &shift);
    return RunQuantized<T>(plan, a_tensor, b_tensor, out_tensor, [&](int32_t a_value, int32_t b_value) {
      const int32_t product = (a_offset + a_value) * (b_offset + b_value);
      const int32_t value = out_offset + internal::MultiplyByQuantizedMultiplier(product, multiplier, shift);
      return static_cast<T>(internal::Clamp32(value, range.min, range.max));
    });
  }
  if (op != BinaryOp::kAdd && op != BinaryOp::kSub) {
    return InvalidArgumentError("{}: quantized {} is not supported (output {})", name, name, Describe(out_tensor));
  }
  // left_shift = 20; twice_max = 2 * max(s_a, s_b);
  // m_a = s_a / twice_max, m_b = s_b / twice_max, m_out = twice_max / (2^20 * s_out);
  // q = out_offset + M_out(M_a((a + a_off) << 20) +- M_b((b + b_off) << 20)).
  constexpr int kLeftShift = 20;
  const double twice_max = 2.0 * static_cast<double>(std::max(qa.scale, qb.scale));
  int32_t ma, mb, mo;
  int sa, sb, so;
  internal::QuantizeMultiplier(static_cast<double>(qa.scale) / twice_max, &ma, &sa);
  internal::QuantizeMultiplier(static_cast<double>(qb.scale) / twice_max, &mb, &sb);
  internal::QuantizeMultiplier(twice_max / (static_cast<double>(1 << kLeftShift) * static_cast<double>(qo.scale)), &mo,
                               &so);
  const bool subtract = op == BinaryOp::kSub;
  return RunQuantized<T>(plan, a_tensor, b_tensor, out_tensor, [&](int32_t a_value, int32_t b_value) {
    const int32_t shifted_a = (a_offset + a_value) * (1 << kLeftShift);
    const int32_t shifted_b = (b_offset + b_value) * (1 << kLeftShift);
    const int32_t scaled_a = internal::MultiplyByQuantizedMultiplier(shifted_a, ma, sa);
    const int32_t scaled_b = internal::MultiplyByQuantizedMultiplier(shifted_b, mb, sb);
    const int32_t raw = subtract ? scaled_a - scaled_b : scaled_a + scaled_b;
    const int32_t value = out_offset + internal::MultiplyByQuantizedMultiplier(raw, mo, so);
    return static_cast<T>(internal::Clamp32(value, range.min, range.max));
  });
}

}  // namespace

Status ElementwiseBinary(BinaryOp op, const TensorView& a, const TensorView& b, FusedActivation activation,
                         const TensorView& output) {
  const std::string_view name = OpName(op);
  EP_RETURN_IF_ERROR(internal::CheckTensor(name, a));
  EP_RETURN_IF_ERROR(internal::CheckTensor(name, b));
  EP_RETURN_IF_ERROR(internal::CheckTensor(name, output));
  EP_RETURN_IF_ERROR(internal::CheckSameDType(name, a, output));
  EP_RETURN_IF_ERROR(internal::CheckSameDType(name, b, output));
  EP_ASSIGN_OR_RETURN(const BroadcastPlan plan, internal::PlanBroadcast(name, a, b, output));
  switch (output.dtype) {
    case DType::kFloat32:
      return BinaryFloat(op, plan, a.as<const float>(), b.as<const float>(), activation, output.as<float>());
    case DType::kInt32:
      return BinaryInt32(name, op, plan, b, a.as<const int32_t>(), b.as<const int32_t>(), activation,
                         output.as<int32_t>());
    case DType::kUInt8: return BinaryQuantized<uint8_t>(name, op, plan, a, b, output, activation);
    case DType::kInt8: return BinaryQuantized<int8_t>(name, op, plan, a, b, output, activation);
    default:
      return InvalidArgumentError("{}: output {} must be float32, int32, uint8 or int8", name, Describe(output));
  }
}

}  // namespace edgepipe::engine::kernels
