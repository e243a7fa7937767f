// The graph's lifecycle (StartRun, graph inputs, waiting, stopping) and the
// public Graph facade. How the pieces fit: core/graph_runtime.h.
#include "core/graph.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "core/calculator_call.h"
#include "core/graph_runtime.h"

namespace edgepipe {

GraphRuntime::~GraphRuntime() {
  if (running_) {
    Cancel();
    (void)WaitUntilDone();
  }
  executors_.clear();  // joins threads before nodes go away
}

// ---- Run lifecycle ----------------------------------------------------------------

void GraphRuntime::ResetRunState() {
  error_ = Status();
  cancelled_ = false;
  finished_ = false;
  stopping_ = false;
  active_tasks_ = 0;
  full_queues_ = 0;
  closed_nodes_ = 0;
  waiting_adders_ = 0;
  throttled_sources_.clear();
  std::fill(graph_input_states_.begin(), graph_input_states_.end(), GraphInputState{});
  ResetPollers();
  for (auto& node : nodes_) {
    node->inputs.assign(node->input_layout.size(), InputQueue());
    for (int slot = 0; slot < node->input_layout.size(); ++slot) {
      node->inputs[slot].max_size = node->input_queue_limits[slot];
      node->inputs[slot].back_edge = node->input_back_edge[slot];
      node->inputs[slot].stream = node->input_streams[slot];
    }
    node->calculator.reset();
    node->opened = node->closed = node->closing = false;
    node->tasks = 0;
    node->bounds_changed = false;
    node->last_input_timestamp = Timestamp::Unstarted();
    node->last_offset_bound = Timestamp::Unstarted();
    node->output_bounds.assign(node->output_layout.size(), Timestamp::Unstarted());
    node->output_closed.assign(node->output_layout.size(), false);
    node->free_contexts.clear();
    node->open_context.reset();
    node->next_sequence = node->next_to_emit = 0;
    node->finished.clear();
    node->emitting = false;
    node->process_calls = node->process_time_us = node->packets_in = node->packets_out = 0;
    node->max_queue_seen = 0;
  }
}

Status GraphRuntime::StartRun(const SidePackets& side_packets) {
  if (!initialized_) return FailedPreconditionError("StartRun before Initialize");
  if (running_) return FailedPreconditionError("StartRun while the graph is running; call WaitUntilDone first");
  ResetRunState();
  side_packets_ = side_packets;
  for (const std::string& name : config_.input_side_packet()) {
    if (!side_packets_.count(name)) return InvalidArgumentError("graph input side packet \"{}\" was not given", name);
  }
  for (auto& node : nodes_) {
    for (int slot = 0; slot < node->input_side_layout.size(); ++slot) {
      const std::string& name = node->input_side_names[slot];
      const auto& declared = node->contract->input_side_packets();
      const bool optional = std::any_of(declared.begin(), declared.end(), [&](const PortSpec& port) {
        return port.tag == node->input_side_layout.tag(slot) && port.optional;
      });
      if (!optional && !side_packets_.count(name) && !side_packet_producers_.count(name)) {
        return InvalidArgumentError("{}: input side packet \"{}\" is neither given to StartRun nor produced by a node",
                                    node->where, name);
      }
    }
  }
  for (const auto& [stream_id, header] : graph_input_headers_) {
    for (auto [consumer, slot] : streams_[stream_id].consumers) nodes_[consumer]->inputs[slot].header = header;
  }
  running_ = true;
  // Open in topological order, so headers and side packets flow downstream first.
  for (int id : open_order_) {
    Status status = OpenNode(*nodes_[id]);
    if (!status.ok()) {
      RecordError(status);
      break;
    }
  }
  if (Stopping()) {
    Status status = WaitUntilDone();
    return status;
  }
  // Start every node that is ready (sources, and nodes fed during Open).
  for (int id : open_order_) ResumeNode(*nodes_[id]);
  return OkStatus();
}

void GraphRuntime::RecordError(const Status& status) {
  {
    std::lock_guard lock(mutex_);
    if (error_.ok()) error_ = status;
    stopping_ = true;
    changed_.notify_all();
  }
  ClosePollers(/*failed=*/true);
}

// Called with mutex_ held when no task is active.
Status GraphRuntime::AddPacket(const std::string& name, Packet packet, AddMode mode) {
  if (!running_) return FailedPreconditionError("AddPacketToInputStream(\"{}\") while the graph is not running", name);
  auto it = graph_inputs_.find(name);
  if (it == graph_inputs_.end()) return NotFoundError("\"{}\" is not a graph input stream", name);
  GraphInputState& state = graph_input_states_[it->second];
  if (state.closed) return FailedPreconditionError("graph input stream \"{}\" is closed; packet at {} refused", name,
                                                   packet.timestamp().DebugString());
  if (packet.IsEmpty()) return InvalidArgumentError("empty packet added to graph input stream \"{}\"", name);
  const Timestamp ts = packet.timestamp();
  if (!ts.IsAllowedInStream()) {
    return InvalidArgumentError("graph input stream \"{}\": timestamp {} is not allowed (set one with packet.At(ts))",
                                name, ts.DebugString());
  }
  if (state.last != Timestamp::Unstarted() && ts <= state.last) {
    return InvalidArgumentError(
        "graph input stream \"{}\": timestamp {} is not greater than the previous packet's {}; timestamps must "
        "strictly increase",
        name, ts.DebugString(), state.last.DebugString());
  }
  {
    std::unique_lock lock(mutex_);
    EP_RETURN_IF_ERROR(WaitForRoomLocked(lock, name, ts, mode));
    if (Stopping()) {
      return error_.ok() ? CancelledError("graph input stream \"{}\": the run was cancelled", name)
                         : error_.WithContext(fmt::format("graph input stream \"{}\"", name));
    }
  }
  state.last = ts;
  std::vector<Packet> packets{std::move(packet)};
  Deliver(it->second, packets, ts.NextAllowedInStream(), false);
  return OkStatus();
}

Status GraphRuntime::SetInputStreamHeader(const std::string& name, Packet header) {
  if (running_) return FailedPreconditionError("set the header of \"{}\" before StartRun", name);
  auto it = graph_inputs_.find(name);
  if (it == graph_inputs_.end()) return NotFoundError("\"{}\" is not a graph input stream", name);
  graph_input_headers_[it->second] = std::move(header);
  return OkStatus();
}

Status GraphRuntime::CloseInputStream(const std::string& name) {
  if (!running_) return FailedPreconditionError("CloseInputStream(\"{}\") while the graph is not running", name);
  auto it = graph_inputs_.find(name);
  if (it == graph_inputs_.end()) return NotFoundError("\"{}\" is not a graph input stream", name);
  GraphInputState& state = graph_input_states_[it->second];
  if (state.closed) return OkStatus();
  state.closed = true;
  std::vector<Packet> none;
  Deliver(it->second, none, Timestamp::Done(), true);
  return OkStatus();
}

Status GraphRuntime::CloseAllInputStreams() {
  for (const auto& [name, _] : graph_inputs_) EP_RETURN_IF_ERROR(CloseInputStream(name));
  return OkStatus();
}

Status GraphRuntime::WaitUntilIdle() {
  if (!running_) return FailedPreconditionError("WaitUntilIdle while the graph is not running");
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return active_tasks_.load() == 0 || Stopping(); });
  return error_;
}

