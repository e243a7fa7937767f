// Statistics of a run, readable while it runs: per node calls, Process time
// percentiles, packets in / out, drops, the deepest queue; per stream packets and rate.
#include <algorithm>

#include "core/graph_runtime.h"

namespace edgepipe {

void ProcessTimes::Clear() {
  std::lock_guard lock(mutex);
  recent_ns.clear();
  next = count = 0;
  max_ns = 0;
  total_ns = 0;
}

void ProcessTimes::Summarize(double* p50_us, double* p90_us, double* p99_us, double* max_us,
                             uint64_t* total_us) const {
  std::vector<int64_t> samples;
  int64_t max = 0;
  {
    std::lock_guard lock(mutex);
    samples.assign(recent_ns.begin(), recent_ns.begin() + static_cast<std::ptrdiff_t>(count));
    max = max_ns;
    *total_us = total_ns / 1000;
  }
  *max_us = static_cast<double>(max) / 1000.0;
  if (samples.empty()) {
    *p50_us = *p90_us = *p99_us = 0;
    return;
  }
  std::sort(samples.begin(), samples.end());
  // Nearest rank: the smallest sample with at least p % of the samples at or below it.
  auto percentile = [&](int p) {
    const size_t rank = (samples.size() * static_cast<size_t>(p) + 99) / 100;
    return static_cast<double>(samples[std::max<size_t>(rank, 1) - 1]) / 1000.0;
  };
  *p50_us = percentile(50);
  *p90_us = percentile(90);
  *p99_us = percentile(99);
}

std::vector<NodeStats> GraphRuntime::Stats() const {
  std::vector<NodeStats> stats;
  for (const auto& node : nodes_) {
    NodeStats one;
    one.node = node->name;
    one.calculator = node->calculator_name;
    one.process_calls = node->process_calls.load();
    one.packets_in = node->packets_in.load();
    one.packets_out = node->packets_out.load();
    one.dropped = node->dropped.load();
    {
      std::lock_guard lock(node->mutex);
      one.max_queue_seen = node->max_queue_seen;
    }
    node->process_times.Summarize(&one.p50_us, &one.p90_us, &one.p99_us, &one.max_us, &one.process_time_us);
    stats.push_back(one);
  }
  return stats;
}

double GraphRuntime::RunSeconds() const {
  const int64_t start = run_start_ns_.load();
  if (start == kNotYet) return 0;
  const int64_t end = run_end_ns_.load();
  return static_cast<double>((end != kNotYet ? end : clock_->NowNs()) - start) / 1e9;
}

std::vector<StreamStats> GraphRuntime::StreamStatistics() const {
  const double seconds = RunSeconds();
  std::vector<StreamStats> stats;
  for (size_t id = 0; id < streams_.size(); ++id) {
    StreamStats one;
    one.stream = streams_[id].name;
    one.packets = stream_packets_ ? stream_packets_[id].load(std::memory_order_relaxed) : 0;
    one.packets_per_second = seconds > 0 ? static_cast<double>(one.packets) / seconds : 0.0;
    stats.push_back(one);
  }
  return stats;
}

}  // namespace edgepipe
