#include "engine/kernels/fixed_point_int16.h"

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <mutex>

namespace edgepipe::engine::kernels::internal {
namespace {

constexpr int16_t kMin = std::numeric_limits<int16_t>::min();
constexpr int16_t kMax = std::numeric_limits<int16_t>::max();

// gemmlowp's plain Add/Sub/Neg on int16 lanes: computed in int and narrowed,
// i.e. wrapping. The algorithms below keep their operands in range, but the
// narrowing is what gemmlowp does, so we do the same.
int16_t Add(int16_t a, int16_t b) { return static_cast<int16_t>(a + b); }
int16_t Sub(int16_t a, int16_t b) { return static_cast<int16_t>(a - b); }
int16_t Neg(int16_t a) { return static_cast<int16_t>(-a); }

int16_t SaturatingAdd(int16_t a, int16_t b) {
  return static_cast<int16_t>(std::clamp<int32_t>(int32_t{a} + int32_t{b}, kMin, kMax));
}

// VQRDMULH on int16: (a * b * 2 + 2^15) >> 16, rounding half away from zero.
int16_t SaturatingRoundingDoublingHighMul(int16_t a, int16_t b) {
  if (a == kMin && b == kMin) return kMax;
  const int32_t ab = int32_t{a} * int32_t{b};
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<int16_t>((ab + nudge) / (1 << 15));
}

int16_t RoundingDivideByPOT(int16_t x, int exponent) {
  const int16_t mask = static_cast<int16_t>((1 << exponent) - 1);
  const int16_t remainder = static_cast<int16_t>(x & mask);
  const int16_t threshold = static_cast<int16_t>((mask >> 1) + (x < 0 ? 1 : 0));
  return static_cast<int16_t>((x >> exponent) + (remainder > threshold ? 1 : 0));
}

// x * 2^exponent: saturating for exponent > 0, rounding for exponent < 0.
int16_t SaturatingRoundingMultiplyByPOT(int16_t x, int exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return RoundingDivideByPOT(x, -exponent);
  const int32_t threshold = (1 << (15 - exponent)) - 1;
  if (x > threshold) return kMax;
  if (x < -threshold) return kMin;
  return static_cast<int16_t>(x * (1 << exponent));
}

// gemmlowp writes its constants as Q0.31-style int32 raw values; the 16-bit
// constant is that value rounding-shifted right by 16.
int16_t Constant(int32_t raw32) {
  const int32_t mask = (1 << 16) - 1;
  const int32_t remainder = raw32 & mask;
  const int32_t threshold = (mask >> 1) + (raw32 < 0 ? 1 : 0);
  return static_cast<int16_t>((raw32 >> 16) + (remainder > threshold ? 1 : 0));
}

int16_t One(int integer_bits) { return integer_bits == 0 ? kMax : static_cast<int16_t>(1 << (15 - integer_bits)); }

// exp(a) for a in [-1/4, 0), a and result Q0.15.
int16_t ExpOnIntervalNegativeQuarterTo0(int16_t a) {
  const int16_t constant_term = Constant(1895147668);    // exp(-1/8)
  const int16_t constant_1_over_3 = Constant(715827883);  // 1/3
  // Taylor expansion around -1/8: x = a + 1/8.
  const int16_t x = Add(a, static_cast<int16_t>(1 << 12));
  const int16_t x2 = SaturatingRoundingDoublingHighMul(x, x);
  const int16_t x3 = SaturatingRoundingDoublingHighMul(x2, x);
  const int16_t x4 = SaturatingRoundingDoublingHighMul(x2, x2);
  const int16_t x4_over_4 = SaturatingRoundingMultiplyByPOT(x4, -2);
  const int16_t poly = SaturatingRoundingMultiplyByPOT(
      Add(SaturatingRoundingDoublingHighMul(Add(x4_over_4, x3), constant_1_over_3), x2), -1);
  return SaturatingAdd(constant_term, SaturatingRoundingDoublingHighMul(constant_term, Add(x, poly)));
}

// exp(a) for a <= 0 in Q(integer_bits); result Q0.15.
int16_t ExpOnNegativeValues(int16_t a, int integer_bits) {
  const int fractional_bits = 15 - integer_bits;
  const int16_t one_quarter = static_cast<int16_t>(1 << (fractional_bits - 2));
  const int16_t mask = static_cast<int16_t>(one_quarter - 1);
  const int16_t a_mod_quarter_minus_one_quarter = Sub(static_cast<int16_t>(a & mask), one_quarter);
  int16_t result = ExpOnIntervalNegativeQuarterTo0(
      SaturatingRoundingMultiplyByPOT(a_mod_quarter_minus_one_quarter, integer_bits));
  const int16_t remainder = Sub(a_mod_quarter_minus_one_quarter, a);
  // Barrel shifter: multiply by exp(-2^k) for each bit k set in the remainder.
  struct Step {
    int exponent;
    int32_t multiplier;  // exp(-2^exponent), gemmlowp's int32 raw value
  };
  static constexpr Step kSteps[] = {{-2, 1672461947}, {-1, 1302514674}, {0, 790015084}, {1, 290630308},
                                    {2, 39332535},    {3, 720401},      {4, 242}};
  for (const Step& step : kSteps) {
    if (integer_bits <= step.exponent) continue;
    const int shift = fractional_bits + step.exponent;
    if ((remainder & static_cast<int16_t>(1 << shift)) != 0)
      result = SaturatingRoundingDoublingHighMul(result, Constant(step.multiplier));
  }
  if (integer_bits > 5) {
    const int16_t clamp = Constant(-(1 << (36 - integer_bits)));  // -32
    if (a < clamp) result = 0;
  }
  if (a == 0) result = One(0);
  return result;
}

// One Newton-Raphson reciprocal of (1 + a) / 2 for a in (0, 1), Q2.13.
int16_t ReciprocalOfHalfDenominator(int16_t half_denominator) {
  const int16_t constant_48_over_17 = Constant(1515870810);
  const int16_t constant_neg_32_over_17 = Constant(-1010580540);
  int16_t x = Add(constant_48_over_17, SaturatingRoundingDoublingHighMul(half_denominator, constant_neg_32_over_17));
  for (int i = 0; i < 3; ++i) {
    const int16_t half_denominator_times_x = SaturatingRoundingDoublingHighMul(half_denominator, x);
    const int16_t one_minus = Sub(One(2), half_denominator_times_x);
    x = Add(x, SaturatingRoundingMultiplyByPOT(SaturatingRoundingDoublingHighMul(x, one_minus), 2));
  }
  return x;
}

int16_t RoundingHalfSum(int16_t a, int16_t b) {
  const int32_t sum = int32_t{a} + int32_t{b};
  const int32_t sign = sum >= 0 ? 1 : -1;
  return static_cast<int16_t>((sum + sign) / 2);
}

// 1 / (1 + a) for a in (0, 1), Q0.15.
int16_t OneOverOnePlusX(int16_t a) {
  const int16_t x = ReciprocalOfHalfDenominator(RoundingHalfSum(a, One(0)));
  // x / 2 (exact, Q1.14 reinterpretation), rescaled to Q0.15.
  return SaturatingRoundingMultiplyByPOT(x, 1);
}

// (1 - a) / (1 + a) for a in (0, 1), Q0.15.
int16_t OneMinusXOverOnePlusX(int16_t a) {
  const int16_t x = ReciprocalOfHalfDenominator(RoundingHalfSum(a, One(0)));
  return SaturatingRoundingMultiplyByPOT(Sub(x, One(2)), 2);
}

}  // namespace

int16_t FixedPointLogistic16(int16_t a, int integer_bits) {
  if (a == 0) return Constant(1 << 30);  // 1/2
  const int16_t abs_input = a > 0 ? a : Neg(a);
  const int16_t result_if_positive = OneOverOnePlusX(ExpOnNegativeValues(Neg(abs_input), integer_bits));
  return a > 0 ? result_if_positive : Sub(One(0), result_if_positive);
}

int16_t FixedPointTanh16(int16_t a, int integer_bits) {
  if (a == 0) return 0;
  const bool negative = a < 0;
  const int16_t n = negative ? a : Neg(a);
  // tanh(-|x|) = -(1 - exp(-2|x|)) / (1 + exp(-2|x|)); the doubling is exact
  // (one more integer bit, same raw value).
  const int16_t t = OneMinusXOverOnePlusX(ExpOnNegativeValues(n, integer_bits + 1));
  return negative ? Neg(t) : t;
}

namespace {

constexpr int kMaxIntegerBits = 12;

template <int16_t (*Function)(int16_t, int)>
const int16_t* Table(int integer_bits) {
  static std::array<std::once_flag, kMaxIntegerBits + 1> once;
  static std::array<std::unique_ptr<int16_t[]>, kMaxIntegerBits + 1> tables;
  const int bits = std::clamp(integer_bits, 0, kMaxIntegerBits);
  std::call_once(once[bits], [bits] {
    auto table = std::make_unique<int16_t[]>(65536);
    for (int raw = -32768; raw <= 32767; ++raw) table[raw + 32768] = Function(static_cast<int16_t>(raw), bits);
    tables[bits] = std::move(table);
  });
  return tables[bits].get();
}

}  // namespace

const int16_t* FixedPointLogistic16Table(int integer_bits) { return Table<FixedPointLogistic16>(integer_bits); }
const int16_t* FixedPointTanh16Table(int integer_bits) { return Table<FixedPointTanh16>(integer_bits); }

}  // namespace edgepipe::engine::kernels::internal