Status GraphRuntime::WaitUntilDone() {
  if (!running_) return FailedPreconditionError("WaitUntilDone while the graph is not running");
  {
    std::unique_lock lock(mutex_);
    auto done = [&] {
      return (closed_nodes_ == static_cast<int>(nodes_.size()) || Stopping()) && active_tasks_.load() == 0;
    };
    // Stall diagnostics: when nothing runs for a while and the graph is not done,
    // say once who waits on what (EDGEPIPE_STALL_SECONDS, default 10; 0 = never).
    const char* stall_env = std::getenv("EDGEPIPE_STALL_SECONDS");
    const int stall_seconds = stall_env ? std::atoi(stall_env) : 10;
    bool reported = false;
    while (!done()) {
      if (stall_seconds <= 0 || reported) {
        changed_.wait(lock, done);
        break;
      }
      if (!changed_.wait_for(lock, std::chrono::seconds(stall_seconds), done) && active_tasks_.load() == 0) {
        lock.unlock();
        fmt::print(stderr, "edgepipe: the graph has made no progress for {} s and is not done; waiting nodes:\n{}",
                   stall_seconds, DescribeWaits());
        lock.lock();
        reported = true;
      }
    }
  }
  if (Stopping()) FinishAfterStop();
  running_ = false;
  ClosePollers(/*failed=*/false);
  std::lock_guard lock(mutex_);
  if (!error_.ok()) return error_;
  if (cancelled_) return CancelledError("the graph run was cancelled");
  return OkStatus();
}

// After an error or Cancel: no task runs any more; close what is still open.
void GraphRuntime::FinishAfterStop() {
  for (int id : open_order_) {
    NodeState& node = *nodes_[id];
    if (!node.opened || node.closed) continue;
    CalculatorContext& context = *node.open_context;
    context.input_timestamp_ = Timestamp::Done();
    for (auto& handle : context.outputs_.handles_) handle.packets_.clear();
    Status status = CallCalculator([&] { return node.calculator->Close(&context); });
    node.closed = true;
    std::lock_guard lock(mutex_);
    if (!status.ok() && error_.ok() && !cancelled_) error_ = status.WithContext(node.where + " Close");
  }
}

