// Exact frame rates and frame timestamps.
//
// Containers store rates as rationals (23.976 fps is 23976/1000, NTSC's 29.97
// is 30000/1001) but OpenCV reports a double. Timestamps computed as
// index * (1e6 / fps) in floating point drift and land on different
// microseconds than the file's own times; recovering the rational and
// computing round(index * 1e6 * den / num) in integers gives the exact
// timestamp of every frame, with no accumulated error.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace edgepipe {

struct FrameRate {
  int64_t numerator = 0;    // frames …
  int64_t denominator = 1;  // … per this many seconds
  bool valid() const { return numerator > 0 && denominator > 0; }
  double ToDouble() const { return valid() ? static_cast<double>(numerator) / static_cast<double>(denominator) : 0.0; }
  std::string ToString() const;  // "2997/125 (23.976 fps)"
  bool operator==(const FrameRate&) const = default;
};

// The simplest rational within 1e-9 (relative) of `fps`, denominator ≤ 100000;
// an error for non-finite or non-positive rates.
Result<FrameRate> RationalFrameRate(double fps);

// Timestamp of frame `index` in microseconds: index * 1e6 / rate, rounded to the
// nearest microsecond (halves away from zero), computed exactly in integers.
int64_t FrameTimestampUs(int64_t index, const FrameRate& rate);

}  // namespace edgepipe
