// Calls into a node's calculator (Open, Process, Close) and delivery of what
// they produced to consumer queues, observers and pollers.
#include <algorithm>

#include "core/calculator_call.h"
#include "core/graph_runtime.h"

namespace edgepipe {

namespace {
// A node's output bounds are touched by one task at a time, except with
// max_in_flight > 1, where a starting call reads them while another emits.
std::unique_lock<SpinLock> LockOutputState(NodeState& node) {
  std::unique_lock<SpinLock> lock(node.mutex, std::defer_lock);
  if (node.max_in_flight > 1) lock.lock();
  return lock;
}
}  // namespace

std::unique_ptr<CalculatorContext> GraphRuntime::MakeContext(NodeState& node) {
  auto context = std::make_unique<CalculatorContext>();
  context->Setup(&node.name, &node.calculator_name, node.options, &node.input_layout, node.input_names,
                 &node.output_layout, node.output_names, &node.input_side_layout, &node.output_side_layout);
  for (int slot = 0; slot < node.input_side_layout.size(); ++slot) {
    auto it = side_packets_.find(node.input_side_names[slot]);
    if (it != side_packets_.end()) context->input_side_packets_.packets_[slot] = it->second;
  }
  for (int slot = 0; slot < node.input_layout.size(); ++slot) {
    context->input_headers_[slot] = node.inputs[slot].header;
  }
  return context;
}


Status GraphRuntime::OpenNode(NodeState& node) {
  std::unique_ptr<CalculatorBase> calculator;
  Status created = CallCalculator([&] {
    calculator = node.registration->create();
    return OkStatus();
  });
  if (!created.ok()) return created.WithContext(node.where + " (creating the calculator)");
  node.open_context = MakeContext(node);
  CalculatorContext& context = *node.open_context;
  for (int slot = 0; slot < node.input_side_layout.size(); ++slot) {
    auto it = side_packets_.find(node.input_side_names[slot]);
    if (it != side_packets_.end()) context.input_side_packets_.packets_[slot] = it->second;
  }
  for (auto& handle : context.outputs_.handles_) handle.header_allowed_ = true;
  context.input_timestamp_ = Timestamp::Unstarted();
  const int64_t open_start = listener_ || tracer_ ? clock_->NowNs() : 0;
  if (listener_) listener_({GraphEvent::Kind::kOpen, node.id, Timestamp::Unstarted(), open_start});
  Status status = CallCalculator([&] { return calculator->Open(&context); });
  const int64_t open_end = tracer_ ? clock_->NowNs() : kNoTime;
  if (tracer_) TraceCall(node, TraceWriter::Call::kOpen, open_start, open_end, context);
  for (auto& handle : context.outputs_.handles_) handle.header_allowed_ = false;
  node.calculator = std::move(calculator);
  node.opened = true;
  if (!status.ok()) return status.WithContext(node.where + " Open");
  // Side packets produced in Open are visible to the nodes opened after this one.
  for (int slot = 0; slot < node.output_side_layout.size(); ++slot) {
    const Packet& packet = context.output_side_packets_.packets_[slot];
    if (!packet.IsEmpty()) side_packets_[node.output_side_names[slot]] = packet;
  }
  // Headers go straight to the consumers' queues (they open later).
  for (int slot = 0; slot < node.output_layout.size(); ++slot) {
    const Packet& header = context.outputs_.handles_[slot].header();
    if (header.IsEmpty()) continue;
    for (auto [consumer, in_slot] : streams_[node.output_streams[slot]].consumers) {
      std::lock_guard lock(nodes_[consumer]->mutex);
      nodes_[consumer]->inputs[in_slot].header = header;
    }
  }
  // Packets emitted in Open are delivered like any other.
  EmitOutputs(node, context, std::nullopt, false, open_end);
  for (int i = 0; i < node.max_in_flight; ++i) node.free_contexts.push_back(MakeContext(node));
  return OkStatus();
}

void GraphRuntime::Execute(NodeState& node, Work& work) {
  if (work.kind == WorkKind::kClose) {
    CalculatorContext& context = *node.open_context;
    for (auto& packet : context.input_packets_) packet = Packet();
    context.input_timestamp_ = Timestamp::Done();
    for (int slot = 0; slot < node.output_layout.size(); ++slot) {
      OutputStreamHandle& handle = context.outputs_.handles_[slot];
      handle.packets_.clear();
      handle.next_bound_ = node.output_bounds[slot];
      handle.closed_ = node.output_closed[slot];
    }
    const int64_t close_start = listener_ || tracer_ ? clock_->NowNs() : 0;
    if (listener_) listener_({GraphEvent::Kind::kClose, node.id, Timestamp::Done(), close_start});
    Status status = CallCalculator([&] { return node.calculator->Close(&context); });
    if (!status.ok()) RecordError(status.WithContext(node.where + " Close"));
    const int64_t close_end = tracer_ ? clock_->NowNs() : kNoTime;
    if (tracer_) TraceCall(node, TraceWriter::Call::kClose, close_start, close_end, context);
    if (context.dropped_ != 0) {
      node.dropped.fetch_add(static_cast<uint64_t>(context.dropped_), std::memory_order_relaxed);
      context.dropped_ = 0;
    }
    EmitOutputs(node, context, std::nullopt, true, close_end);
    NodeClosed(node);
    return;
  }
  if (work.kind == WorkKind::kBoundOnly && !work.context) {
    // Offset propagation without a Process call.
    std::optional<Timestamp> bound;
    {
      std::lock_guard lock(node.mutex);
      auto candidate = work.timestamp.Add(*node.offset);
      if (candidate.ok() && *candidate > node.last_offset_bound) {
        node.last_offset_bound = *candidate;
        bound = *candidate;
      }
    }
    if (bound) {
      for (int slot = 0; slot < node.output_layout.size(); ++slot) {
        {
          auto state_lock = LockOutputState(node);
          if (node.output_closed[slot] || *bound <= node.output_bounds[slot]) continue;
          node.output_bounds[slot] = *bound;
        }
        std::vector<Packet> none;
        Deliver(node.output_streams[slot], none, *bound, false);
      }
    }
    return;
  }

  CalculatorContext& context = *work.context;
  {
    auto state_lock = LockOutputState(node);
    for (int slot = 0; slot < node.output_layout.size(); ++slot) {
      OutputStreamHandle& handle = context.outputs_.handles_[slot];
      handle.packets_.clear();
      handle.next_bound_ = node.output_bounds[slot];
      handle.closed_ = node.output_closed[slot];
    }
  }
  // Clock reads cost about as much as a hop: only when someone looks at the times.
  const bool timed = timed_;
  const int64_t start = timed ? clock_->NowNs() : 0;
  int64_t end = kNoTime;
  if (listener_) listener_({GraphEvent::Kind::kProcessStart, node.id, work.timestamp, start});
  Status status = CallCalculator([&] { return node.calculator->Process(&context); });
  if (timed) {
    end = clock_->NowNs();
    if (listener_) listener_({GraphEvent::Kind::kProcessEnd, node.id, work.timestamp, end});
    node.process_times.Add(end - start);
    if (tracer_) TraceCall(node, TraceWriter::Call::kProcess, start, end, context, &work);
  }
  if (context.dropped_ != 0) {
    node.dropped.fetch_add(static_cast<uint64_t>(context.dropped_), std::memory_order_relaxed);
    context.dropped_ = 0;
  }
  node.process_calls.fetch_add(1, std::memory_order_relaxed);

  bool stop = false;
  if (IsStopProcessing(status)) {
    stop = true;
  } else if (!status.ok()) {
    RecordError(status.WithContext(fmt::format("{} Process at timestamp {}", node.where,
                                               work.timestamp.DebugString())));
    std::lock_guard lock(node.mutex);
    node.free_contexts.push_back(std::move(work.context));
    ++node.next_to_emit;
    return;
  }

  std::optional<Timestamp> offset_bound;
  Timestamp with_offset;
  if (node.offset && work.timestamp.TryAdd(*node.offset, &with_offset)) {
    offset_bound = with_offset.NextAllowedInStream();
  }

  if (node.max_in_flight == 1) {
    EmitOutputs(node, context, offset_bound, false, end);
    std::lock_guard lock(node.mutex);
    ++node.next_to_emit;
    node.free_contexts.push_back(std::move(work.context));
  } else {
    // Outputs leave in input order: park this result until earlier ones are out.
    std::unique_lock lock(node.mutex);
    node.finished[work.sequence] = std::move(work.context);
    if (node.emitting) return;
    node.emitting = true;
    while (!node.finished.empty() && node.finished.begin()->first == node.next_to_emit) {
      std::unique_ptr<CalculatorContext> ready = std::move(node.finished.begin()->second);
      node.finished.erase(node.finished.begin());
      lock.unlock();
      std::optional<Timestamp> ready_bound;
      if (node.offset && ready->input_timestamp_.IsRangeValue()) {
        auto bound = ready->input_timestamp_.Add(*node.offset);
        if (bound.ok()) ready_bound = bound->NextAllowedInStream();
      }
      EmitOutputs(node, *ready, ready_bound, false);
      lock.lock();
      ++node.next_to_emit;
      node.free_contexts.push_back(std::move(ready));
    }
    node.emitting = false;
  }

  if (stop) {
    // A calculator that stops early is closed at once: Close, then end-of-stream downstream.
    {
      std::lock_guard lock(node.mutex);
      if (node.closing || node.closed) return;
      node.closing = true;
      for (InputQueue& queue : node.inputs) queue.packets.clear();
    }
    Work close;
    close.kind = WorkKind::kClose;
    Execute(node, close);
  }
}

// Delivers what one call produced, then raises bounds (explicit, by offset, or Done).
void GraphRuntime::EmitOutputs(NodeState& node, CalculatorContext& context, std::optional<Timestamp> offset_bound,
                               bool close_all, int64_t now_ns) {
  for (int slot = 0; slot < node.output_layout.size(); ++slot) {
    auto state_lock = LockOutputState(node);
    if (node.output_closed[slot]) continue;
    OutputStreamHandle& handle = context.outputs_.handles_[slot];
    // With max_in_flight > 1 a later call may have raised the stream already.
    std::vector<Packet>& packets = handle.packets_;
    if (!packets.empty() && packets.front().timestamp() < node.output_bounds[slot]) {
      Status error = InvalidArgumentError("{}: output \"{}\" got a packet at {} below the stream's bound {}",
                                          node.where, handle.name_, packets.front().timestamp().DebugString(),
                                          node.output_bounds[slot].DebugString());
      if (state_lock.owns_lock()) state_lock.unlock();
      RecordError(error);
      packets.clear();
      continue;
    }
    Timestamp bound = std::max(handle.next_bound_, node.output_bounds[slot]);
    if (offset_bound && *offset_bound > bound) bound = *offset_bound;
    const bool closed = close_all || handle.closed_;
    if (closed) bound = Timestamp::Done();
    if (packets.empty() && bound == node.output_bounds[slot] && !closed) continue;
    node.output_bounds[slot] = bound;
    node.output_closed[slot] = closed;
    if (state_lock.owns_lock()) state_lock.unlock();
    node.packets_out.fetch_add(packets.size(), std::memory_order_relaxed);
    Deliver(node.output_streams[slot], packets, bound, closed, now_ns);
    packets.clear();
  }
}

void GraphRuntime::Deliver(int stream_id, std::vector<Packet>& packets, Timestamp bound, bool closed,
                           int64_t now_ns) {
  StreamDef& stream = streams_[stream_id];
  if (tracer_ && !packets.empty() && now_ns == kNoTime) now_ns = clock_->NowNs();
  if (!packets.empty()) {
    // One writer per stream (its producer's emitting task, or the graph input's caller): no atomic add.
    std::atomic<uint64_t>& count = stream_packets_[stream_id];
    count.store(count.load(std::memory_order_relaxed) + packets.size(), std::memory_order_relaxed);
  }
  // The last queue (with no observer or poller after it) may take the packets instead of copies.
  const bool move_to_last = stream.observers.empty() && stream.pollers.empty();
  const size_t consumer_count = stream.consumers.size();
  for (size_t c = 0; c < consumer_count; ++c) {
    auto [consumer_id, slot] = stream.consumers[c];
    NodeState& consumer = *nodes_[consumer_id];
    bool schedule = false;
    {
      std::lock_guard lock(consumer.mutex);
      if (consumer.closed || consumer.closing) continue;
      InputQueue& queue = consumer.inputs[slot];
      consumer.packets_in.fetch_add(packets.size(), std::memory_order_relaxed);
      if (move_to_last && c + 1 == consumer_count) {
        for (Packet& packet : packets) queue.packets.push_back(std::move(packet));
      } else {
        for (const Packet& packet : packets) queue.packets.push_back(packet);
      }
      if (!packets.empty()) queue.last_seen = queue.packets.back().timestamp();
      const Timestamp new_bound = closed ? Timestamp::Done() : std::max(bound, queue.bound);
      if (new_bound > queue.bound && packets.empty() && consumer.process_bounds) consumer.bounds_changed = true;
      queue.bound = new_bound;
      const size_t size = queue.packets.size();
      if (size > consumer.max_queue_seen) consumer.max_queue_seen = size;
      if (tracer_ && !packets.empty()) TraceQueueDepth(consumer, slot, size, now_ns);
      if (!queue.back_edge && !queue.counted_full && static_cast<int>(size) >= queue.max_size) {
        queue.counted_full = true;
        full_queues_.fetch_add(1, std::memory_order_acq_rel);
      }
      ScheduleLocked(consumer, &schedule);
    }
    if (schedule) ScheduleTask(consumer);
  }
  for (OutputObserver& observer : stream.observers) {
    for (const Packet& packet : packets) {
      Status status = observer.callback(packet);
      if (!status.ok()) RecordError(status.WithContext(fmt::format("observer of stream \"{}\"", stream.name)));
    }
  }
  for (auto& poller : stream.pollers) {
    {
      std::lock_guard lock(poller->mutex);
      for (const Packet& packet : packets) poller->packets.push_back(packet);
      if (closed) poller->closed = true;
    }
    poller->changed.notify_all();
  }
}

// A source found a full queue: park it until the queues drain (or run it again
// if they drained meanwhile).
void GraphRuntime::NodeClosed(NodeState& node) {
  {
    std::lock_guard lock(node.mutex);
    node.closed = true;
    node.closing = false;
    for (InputQueue& queue : node.inputs) {
      queue.packets.clear();
      if (queue.counted_full) {
        queue.counted_full = false;
        full_queues_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }
  for (int slot = 0; slot < node.output_side_layout.size(); ++slot) {
    const Packet& packet = node.open_context->output_side_packets_.packets_[slot];
    std::lock_guard lock(mutex_);
    if (!packet.IsEmpty()) side_packets_[node.output_side_names[slot]] = packet;
  }
  OnQueueDrained();
  std::lock_guard lock(mutex_);
  ++closed_nodes_;
  changed_.notify_all();
}

}  // namespace edgepipe
