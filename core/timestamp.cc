#include "core/timestamp.h"

#include <cmath>

namespace edgepipe {

Result<Timestamp> Timestamp::FromSeconds(double seconds) {
  const double microseconds = std::round(seconds * 1e6);
  if (!std::isfinite(microseconds) || microseconds < static_cast<double>(Min().Value()) ||
      microseconds > static_cast<double>(Max().Value())) {
    return OutOfRangeError("{} s is outside the timestamp range", seconds);
  }
  return Timestamp(static_cast<int64_t>(microseconds));
}

Status Timestamp::AddError(int64_t delta_us) const {
  if (!IsRangeValue()) {
    return OutOfRangeError("cannot add {} us to the special timestamp {}", delta_us, DebugString());
  }
  return OutOfRangeError("timestamp overflow: {} + {} us leaves [Min, Max]", value_, delta_us);
}

std::string Timestamp::DebugString() const {
  if (*this == Unset()) return "Unset";
  if (*this == Unstarted()) return "Unstarted";
  if (*this == PreStream()) return "PreStream";
  if (*this == Min()) return "Min";
  if (*this == Max()) return "Max";
  if (*this == PostStream()) return "PostStream";
  if (*this == OneOverPostStream()) return "OneOverPostStream";
  if (*this == Done()) return "Done";
  return std::to_string(value_);
}

}  // namespace edgepipe
