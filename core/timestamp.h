// Timestamps are int64 microseconds. A handful of values at both ends of the
// range are reserved, in this order:
//   Unset < Unstarted < PreStream < Min … Max < PostStream < OneOverPostStream < Done
// PreStream carries a stream header, PostStream a summary; each must be the only
// packet on its stream. Arithmetic that would leave [Min, Max] is an error.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <string>

#include "core/status.h"

namespace edgepipe {

class Timestamp {
 public:
  constexpr Timestamp() : value_(kUnsetValue) {}
  constexpr explicit Timestamp(int64_t microseconds) : value_(microseconds) {}

  static constexpr Timestamp Unset() { return Timestamp(kUnsetValue); }
  static constexpr Timestamp Unstarted() { return Timestamp(kUnsetValue + 1); }
  static constexpr Timestamp PreStream() { return Timestamp(kUnsetValue + 2); }
  static constexpr Timestamp Min() { return Timestamp(kUnsetValue + 3); }
  static constexpr Timestamp Max() { return Timestamp(kDoneValue - 3); }
  static constexpr Timestamp PostStream() { return Timestamp(kDoneValue - 2); }
  static constexpr Timestamp OneOverPostStream() { return Timestamp(kDoneValue - 1); }
  static constexpr Timestamp Done() { return Timestamp(kDoneValue); }

  // Seconds to microseconds, rounded to nearest; an error outside [Min, Max].
  static Result<Timestamp> FromSeconds(double seconds);

  constexpr int64_t Value() const { return value_; }
  constexpr double Seconds() const { return static_cast<double>(value_) / 1e6; }

  constexpr bool IsRangeValue() const { return value_ >= Min().value_ && value_ <= Max().value_; }
  constexpr bool IsSpecialValue() const { return !IsRangeValue(); }
  // Timestamps a packet may carry: the range values plus PreStream and PostStream.
  constexpr bool IsAllowedInStream() const {
    return IsRangeValue() || *this == PreStream() || *this == PostStream();
  }

  // `*this + delta` for a range value; OutOfRange when the result leaves [Min, Max]
  // or when *this is a special value.
  Result<Timestamp> Add(int64_t delta_us) const {
    Timestamp sum;
    if (TryAdd(delta_us, &sum)) return sum;
    return AddError(delta_us);
  }
  // As Add, for hot paths: false (and *sum untouched) when the result would leave [Min, Max].
  bool TryAdd(int64_t delta_us, Timestamp* sum) const {
    int64_t value = 0;
    if (!IsRangeValue() || __builtin_add_overflow(value_, delta_us, &value) || value < Min().value_ ||
        value > Max().value_) {
      return false;
    }
    *sum = Timestamp(value);
    return true;
  }

  // The lowest timestamp a stream may carry after a packet at *this: T+1 for a
  // range value below Max; after PreStream or Max/PostStream nothing may follow
  // but the end of the stream (OneOverPostStream).
  constexpr Timestamp NextAllowedInStream() const {
    if (*this == PreStream() || value_ >= Max().value_) return OneOverPostStream();
    if (value_ < Min().value_) return Min();
    return Timestamp(value_ + 1);
  }

  std::string DebugString() const;

  constexpr auto operator<=>(const Timestamp&) const = default;

 private:
  Status AddError(int64_t delta_us) const;
  static constexpr int64_t kUnsetValue = std::numeric_limits<int64_t>::min();
  static constexpr int64_t kDoneValue = std::numeric_limits<int64_t>::max();
  int64_t value_;
};

}  // namespace edgepipe
