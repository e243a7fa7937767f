// The graph's inner workings, one job per file:
//   core/graph_validation.cc     config → node and stream tables (the fixed part of NodeState)
//   core/input_stream_handler.h  readiness of a node, one function per handler
//   core/scheduler.cc            tasks on executors: what a task does next, batches, resuming nodes
//   core/node_execution.cc       Open / Process / Close calls and delivery of their outputs
//   core/back_pressure.cc        full queues, throttled sources, deadlock detection
//   core/output_poller.cc        observers and pollers of output streams
//   core/graph_statistics.cc     per node / per stream statistics
//   core/graph_tracing.cc        the run's trace events (core/trace_writer.h writes them)
//   core/stall_diagnostics.cc    who waits for what when nothing moves
//   core/graph.cc                the run's lifecycle and the public Graph facade
// Only core/ files and core tests include this.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/executor.h"
#include "core/graph.h"
#include "core/input_stream_handler.h"
#include "core/node_state.h"
#include "core/trace_writer.h"

namespace edgepipe {

class GraphRuntime {
 public:
  GraphRuntime() = default;
  ~GraphRuntime();

  Status Initialize(const GraphConfig& config);
  Status ObserveOutputStream(const std::string& stream, std::function<Status(const Packet&)> observer);
  Result<OutputStreamPoller> AddOutputStreamPoller(const std::string& stream);
  Status StartRun(const SidePackets& side_packets);
  Status AddPacket(const std::string& stream, Packet packet, AddMode mode);
  Status SetInputStreamHeader(const std::string& stream, Packet header);
  Status CloseInputStream(const std::string& stream);
  Status CloseAllInputStreams();
  Status WaitUntilIdle();
  Status WaitUntilDone();
  void Cancel();
  bool HasError() const;
  Result<Packet> GetOutputSidePacket(const std::string& name) const;
  std::vector<NodeStats> Stats() const;
  std::vector<StreamStats> StreamStatistics() const;
  double RunSeconds() const;
  void EnableStatistics(bool enable) { statistics_ = enable; }
  void EnableTrace(TraceOptions options) { trace_options_ = std::move(options); }
  void SetStallTimeout(std::chrono::milliseconds timeout) { stall_timeout_ = timeout; }
  std::string DescribeWaits() const;
  void SetEventListener(std::function<void(const GraphEvent&)> listener) { listener_ = std::move(listener); }
  void SetClock(const Clock* clock) { clock_ = clock; }
  const GraphConfig& config() const { return config_; }

 private:
  // What one step of a node's task does.
  struct Work {
    WorkKind kind = WorkKind::kNone;
    Timestamp timestamp;
    std::unique_ptr<CalculatorContext> context;
    uint64_t sequence = 0;
    bool drained_last_full_queue = false;
    // Input queue depths after this step took its packets, traced with the call's span
    // (no clock read of their own). A node with more inputs traces the rest at once.
    static constexpr int kTracedPops = 8;
    struct Pop {
      int32_t slot, depth;
    };
    int traced_pops = 0;
    Pop pops[kTracedPops];
  };
  // "Read the clock if a trace needs the time": for Deliver calls with no span end at hand.
  static constexpr int64_t kNoTime = INT64_MIN;

  Status BuildNodes();
  Status ConnectStreams();
  Status CheckTypes();
  Status OrderNodes();
  Status OpenNode(NodeState& node);
  void ResetRunState();

