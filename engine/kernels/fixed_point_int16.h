// gemmlowp's 16-bit fixed-point logistic and tanh (fixedpoint.h,
// FixedPoint<int16_t, IntegerBits>), which TFLite's integer LSTM applies to its
// int16 gates (tensor_utils ApplySigmoid / ApplyTanh). Re-implemented for
// scalars, bit for bit: every intermediate is the int16 value gemmlowp computes,
// including its wrapping (non-saturating) add/sub/negate and its saturating
// rounding doubling multiply. Internal to engine/kernels.
#pragma once

#include <cstdint>

namespace edgepipe::engine::kernels::internal {

// logistic(x) for x in Q(integer_bits).(15 - integer_bits); the result is Q0.15.
// integer_bits in [0, 12].
int16_t FixedPointLogistic16(int16_t raw, int integer_bits);

// tanh(x) for x in Q(integer_bits).(15 - integer_bits); the result is Q0.15.
// integer_bits in [0, 12].
int16_t FixedPointTanh16(int16_t raw, int integer_bits);

// The same two functions as 65536-entry tables indexed by raw + 32768, built
// once per integer_bits on first use (thread-safe) and kept for the process:
// a lookup instead of ~40 fixed-point operations per gate element.
const int16_t* FixedPointLogistic16Table(int integer_bits);
const int16_t* FixedPointTanh16Table(int integer_bits);

}  // namespace edgepipe::engine::kernels::internal
