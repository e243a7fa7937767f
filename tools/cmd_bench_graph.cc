// `edgepipe bench-graph`: the scheduler's cost per hop, measured on a chain of
// pass-through nodes between a counting source and a counting sink.
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/graph.h"
#include "tools/commands.h"

namespace edgepipe::tools {

namespace {

struct BenchGraphOptions {
  int nodes = 10;
  int64_t packets = 1'000'000;
  int threads = 1;
  bool executor_per_node = false;
  int max_queue_size = 100;
  bool statistics = false;  // time every Process call, as `edgepipe run --stats` does
  std::string trace_path;   // write a Chrome trace of the timed run, as `edgepipe run --trace`
};

// Resident set size now, in KiB (from /proc; 0 where unavailable).
long CurrentRssKb() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

std::string ChainConfig(const BenchGraphOptions& options) {
  std::string config = fmt::format("max_queue_size: {}\n", options.max_queue_size);
  config += fmt::format("executor {{ num_threads: {} }}\n", options.threads);
  auto executor_of = [&](int index) -> std::string {
    if (!options.executor_per_node) return "";
    return fmt::format(" executor: \"node{}\"", index);
  };
  const int total_nodes = options.nodes + 2;
  if (options.executor_per_node) {
    for (int i = 0; i < total_nodes; ++i) config += fmt::format("executor {{ name: \"node{}\" num_threads: 1 }}\n", i);
  }
  config += fmt::format(
      "node {{ calculator: \"CountingSourceCalculator\" output_stream: \"s0\"{} input_side_packet: "
      "\"NUM_PACKETS:packets\" }}\n",
      executor_of(0));
  for (int i = 1; i <= options.nodes; ++i) {
    config += fmt::format(
        "node {{ calculator: \"PassThroughCalculator\" input_stream: \"s{}\" output_stream: \"s{}\"{} }}\n", i - 1, i,
        executor_of(i));
  }
  config += fmt::format(
      "node {{ calculator: \"PacketCounterCalculator\" input_stream: \"s{}\" output_side_packet: \"COUNT:count\"{} "
      "}}\n",
      options.nodes, executor_of(total_nodes - 1));
  return config;
}

Result<nlohmann::json> RunBenchGraph(const BenchGraphOptions& options) {
  EP_ASSIGN_OR_RETURN(GraphConfig config, ParseGraphConfig(ChainConfig(options), "bench-graph"));
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  graph.EnableStatistics(options.statistics);
  // Each run rewrites the trace file, so the file left is the timed run's.
  if (!options.trace_path.empty()) graph.EnableTrace(TraceOptions{options.trace_path});
  // A short warm-up run starts threads and faults in memory.
  EP_RETURN_IF_ERROR(graph.Run({{"packets", MakePacket<int64_t>(std::min<int64_t>(options.packets, 10000))}}));
  const long rss_before_kb = CurrentRssKb();
  const auto start = std::chrono::steady_clock::now();
  EP_RETURN_IF_ERROR(graph.Run({{"packets", MakePacket<int64_t>(options.packets)}}));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long rss_after_kb = CurrentRssKb();
  EP_ASSIGN_OR_RETURN(Packet count, graph.GetOutputSidePacket("count"));
  EP_ASSIGN_OR_RETURN(const int64_t* received, count.Get<int64_t>());
  if (*received != options.packets) {
    return InternalError("the sink received {} packets, expected {}", *received, options.packets);
  }
  size_t max_queue = 0;
  for (const NodeStats& stats : graph.Stats()) max_queue = std::max(max_queue, stats.max_queue_seen);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  nlohmann::json result = {
      {"nodes", options.nodes},
      {"packets", options.packets},
      {"threads", options.threads},
      {"executor_per_node", options.executor_per_node},
      {"statistics", options.statistics},
      {"trace", options.trace_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.trace_path)},
      {"seconds", seconds},
      {"packets_per_second", static_cast<double>(options.packets) / seconds},
      {"us_per_hop", seconds * 1e6 / (static_cast<double>(options.packets) * std::max(1, options.nodes))},
      {"max_queue_seen", max_queue},
      {"rss_kb_before", rss_before_kb},
      {"rss_kb_after", rss_after_kb},
      {"peak_rss_kb", usage.ru_maxrss},
  };
  return result;
}

}  // namespace

void AddBenchGraphCommand(CLI::App& app) {
  auto options = std::make_shared<BenchGraphOptions>();
  CLI::App* command = app.add_subcommand(
      "bench-graph", "Time packets through a chain of pass-through nodes (scheduler overhead); prints JSON");
  command->add_option("--nodes", options->nodes, "pass-through nodes in the chain")->check(CLI::Range(1, 1000));
  command->add_option("--packets", options->packets, "packets to send")->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  command->add_option("--threads", options->threads, "threads of the default executor")->check(CLI::Range(1, 256));
  command->add_flag("--executor-per-node", options->executor_per_node, "give every node its own one-thread executor");
  command->add_option("--max-queue-size", options->max_queue_size, "input queue limit")->check(CLI::Range(1, 1 << 20));
  command->add_flag("--stats", options->statistics, "time every Process call (the cost of `edgepipe run --stats`)");
  command->add_option("--trace", options->trace_path,
                      "write a Chrome trace of the timed run to FILE (the cost of `edgepipe run --trace`)");
  command->callback([options] {
    auto result = RunBenchGraph(*options);
    if (!result.ok()) {
      fmt::print(stderr, "edgepipe bench-graph: {}\n", result.status().ToString());
      ExitCode() = 1;
      return;
    }
    fmt::print("{}\n", result->dump(2));
  });
}

}  // namespace edgepipe::tools
