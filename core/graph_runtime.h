// The graph's inner workings: validated node and stream tables, input queues,
// readiness, scheduling on executors, back-pressure, deadlock detection.
// Only core/graph.cc and core tests include this.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/calculator.h"
#include "core/executor.h"
#include "core/spin_lock.h"
#include "core/graph.h"

namespace edgepipe {

struct InputQueue {
  std::deque<Packet> packets;
  // The lowest timestamp a packet not yet queued may have.
  Timestamp bound = Timestamp::Unstarted();
  Packet header;
  int max_size = 100;
  bool back_edge = false;
  bool counted_full = false;  // this queue is part of the graph's full-queue count
  int stream = -1;
};

struct OutputObserver {
  std::function<Status(const Packet&)> callback;
};

struct OutputStreamPoller::State {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Packet> packets;
  bool closed = false;
  bool failed = false;
};

struct StreamDef {
  std::string name;
  int producer_node = -1;  // -1: a graph input stream
  int producer_slot = -1;
  bool graph_input = false;
  TypeId type;
  std::vector<std::pair<int, int>> consumers;  // (node, input slot)
  std::vector<OutputObserver> observers;
  std::vector<std::shared_ptr<OutputStreamPoller::State>> pollers;
};

struct GraphInputState {
  Timestamp last = Timestamp::Unstarted();
  bool closed = false;
};

struct NodeState {
  // ---- Fixed at Initialize ----
  int id = 0;
  std::string name;
  std::string calculator_name;
  std::string where;  // "node "x" (Calculator, file:line)" for messages
  const CalculatorRegistration* registration = nullptr;
  std::unique_ptr<CalculatorContract> contract;
  const google::protobuf::Message* options = nullptr;
  PortLayout input_layout, output_layout, input_side_layout, output_side_layout;
  std::vector<std::string> input_names, output_names, input_side_names, output_side_names;
  std::vector<int> input_streams, output_streams;
  std::vector<bool> input_back_edge;
  std::vector<int> input_queue_limits;
  int executor = 0;
  InputHandlerKind handler = InputHandlerKind::kDefault;
  std::optional<int64_t> offset;
  bool process_bounds = false;
  int max_in_flight = 1;
  bool is_source = false;

  // ---- Per run ----
  mutable SpinLock mutex;  // guards the fields below; held only for queue work, never across calls
  std::vector<InputQueue> inputs;
  std::unique_ptr<CalculatorBase> calculator;
  bool opened = false;
  bool closed = false;        // Close called (or never to be called)
  bool closing = false;       // a task is running Close
  int tasks = 0;              // tasks scheduled or running
  bool bounds_changed = false;  // an input bound rose without a packet (for process_bounds nodes)
  Timestamp last_input_timestamp = Timestamp::Unstarted();
  Timestamp last_offset_bound = Timestamp::Unstarted();
  std::vector<Timestamp> output_bounds;  // per output slot; touched only by the emitting task
  std::vector<char> output_closed;  // not vector<bool>: read on every emit
  std::vector<std::unique_ptr<CalculatorContext>> free_contexts;
  std::unique_ptr<CalculatorContext> open_context;  // for Open/Close and side packets
  uint64_t next_sequence = 0;
  uint64_t next_to_emit = 0;
  std::map<uint64_t, std::unique_ptr<CalculatorContext>> finished;  // out-of-order results
  bool emitting = false;

  std::atomic<uint64_t> process_calls{0};
  std::atomic<uint64_t> process_time_us{0};
  std::atomic<uint64_t> packets_in{0};
  std::atomic<uint64_t> packets_out{0};
  size_t max_queue_seen = 0;
};

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
  std::string DescribeWaits() const;
  void SetEventListener(std::function<void(const GraphEvent&)> listener) { listener_ = std::move(listener); }
  const GraphConfig& config() const { return config_; }

 private:
  struct Work;
  struct Readiness;

  Status BuildNodes();
  Status ConnectStreams();
  Status CheckTypes();
  Status OrderNodes();
  Status OpenNode(NodeState& node);
  void ResetRunState();

  void RunNode(int node_id);
  bool NextWork(NodeState& node, Work* work);
  void Execute(NodeState& node, Work& work);
  Readiness Evaluate(const NodeState& node, int own_tasks) const;
  void ThrottleSource(NodeState& node);
  void ScheduleLocked(NodeState& node, bool* schedule);
  void ScheduleTask(NodeState& node);
  void TaskFinished();
  void EmitOutputs(NodeState& node, CalculatorContext& context, std::optional<Timestamp> offset_bound,
                   bool close_all);
  // May move from `packets`.
  void Deliver(int stream_id, std::vector<Packet>& packets, Timestamp bound, bool closed);
  void OnQueueDrained();
  void NodeClosed(NodeState& node);
  void RecordError(const Status& status);
  bool Stopping() const { return stopping_.load(std::memory_order_acquire); }
  Status CheckDeadlockLocked();
  void FinishAfterStop();
  std::unique_ptr<CalculatorContext> MakeContext(NodeState& node);

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

  // ---- Run state ----
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool running_ = false;
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

}  // namespace edgepipe
