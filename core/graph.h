// A graph of calculators: load a config, validate it, run it.
//
//   EP_ASSIGN_OR_RETURN(GraphConfig config, LoadGraphConfigFile("graphs/x.pbtxt"));
//   Graph graph;
//   EP_RETURN_IF_ERROR(graph.Initialize(config));
//   EP_RETURN_IF_ERROR(graph.ObserveOutputStream("out", [](const Packet& p) { ...; return OkStatus(); }));
//   EP_RETURN_IF_ERROR(graph.StartRun({}));
//   EP_RETURN_IF_ERROR(graph.AddPacketToInputStream("in", MakePacket<int>(1).At(Timestamp(0))));
//   EP_RETURN_IF_ERROR(graph.CloseAllInputStreams());
//   EP_RETURN_IF_ERROR(graph.WaitUntilDone());
//
// Threading: the graph's own methods may be called from any one thread at a
// time; observers run on executor threads.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/graph_config.pb.h"
#include "core/packet.h"
#include "core/status.h"
#include "core/trace_writer.h"

namespace edgepipe {

using SidePackets = std::map<std::string, Packet>;

// Parses text-format config; errors name `source_name`:line:column.
Result<GraphConfig> ParseGraphConfig(const std::string& text, const std::string& source_name = "<config>");
Result<GraphConfig> LoadGraphConfigFile(const std::string& path);

// Subgraphs usable by name as a node's calculator in any graph.
class SubgraphRegistry {
 public:
  static SubgraphRegistry& Global();
  Status Register(const GraphConfig& subgraph);  // uses subgraph.type() as the name
  const GraphConfig* Find(std::string_view type) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, GraphConfig, std::less<>> subgraphs_;
};

// Expands every subgraph node (recursively) into plain calculator nodes.
// Internal streams are prefixed with the subgraph node's name.
Result<GraphConfig> ExpandSubgraphs(const GraphConfig& config);

// Blocking reader of one graph output stream.
class OutputStreamPoller {
 public:
  // Waits for the next packet; false once the stream is closed and drained (or the graph failed).
  bool Next(Packet* packet);
  // As Next, giving up after `timeout`; returns nullopt on timeout.
  std::optional<bool> NextFor(Packet* packet, std::chrono::milliseconds timeout);
  size_t QueueSize() const;

  struct State;
  explicit OutputStreamPoller(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
};

enum class AddMode {
  kBlockIfFull,  // wait while the consumer's queue is full (back-pressure)
  kFailIfFull,   // return UNAVAILABLE at once when the queue is full
};

// Per-node counters for `edgepipe run --stats` and tests; readable while the graph runs.
struct NodeStats {
  std::string node;
  std::string calculator;
  uint64_t process_calls = 0;
  uint64_t process_time_us = 0;  // sum
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;
  uint64_t dropped = 0;  // packets the calculator dropped (flow control, CalculatorContext::CountDropped)
  size_t max_queue_seen = 0;
  // Process time: percentiles over the last 4096 calls, maximum over the run. Measured only
  // when the run is timed (enable_statistics, EnableStatistics(), a trace or an event listener).
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0;
};

struct StreamStats {
  std::string stream;
  uint64_t packets = 0;
  double packets_per_second = 0;  // over the run so far
};

// Observes scheduling events (trace files, stall diagnostics).
struct GraphEvent {
  enum class Kind { kProcessStart, kProcessEnd, kOpen, kClose } kind;
  int node_id;
  Timestamp timestamp;
  int64_t time_ns;  // steady clock
};

class GraphRuntime;

class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Validates the config (after subgraph expansion) against every calculator's
  // contract. Nothing runs yet.
  Status Initialize(const GraphConfig& config);

  Status ObserveOutputStream(const std::string& stream, std::function<Status(const Packet&)> observer);
  Result<OutputStreamPoller> AddOutputStreamPoller(const std::string& stream);

  Status StartRun(const SidePackets& side_packets = {});
  Status AddPacketToInputStream(const std::string& stream, Packet packet,
                                AddMode mode = AddMode::kBlockIfFull);
  Status SetInputStreamHeader(const std::string& stream, Packet header);
  Status CloseInputStream(const std::string& stream);
  Status CloseAllInputStreams();
  // Waits until no node can run and every graph input queue is empty.
  Status WaitUntilIdle();
  // Waits until every node has closed; returns the run's status.
  Status WaitUntilDone();
  // Stops the run as soon as running Process calls return; WaitUntilDone then
  // returns CANCELLED.
  void Cancel();
  // StartRun + CloseAllInputStreams + WaitUntilDone.
  Status Run(const SidePackets& side_packets = {});

  bool HasError() const;
  Result<Packet> GetOutputSidePacket(const std::string& name) const;
  std::vector<NodeStats> Stats() const;
  std::vector<StreamStats> StreamStatistics() const;
  // Seconds since StartRun (until WaitUntilDone returned), on the graph's clock.
  double RunSeconds() const;
  // Times every Process call (as enable_statistics in the config); set before StartRun.
  void EnableStatistics(bool enable);
  // Writes a Chrome trace-event JSON file of each run (as `trace` in the config); set before StartRun.
  void EnableTrace(TraceOptions options);
  // When no node runs for `timeout` (on the graph's clock) and the graph is not done, the run
  // fails with a diagnostic naming what each waiting node waits for (also on stderr and in the
  // trace). Overrides the config's stall_timeout_ms; 0 disables it.
  void SetStallTimeout(std::chrono::milliseconds timeout);
  // One line per node that is waiting: which inputs it waits on, queue sizes.
  std::string DescribeWaits() const;
  void SetEventListener(std::function<void(const GraphEvent&)> listener);
  // The time source of statistics, traces and stall detection (default SteadyClock());
  // set before StartRun; the clock must outlive the graph.
  void SetClock(const Clock* clock);

  const GraphConfig& config() const;

 private:
  std::unique_ptr<GraphRuntime> runtime_;
};

}  // namespace edgepipe
