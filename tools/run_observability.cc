#include "tools/run_observability.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

namespace edgepipe::tools {

void AddObservabilityOptions(CLI::App* run, ObservabilityFlags* flags) {
  run->add_flag("--stats", flags->stats,
                "Time every Process call; print per-node and per-stream statistics and peak RSS at the end");
  run->add_option("--trace", flags->trace_path,
                  "Write a Chrome trace-event JSON file (open in ui.perfetto.dev or chrome://tracing)");
  run->add_option("--stall-timeout", flags->stall_timeout_s,
                  "Fail with a diagnostic of who waits for what when nothing runs for S seconds")
      ->check(CLI::NonNegativeNumber);
}

void ApplyObservability(const ObservabilityFlags& flags, Graph& graph) {
  if (flags.stats) graph.EnableStatistics(true);
  if (!flags.trace_path.empty()) graph.EnableTrace(TraceOptions{flags.trace_path});
  if (flags.stall_timeout_s > 0) {
    graph.SetStallTimeout(std::chrono::milliseconds(static_cast<int64_t>(flags.stall_timeout_s * 1000)));
  }
}

long PeakRssKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // KiB on Linux
}

void PrintStatistics(const Graph& graph) {
  std::string out = fmt::format("{:<30} {:<30} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}\n", "node",
                                "calculator", "calls", "p50_us", "p90_us", "p99_us", "max_us", "in", "out",
                                "dropped", "max_q");
  for (const NodeStats& stat : graph.Stats()) {
    out += fmt::format("{:<30} {:<30} {:>8} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9} {:>9} {:>9} {:>7}\n", stat.node,
                       stat.calculator, stat.process_calls, stat.p50_us, stat.p90_us, stat.p99_us, stat.max_us,
                       stat.packets_in, stat.packets_out, stat.dropped, stat.max_queue_seen);
  }
  out += fmt::format("\n{:<40} {:>10} {:>12}\n", "stream", "packets", "packets/s");
  for (const StreamStats& stream : graph.StreamStatistics()) {
    out += fmt::format("{:<40} {:>10} {:>12.1f}\n", stream.stream, stream.packets, stream.packets_per_second);
  }
  out += fmt::format("\npeak RSS: {:.1f} MiB\n", static_cast<double>(PeakRssKib()) / 1024.0);
  std::fputs(out.c_str(), stderr);
}

}  // namespace edgepipe::tools