void GraphRuntime::Cancel() {
  std::lock_guard lock(mutex_);
  if (!running_ || Stopping()) return;
  cancelled_ = true;
  stopping_ = true;
  changed_.notify_all();
}

bool GraphRuntime::HasError() const {
  std::lock_guard lock(mutex_);
  return !error_.ok();
}

Result<Packet> GraphRuntime::GetOutputSidePacket(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = side_packets_.find(name);
  if (it == side_packets_.end() || !side_packet_producers_.count(name)) {
    return NotFoundError("no output side packet \"{}\" (yet)", name);
  }
  return it->second;
}

std::vector<NodeStats> GraphRuntime::Stats() const {
  std::vector<NodeStats> stats;
  for (const auto& node : nodes_) {
    NodeStats one;
    one.node = node->name;
    one.calculator = node->calculator_name;
    one.process_calls = node->process_calls.load();
    one.process_time_us = node->process_time_us.load();
    one.packets_in = node->packets_in.load();
    one.packets_out = node->packets_out.load();
    {
      std::lock_guard lock(node->mutex);
      one.max_queue_seen = node->max_queue_seen;
    }
    stats.push_back(one);
  }
  return stats;
}

std::string GraphRuntime::DescribeWaits() const {
  std::string out;
  for (const auto& node : nodes_) {
    std::lock_guard lock(node->mutex);
    if (node->closed || node->is_source) continue;
    std::string line;
    for (size_t slot = 0; slot < node->inputs.size(); ++slot) {
      const InputQueue& queue = node->inputs[slot];
      line += fmt::format("{}\"{}\": {} queued (max {}), bound {}", line.empty() ? "" : "; ", node->input_names[slot],
                          queue.packets.size(), queue.max_size, queue.bound.DebugString());
    }
    out += fmt::format("{} [{} task(s)]: {}\n", node->where, node->tasks, line);
  }
  return out;
}

// ---- Graph (public facade) -------------------------------------------------------

Graph::Graph() : runtime_(std::make_unique<GraphRuntime>()) {}
Graph::~Graph() = default;
Status Graph::Initialize(const GraphConfig& config) { return runtime_->Initialize(config); }
Status Graph::ObserveOutputStream(const std::string& stream, std::function<Status(const Packet&)> observer) {
  return runtime_->ObserveOutputStream(stream, std::move(observer));
}
Result<OutputStreamPoller> Graph::AddOutputStreamPoller(const std::string& stream) {
  return runtime_->AddOutputStreamPoller(stream);
}
Status Graph::StartRun(const SidePackets& side_packets) { return runtime_->StartRun(side_packets); }
Status Graph::AddPacketToInputStream(const std::string& stream, Packet packet, AddMode mode) {
  return runtime_->AddPacket(stream, std::move(packet), mode);
}
Status Graph::SetInputStreamHeader(const std::string& stream, Packet header) {
  return runtime_->SetInputStreamHeader(stream, std::move(header));
}
Status Graph::CloseInputStream(const std::string& stream) { return runtime_->CloseInputStream(stream); }
Status Graph::CloseAllInputStreams() { return runtime_->CloseAllInputStreams(); }
Status Graph::WaitUntilIdle() { return runtime_->WaitUntilIdle(); }
Status Graph::WaitUntilDone() { return runtime_->WaitUntilDone(); }
void Graph::Cancel() { runtime_->Cancel(); }
Status Graph::Run(const SidePackets& side_packets) {
  EP_RETURN_IF_ERROR(StartRun(side_packets));
  Status close = CloseAllInputStreams();
  Status done = WaitUntilDone();
  return done.ok() ? close : done;
}
bool Graph::HasError() const { return runtime_->HasError(); }
Result<Packet> Graph::GetOutputSidePacket(const std::string& name) const { return runtime_->GetOutputSidePacket(name); }
std::vector<NodeStats> Graph::Stats() const { return runtime_->Stats(); }
std::string Graph::DescribeWaits() const { return runtime_->DescribeWaits(); }
void Graph::SetEventListener(std::function<void(const GraphEvent&)> listener) {
  runtime_->SetEventListener(std::move(listener));
}
void Graph::SetClock(const Clock* clock) { runtime_->SetClock(clock); }
const GraphConfig& Graph::config() const { return runtime_->config(); }

}  // namespace edgepipe
