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
  for (size_t id = 0; id < streams_.size(); ++id) stream_packets_[id] = 0;
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
    node->process_calls = node->packets_in = node->packets_out = 0;
    node->dropped = 0;
    node->max_queue_seen = 0;
    node->process_times.Clear();
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
  EP_RETURN_IF_ERROR(StartTrace());
  timed_ = statistics_ || config_.enable_statistics() || listener_ != nullptr || tracer_ != nullptr;
  run_end_ns_ = kNotYet;
  run_start_ns_ = clock_->NowNs();
  last_progress_ns_ = run_start_ns_.load();
  watch_stalls_ = StallTimeoutMs() > 0;
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
    WaitForDoneLocked(lock, done);
  }
  if (Stopping()) FinishAfterStop();
  running_ = false;
  run_end_ns_ = clock_->NowNs();
  ClosePollers(/*failed=*/false);
  Status trace = FinishTrace();
  std::lock_guard lock(mutex_);
  if (!error_.ok()) return error_;
  if (!trace.ok()) return trace;
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
std::vector<StreamStats> Graph::StreamStatistics() const { return runtime_->StreamStatistics(); }
double Graph::RunSeconds() const { return runtime_->RunSeconds(); }
void Graph::EnableStatistics(bool enable) { runtime_->EnableStatistics(enable); }
void Graph::EnableTrace(TraceOptions options) { runtime_->EnableTrace(std::move(options)); }
void Graph::SetStallTimeout(std::chrono::milliseconds timeout) { runtime_->SetStallTimeout(timeout); }
std::string Graph::DescribeWaits() const { return runtime_->DescribeWaits(); }
void Graph::SetEventListener(std::function<void(const GraphEvent&)> listener) {
  runtime_->SetEventListener(std::move(listener));
}
void Graph::SetClock(const Clock* clock) { runtime_->SetClock(clock); }
const GraphConfig& Graph::config() const { return runtime_->config(); }

}  // namespace edgepipe
