// Shared helpers of the own kernels: validation that names the offending tensor,
// axis normalization, broadcasting, and TFLite's fixed-point quantization math.
// Internal to engine/kernels (not part of the planner-facing API in kernels.h).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine::kernels::internal {

// Largest rank the broadcasting and slicing kernels handle (TFLite's limit too).
inline constexpr int kMaxRank = 6;

std::string ShapeString(std::span<const int32_t> shape);
// "'name' [1,2,3] uint8" — how a tensor is named in error messages.
std::string Describe(const TensorView& tensor);

// Non-null data (unless empty) and non-negative dims.
Status CheckTensor(std::string_view op, const TensorView& tensor);
Status CheckDType(std::string_view op, const TensorView& tensor, DType expected);
Status CheckSameDType(std::string_view op, const TensorView& tensor, const TensorView& reference);
Status CheckSameShape(std::string_view op, const TensorView& tensor, const TensorView& reference);
Status CheckElementCount(std::string_view op, const TensorView& tensor, size_t expected);
// Maps a TFLite axis in [-rank, rank) to [0, rank).
Result<int> NormalizeAxis(std::string_view op, int axis, int rank, const TensorView& tensor);

bool IsQuantized8(DType dtype);
bool IsQuantizedInteger(DType dtype);  // uint8, int8, int16

struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
// The per-tensor scale/zero point of a quantized tensor (error when missing or
// per-channel).
Result<QuantParams> PerTensorQuant(std::string_view op, const TensorView& tensor);

struct IntRange {
  int32_t min;
  int32_t max;
};
IntRange QuantizedRange(DType dtype);
// Activation bounds in quantized units: TFLite CalculateActivationRangeQuantized,
// zero_point + TfLiteRound(bound / scale), intersected with the type's range.
IntRange QuantizedActivationRange(FusedActivation activation, DType dtype, QuantParams q);

// ---- TFLite fixed-point math (tensorflow/lite/kernels/internal/common.h,
// quantization_util.cc; gemmlowp fixedpoint.h). Bit-exact re-implementations.

// QuantizeMultiplier: multiplier = q * 2^shift with q in [0.5, 1) as Q31,
// q rounded half away from zero (TfLiteRound); q == 1.0 renormalized.
void QuantizeMultiplier(double real_multiplier, int32_t* quantized_multiplier, int* shift);

// gemmlowp SaturatingRoundingDoublingHighMul.
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  const bool overflow = a == b && a == std::numeric_limits<int32_t>::min();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  const int32_t high = static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
  return overflow ? std::numeric_limits<int32_t>::max() : high;
}

// gemmlowp RoundingDivideByPOT: divide by 2^exponent, round half away from zero.
inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// TFLite MultiplyByQuantizedMultiplier (double-rounding variant, the default
// build): left shift, doubling high mul, rounding right shift.
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t quantized_multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(shifted, quantized_multiplier),
                             right_shift);
}

// TfLiteRound: std::round, i.e. half away from zero.
inline float RoundHalfAwayFromZero(float x) { return std::round(x); }

inline int32_t Clamp32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The padding of a CONV_2D / DEPTHWISE_CONV_2D, after checking that strides
// and dilations are positive and that `output` has the height and width TFLite
// computes for this input, kernel size and padding mode (SAME: half the
// padding at the top/left).
struct ConvPadding {
  int32_t top = 0;
  int32_t left = 0;
};
Result<ConvPadding> CheckConvGeometry(std::string_view op, const TensorView& input, int32_t kernel_h, int32_t kernel_w,
                                      const ConvParams& params, const TensorView& output);

// The operands of an 8-bit conv kernel: input, filter and output 4-D and all
// int8 or all uint8, the filter's data present.
Status Check8BitConvOperands(std::string_view op, const TensorView& input, const TensorView& filter,
                             const TensorView& output);

// The one zero point of an 8-bit conv filter: 0 for int8 (TFLite's int8 spec
// is symmetric), a shared value in [0, 255] for uint8.
Result<int32_t> UniformFilterZeroPoint(std::string_view op, const TensorView& filter);

// Zeroed, 64-byte-aligned arrays for packed weights and the like.
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
template <typename T>
using AlignedArray = std::unique_ptr<T[], AlignedFree>;
template <typename T>
AlignedArray<T> MakeAlignedArray(size_t n) {
  const size_t bytes = std::max<size_t>((n * sizeof(T) + 63) / 64 * 64, 64);
  auto* p = static_cast<T*>(std::aligned_alloc(64, bytes));
  if (p != nullptr) std::memset(p, 0, bytes);
  return AlignedArray<T>(p);
}

// IEEE binary16 -> binary32 (exact; handles subnormals, inf, NaN).
float HalfToFloat(uint16_t half);
// The same over an array; with the CPU's F16C conversion when it has one
// (fp16 models fold every weight through this at load time).
void HalfToFloat(const uint16_t* half, float* out, int64_t count);

// ---- Broadcasting (NumPy rules): output shape must equal the broadcast shape.
struct BroadcastPlan {
  int rank = 0;                          // of the output, <= kMaxRank
  std::array<int32_t, kMaxRank> dims{};  // output dims
  std::array<int64_t, kMaxRank> a_strides{};  // 0 on broadcast axes
  std::array<int64_t, kMaxRank> b_strides{};
  bool same_shape = false;  // fast path: all three shapes equal
};
Result<BroadcastPlan> PlanBroadcast(std::string_view op, const TensorView& a, const TensorView& b,
                                    const TensorView& output);

// Calls fn(out_index, a_index, b_index) over every output element, in order.
template <typename Fn>
inline void ForEachBroadcast(const BroadcastPlan& plan, Fn&& fn) {
  if (plan.rank == 0) {
    fn(0, 0, 0);
    return;
  }
  int64_t total = 1;
  for (int d = 0; d < plan.rank; ++d) total *= plan.dims[d];
  if (total == 0) return;
  std::array<int32_t, kMaxRank> index{};
  int64_t a_offset = 0, b_offset = 0;
  const int last = plan.rank - 1;
  const int32_t inner = plan.dims[last];
  const int64_t a_inner = plan.a_strides[last], b_inner = plan.b_strides[last];
  for (int64_t out = 0; out < total; out += inner) {
    int64_t ai = a_offset, bi = b_offset;
    for (int32_t i = 0; i < inner; ++i, ai += a_inner, bi += b_inner) fn(out + i, ai, bi);
    // Advance the outer index like an odometer.
    for (int d = last - 1; d >= 0; --d) {
      ++index[d];
      a_offset += plan.a_strides[d];
      b_offset += plan.b_strides[d];
      if (index[d] < plan.dims[d]) break;
      a_offset -= plan.a_strides[d] * plan.dims[d];
      b_offset -= plan.b_strides[d] * plan.dims[d];
      index[d] = 0;
    }
  }
}

// Product of dims in [begin, end).
inline int64_t DimProduct(std::span<const int32_t> shape, int begin, int end) {
  int64_t n = 1;
  for (int i = begin; i < end; ++i) n *= shape[i];
  return n;
}

}  // namespace edgepipe::engine::kernels::internal