  void RunNode(int node_id);
  bool NextWork(NodeState& node, Work* work);
  void Execute(NodeState& node, Work& work);
  void ThrottleSource(NodeState& node);
  void ScheduleLocked(NodeState& node, bool* schedule);
  void ScheduleTask(NodeState& node);
  // Schedules a task for the node if it is ready and has a free task slot.
  void ResumeNode(NodeState& node);
  void TaskFinished();
  // `now_ns`: the producing call's end, the time of the trace's queue-depth counters.
  void EmitOutputs(NodeState& node, CalculatorContext& context, std::optional<Timestamp> offset_bound,
                   bool close_all, int64_t now_ns = kNoTime);
  // May move from `packets`.
  void Deliver(int stream_id, std::vector<Packet>& packets, Timestamp bound, bool closed, int64_t now_ns = kNoTime);
  void OnQueueDrained();
  void NodeClosed(NodeState& node);
  void RecordError(const Status& status);
  // Ends every poller's stream (`failed`: because the run failed).
  void ClosePollers(bool failed);
  void ResetPollers();
  // With mutex_ held: waits while a queue is full (back-pressure on graph inputs).
  Status WaitForRoomLocked(std::unique_lock<std::mutex>& lock, const std::string& name, Timestamp ts, AddMode mode);
  bool Stopping() const { return stopping_.load(std::memory_order_acquire); }
  Status CheckDeadlockLocked();
  void FinishAfterStop();
  std::unique_ptr<CalculatorContext> MakeContext(NodeState& node);

  // Tracing (core/graph_tracing.cc); the hooks run only while tracer_ is set.
  Status StartTrace();
  Status FinishTrace();
  // One record per call: its span, arrows and (with `work`) the depths its input queues fell to.
  void TraceCall(NodeState& node, TraceWriter::Call call, int64_t start_ns, int64_t end_ns,
                 const CalculatorContext& context, const Work* work = nullptr);
  void TraceQueueDepth(const NodeState& node, int slot, size_t depth, int64_t ns);

  // Stall diagnostics (core/stall_diagnostics.cc). With mutex_ held: waits until `done`,
  // reporting (and with a stall timeout, failing the run) when no progress is made.
  int64_t StallTimeoutMs() const;
  void WaitForDoneLocked(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done);

  GraphConfig config_;
  bool initialized_ = false;
  std::vector<std::unique_ptr<NodeState>> nodes_;
  std::vector<int> open_order_;
  std::vector<StreamDef> streams_;
  std::map<std::string, int, std::less<>> stream_ids_;
  std::map<std::string, int, std::less<>> graph_inputs_;  // name → stream id
  std::vector<GraphInputState> graph_input_states_;       // by stream id (only graph inputs used)
  std::map<int, Packet> graph_input_headers_;              // by stream id
  std::map<std::string, std::pair<int, int>> side_packet_producers_;  // name → (node, slot)
  std::vector<std::unique_ptr<ThreadPoolExecutor>> executors_;
  std::map<std::string, int> executor_ids_;
  std::function<void(const GraphEvent&)> listener_;
  const Clock* clock_ = &SteadyClock();
  bool statistics_ = false;
  TraceOptions trace_options_;
  std::unique_ptr<TraceWriter> tracer_;  // this run's trace, if any
  std::optional<std::chrono::milliseconds> stall_timeout_;
  bool watch_stalls_ = false;  // this run fails on a stall: progress is stamped
  std::atomic<int64_t> last_progress_ns_{0};
  std::unique_ptr<std::atomic<uint64_t>[]> stream_packets_;  // by stream id; one writer per stream

  // ---- Run state ----
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool running_ = false;
  bool timed_ = false;  // Process calls are timed this run
  static constexpr int64_t kNotYet = INT64_MIN;
  std::atomic<int64_t> run_start_ns_{kNotYet};
  std::atomic<int64_t> run_end_ns_{kNotYet};
  bool finished_ = false;
  std::atomic<bool> stopping_{false};
  Status error_;
  bool cancelled_ = false;
  std::atomic<int> active_tasks_{0};
  std::atomic<int> full_queues_{0};
  int closed_nodes_ = 0;
  int waiting_adders_ = 0;
  std::vector<int> throttled_sources_;
  std::map<std::string, Packet> side_packets_;
};

// Inline: called on every packet delivery (core/node_execution.cc) and by the scheduler.
inline void GraphRuntime::ScheduleLocked(NodeState& node, bool* schedule) {
  *schedule = false;
  if (Stopping() || node.tasks >= node.max_in_flight) return;
  if (node.is_source && node.tasks > 0) return;
  if (EvaluateInputs(node, 0).kind == WorkKind::kNone) return;
  ++node.tasks;
  *schedule = true;
}

}  // namespace edgepipe
