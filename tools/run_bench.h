// `edgepipe run GRAPH --bench`: the pipeline benchmark. While the graph runs it
// records when each source frame is emitted (observers on the source nodes'
// output streams) and when each sink is done with it (Process end of nodes
// without outputs, packets on graph output streams), matched by timestamp;
// at the end it reports frames/s, latency source → sink per frame (p50, p90,
// p99), CPU use (getrusage) and peak RSS.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/resource.h>

#include "core/graph.h"

namespace edgepipe::tools {

class RunBench {
 public:
  // Before StartRun: observes the sources' and graph outputs' streams of `graph` (initialized).
  Status Attach(Graph& graph);
  // From the graph's event listener (sink nodes' Process ends).
  void OnEvent(const GraphEvent& event);
  // Just before StartRun: the CPU time and clock the report counts from.
  void Start();
  // The report, after the run: `frames` source frames in `seconds`.
  std::string Report(int64_t frames, double seconds) const;

  // Per-frame latency in ms of every timestamp both emitted and sunk.
  std::vector<double> FrameLatenciesMs() const;

 private:
  void Record(std::unordered_map<int64_t, int64_t>& times, int64_t timestamp, int64_t now_ns, bool keep_first);

  std::vector<bool> is_sink_;  // by node id of the expanded config
  mutable std::mutex mutex_;
  std::unordered_map<int64_t, int64_t> emitted_ns_;  // timestamp → first emission
  std::unordered_map<int64_t, int64_t> sunk_ns_;     // timestamp → last sink done
  rusage start_usage_{};
};

}  // namespace edgepipe::tools
