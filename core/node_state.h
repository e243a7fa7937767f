// The graph's tables: the fixed part of each node's state (made by validation,
// core/graph_validation.cc), its per-run queues and counters, and streams.
// Only core/ files and core tests include this.
#pragma once

#include <algorithm>
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
#include "core/graph.h"
#include "core/spin_lock.h"

namespace edgepipe {

struct InputQueue {
  std::deque<Packet> packets;
  // The lowest timestamp a packet not yet queued may have.
  Timestamp bound = Timestamp::Unstarted();
  Packet header;
  Timestamp last_seen = Timestamp::Unstarted();  // of the last packet queued (diagnostics)
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

// Process call durations of one node: the most recent ones (for percentiles), the run's
// maximum and sum. Add runs on every timed call: one uncontended lock, no allocation
// after the first, no division.
struct ProcessTimes {
  static constexpr size_t kRecent = 4096;  // a power of two
  mutable SpinLock mutex;
  std::vector<int64_t> recent_ns;  // ring of kRecent; [0, count) hold samples
  size_t next = 0, count = 0;
  int64_t max_ns = 0;
  uint64_t total_ns = 0;

  void Add(int64_t ns) {
    std::lock_guard lock(mutex);
    if (recent_ns.empty()) recent_ns.resize(kRecent);
    recent_ns[next] = ns;
    next = (next + 1) & (kRecent - 1);
    count += count < kRecent;
    max_ns = std::max(max_ns, ns);
    total_ns += static_cast<uint64_t>(ns);
  }
  void Clear();
  // Percentiles (0..100) of the recent samples, the maximum in µs and the sum in whole µs.
  void Summarize(double* p50_us, double* p90_us, double* p99_us, double* max_us, uint64_t* total_us) const;
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
  bool queue_limit_set = false;  // max_queue_size given on the node or the graph
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
  std::atomic<uint64_t> packets_in{0};
  std::atomic<uint64_t> packets_out{0};
  std::atomic<uint64_t> dropped{0};
  size_t max_queue_seen = 0;
  ProcessTimes process_times;  // only when the run is timed (also the statistics' process_time_us)
  int trace_name = -1;                 // names in this run's trace
  std::vector<int> trace_queue_names;  // per input slot
};

}  // namespace edgepipe
