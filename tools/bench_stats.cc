#include "tools/bench_stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace edgepipe::tools {

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double rank = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(rank));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(below);
  return sorted[below] + (sorted[above] - sorted[below]) * frac;
}

LatencyStats Summarize(std::vector<double> samples) {
  LatencyStats s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const double n = static_cast<double>(samples.size());
  s.count = static_cast<int>(samples.size());
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / n;
  double squares = 0;
  for (double x : samples) squares += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(squares / n);
  s.median = Percentile(samples, 50);
  s.p90 = Percentile(samples, 90);
  s.p99 = Percentile(samples, 99);
  s.min = samples.front();
  s.max = samples.back();
  return s;
}

MillisClock SteadyClock() {
  return [] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
}

Result<std::vector<double>> TimeRuns(const std::function<Status()>& run, const MillisClock& clock, int min_runs,
                                     double min_ms, const std::function<void(int)>& progress,
                                     const std::function<Status(int)>& prepare) {
  std::vector<double> durations;
  const double begin = clock();
  double now = begin;
  while (static_cast<int>(durations.size()) < min_runs || now - begin < min_ms) {
    if (prepare) EP_RETURN_IF_ERROR(prepare(static_cast<int>(durations.size())));
    const double start = clock();
    EP_RETURN_IF_ERROR(run().WithContext(fmt::format("run {}", durations.size() + 1)));
    now = clock();
    durations.push_back(now - start);
    if (progress) progress(static_cast<int>(durations.size()));
  }
  return durations;
}

}  // namespace edgepipe::tools
