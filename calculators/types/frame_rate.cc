#include "calculators/types/frame_rate.h"

#include <cmath>

namespace edgepipe {

std::string FrameRate::ToString() const {
  if (denominator == 1) return fmt::format("{} fps", numerator);
  return fmt::format("{}/{} ({:.6g} fps)", numerator, denominator, ToDouble());
}

Result<FrameRate> RationalFrameRate(double fps) {
  if (!std::isfinite(fps) || fps <= 0) return InvalidArgumentError("invalid frame rate {}", fps);
  // Continued-fraction expansion: the first convergent close enough is the
  // simplest rational the double came from (23.976 → 2997/125, 29.97002997 → 30000/1001).
  constexpr int64_t kMaxDenominator = 100000;
  int64_t prev_num = 1, prev_den = 0, num = static_cast<int64_t>(std::floor(fps)), den = 1;
  double remainder = fps - std::floor(fps);
  while (std::fabs(static_cast<double>(num) / static_cast<double>(den) - fps) > 1e-9 * fps && remainder > 1e-12) {
    double inverse = 1.0 / remainder;
    int64_t term = static_cast<int64_t>(std::floor(inverse));
    remainder = inverse - std::floor(inverse);
    int64_t next_num = term * num + prev_num, next_den = term * den + prev_den;
    if (next_den > kMaxDenominator) break;
    prev_num = num;
    prev_den = den;
    num = next_num;
    den = next_den;
  }
  if (num <= 0) return InvalidArgumentError("frame rate {} is too small to represent", fps);
  return FrameRate{num, den};
}

int64_t FrameTimestampUs(int64_t index, const FrameRate& rate) {
  // index * 1e6 * den / num, rounded half up; __int128 keeps long videos exact.
  __int128 scaled = static_cast<__int128>(index) * 1000000 * rate.denominator;
  __int128 rounded = (2 * scaled + rate.numerator) / (2 * static_cast<__int128>(rate.numerator));
  return static_cast<int64_t>(rounded);
}

}  // namespace edgepipe
