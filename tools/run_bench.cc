#include "tools/run_bench.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "core/stream_name.h"
#include "tools/bench_stats.h"
#include "tools/machine_info.h"

namespace edgepipe::tools {

namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double CpuSeconds(const rusage& u) {
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string StreamName(const std::string& spec) {
  auto parsed = ParseStreamSpec(spec);
  return parsed.ok() ? parsed->name : spec;
}

}  // namespace

void RunBench::Record(std::unordered_map<int64_t, int64_t>& times, int64_t timestamp, int64_t now_ns,
                      bool keep_first) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = times.emplace(timestamp, now_ns);
  if (!inserted && !keep_first) it->second = std::max(it->second, now_ns);
}

Status RunBench::Attach(Graph& graph) {
  std::set<std::string> source_streams;
  for (const Node& node : graph.config().node()) {
    is_sink_.push_back(node.output_stream_size() == 0 && node.input_stream_size() > 0);
    if (node.input_stream_size() == 0)
      for (const std::string& spec : node.output_stream()) source_streams.insert(StreamName(spec));
  }
  for (const std::string& stream : source_streams) {
    EP_RETURN_IF_ERROR(graph.ObserveOutputStream(stream, [this](const Packet& p) {
      Record(emitted_ns_, p.timestamp().Value(), SteadyNowNs(), true);
      return OkStatus();
    }));
  }
  for (const std::string& spec : graph.config().output_stream()) {
    EP_RETURN_IF_ERROR(graph.ObserveOutputStream(StreamName(spec), [this](const Packet& p) {
      Record(sunk_ns_, p.timestamp().Value(), SteadyNowNs(), false);
      return OkStatus();
    }));
  }
  return OkStatus();
}

void RunBench::OnEvent(const GraphEvent& event) {
  if (event.kind != GraphEvent::Kind::kProcessEnd || event.node_id < 0 ||
      static_cast<size_t>(event.node_id) >= is_sink_.size() || !is_sink_[event.node_id] ||
      !event.timestamp.IsRangeValue())
    return;
  Record(sunk_ns_, event.timestamp.Value(), event.time_ns, false);
}

void RunBench::Start() { getrusage(RUSAGE_SELF, &start_usage_); }

std::vector<double> RunBench::FrameLatenciesMs() const {
  std::lock_guard lock(mutex_);
  std::vector<double> latencies;
  for (const auto& [timestamp, sunk] : sunk_ns_) {
    auto emitted = emitted_ns_.find(timestamp);
    if (emitted != emitted_ns_.end()) latencies.push_back(static_cast<double>(sunk - emitted->second) / 1e6);
  }
  return latencies;
}

std::string RunBench::Report(int64_t frames, double seconds) const {
  rusage end{};
  getrusage(RUSAGE_SELF, &end);
  const double cpu = CpuSeconds(end) - CpuSeconds(start_usage_);
  const LatencyStats latency = Summarize(FrameLatenciesMs());
  size_t emitted = 0;
  {
    std::lock_guard lock(mutex_);
    emitted = emitted_ns_.size();
  }
  std::string report = fmt::format(
      "pipeline benchmark\n"
      "  frames:            {} in {:.2f} s = {:.1f} frames/s\n",
      frames, seconds, seconds > 0 ? static_cast<double>(frames) / seconds : 0.0);
  if (latency.count > 0) {
    report += fmt::format(
        "  latency source→sink, {} of {} frames reached a sink: p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms "
        "(mean {:.2f}, max {:.2f})\n",
        latency.count, emitted, latency.median, latency.p90, latency.p99, latency.mean, latency.max);
  } else {
    report += fmt::format("  latency source→sink: no frame matched ({} emitted; sinks are nodes without outputs "
                          "and graph output streams, matched by timestamp)\n", emitted);
  }
  const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  const double busy = seconds > 0 ? cpu / seconds : 0.0;
  report += fmt::format("  CPU:               {:.2f} s user+system = {:.2f} cores busy ({:.0f} % of {} cores)\n", cpu,
                        busy, 100.0 * busy / static_cast<double>(cores), cores);
  report += fmt::format("  peak RSS:          {:.1f} MB\n", static_cast<double>(ProcStatusKb("VmHWM")) / 1024);
  return report;
}

}  // namespace edgepipe::tools
