// Timing statistics for `edgepipe bench`, apart from the command so they can be
// tested with known durations and an injected clock.
#pragma once

#include <functional>
#include <vector>

#include "core/status.h"

namespace edgepipe::tools {

struct LatencyStats {
  int count = 0;
  double mean = 0, median = 0, p90 = 0, p99 = 0, std = 0, min = 0, max = 0;
};

// Percentiles interpolate linearly between order statistics (NumPy's default),
// std is the population standard deviation. Empty input: all zero.
LatencyStats Summarize(std::vector<double> samples);
double Percentile(const std::vector<double>& sorted, double q);  // q in [0, 100]

// Milliseconds since an arbitrary origin; tests pass a fake one.
using MillisClock = std::function<double()>;
MillisClock SteadyClock();

// Calls `run` at least `min_runs` times and until `min_ms` have passed on
// `clock`, returning each call's duration in ms; stops at the first error.
// `prepare(i)` runs before call i (from 0), outside the timing (the next input
// image); `progress(n)` after n calls.
Result<std::vector<double>> TimeRuns(const std::function<Status()>& run, const MillisClock& clock, int min_runs,
                                     double min_ms, const std::function<void(int)>& progress = {},
                                     const std::function<Status(int)>& prepare = {});

}  // namespace edgepipe::tools
