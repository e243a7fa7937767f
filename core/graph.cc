// Graph validation and the scheduler.
//
// Scheduling model. Every node has input queues guarded by the node's mutex. A
// producer appends packets (or raises a bound) on each consumer queue and, if
// that makes the consumer ready and fewer than max_in_flight tasks run for it,
// schedules a task on the consumer's executor. A task keeps processing input
// sets while the node stays ready (up to a batch limit), so a busy consumer
// picks up new packets without any wake-up. Sources run while no input queue
// in the graph is full; a full queue throttles them (back-pressure), and so
// are graph inputs added in blocking mode.
//
// Deadlock policy. When nothing can run, some queue is full and a source or a
// graph input waits for room, the graph is stuck. REPORT_ERROR (default) stops
// the run with a DEADLOCK error naming each full queue and what its node
// waits for; GROW_QUEUE_AND_WARN raises those queues' limits and logs it.
#include "core/graph.h"

#include <cxxabi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <set>
#include <typeinfo>

#include "core/graph_runtime.h"
#include "core/stream_name.h"

namespace edgepipe {

namespace {
constexpr int kTaskBatch = 64;  // input sets one task handles before yielding its thread

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ExceptionTypeName(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name != nullptr ? std::string(name.get()) : std::string(type.name());
}

// Every call into a calculator's code goes through here. Calculators use
// libraries that report errors by throwing (OpenCV's cv::Exception, the
// standard library, allocation); an exception escaping onto a worker thread
// would terminate the process. Here it becomes an error that the caller names
// the node in, like any error the calculator returns.
template <typename Call>
Status CallCalculator(Call&& call) noexcept {
  try {
    return call();
  } catch (const std::exception& e) {
    return InternalError("threw {}: {}", ExceptionTypeName(typeid(e)), e.what());
  } catch (...) {
    return InternalError("threw an exception that is not a std::exception");
  }
}

std::string DescribePorts(const std::vector<PortSpec>& ports) {
  std::string out;
  for (const PortSpec& port : ports) {
    if (!out.empty()) out += ", ";
    out += port.tag.empty() ? "<untagged>" : port.tag;
  }
  return out.empty() ? "none" : out;
}
}  // namespace

struct GraphRuntime::Work {
  enum class Kind { kNone, kProcess, kBoundOnly, kClose, kThrottled } kind = Kind::kNone;
  Timestamp timestamp;
  std::unique_ptr<CalculatorContext> context;
  uint64_t sequence = 0;
  bool drained_last_full_queue = false;
};

// A node's output bounds are touched by one task at a time, except with
// max_in_flight > 1, where a starting call reads them while another emits.
static std::unique_lock<SpinLock> LockOutputState(NodeState& node) {
  std::unique_lock<SpinLock> lock(node.mutex, std::defer_lock);
  if (node.max_in_flight > 1) lock.lock();
  return lock;
}

struct GraphRuntime::Readiness {
  Work::Kind kind = Work::Kind::kNone;
  Timestamp timestamp;  // of the Process call, or min_next for a bound-only step
  Timestamp min_next = Timestamp::Done();
};

GraphRuntime::~GraphRuntime() {
  if (running_) {
    Cancel();
    (void)WaitUntilDone();
  }
  executors_.clear();  // joins threads before nodes go away
}

// ---- Validation ---------------------------------------------------------------

Status GraphRuntime::Initialize(const GraphConfig& input_config) {
  if (initialized_) return FailedPreconditionError("the graph is already initialized");
  EP_ASSIGN_OR_RETURN(config_, ExpandSubgraphs(input_config));

  // Executors: the unnamed one is the default.
  int default_threads = 0;
  for (const ExecutorConfig& executor : config_.executor()) {
    if (executor.name().empty()) {
      default_threads = executor.num_threads();
      continue;
    }
    if (executor_ids_.count(executor.name())) {
      return InvalidArgumentError("executor \"{}\" is defined twice", executor.name());
    }
    executor_ids_[executor.name()] = 0;  // index assigned below
  }
  EP_ASSIGN_OR_RETURN(auto default_executor, ThreadPoolExecutor::Create("", default_threads));
  executors_.push_back(std::move(default_executor));
  for (const ExecutorConfig& executor : config_.executor()) {
    if (executor.name().empty()) continue;
    executor_ids_[executor.name()] = static_cast<int>(executors_.size());
    EP_ASSIGN_OR_RETURN(auto named, ThreadPoolExecutor::Create(executor.name(), executor.num_threads()));
    executors_.push_back(std::move(named));
  }

  for (const std::string& name : config_.input_stream()) {
    EP_ASSIGN_OR_RETURN(StreamSpec spec, ParseStreamSpec(name));
    if (stream_ids_.count(spec.name)) return InvalidArgumentError("graph input stream \"{}\" listed twice", spec.name);
    StreamDef stream;
    stream.name = spec.name;
    stream.graph_input = true;
    stream_ids_[spec.name] = static_cast<int>(streams_.size());
    graph_inputs_[spec.name] = static_cast<int>(streams_.size());
    streams_.push_back(std::move(stream));
  }
  EP_RETURN_IF_ERROR(BuildNodes());
  EP_RETURN_IF_ERROR(ConnectStreams());
  EP_RETURN_IF_ERROR(OrderNodes());
  EP_RETURN_IF_ERROR(CheckTypes());
  graph_input_states_.resize(streams_.size());
  initialized_ = true;
  return OkStatus();
}

Status GraphRuntime::BuildNodes() {
  std::set<std::string> names;
  for (int i = 0; i < config_.node_size(); ++i) {
    const Node& config = config_.node(i);
    auto node = std::make_unique<NodeState>();
    node->id = i;
    node->calculator_name = config.calculator();
    node->name = config.name().empty() ? config.calculator() : config.name();
    if (names.count(node->name)) {
      if (!config.name().empty()) return InvalidArgumentError("two nodes are named \"{}\"", node->name);
      node->name = fmt::format("{}_{}", node->name, i);
    }
    names.insert(node->name);
    node->where = fmt::format("node \"{}\" ({}{}{})", node->name, config.calculator(),
                              config.source_location().empty() ? "" : ", ", config.source_location());

    if (config.calculator().empty()) return InvalidArgumentError("{}: no calculator given", node->where);
    node->registration = CalculatorRegistry::Global().Find(config.calculator());
    if (node->registration == nullptr) {
      const std::string closest = CalculatorRegistry::Global().ClosestName(config.calculator());
      return NotFoundError("{}: unknown calculator \"{}\"{}", node->where, config.calculator(),
                           closest.empty() ? "" : fmt::format("; did you mean \"{}\"?", closest));
    }
    node->contract = std::make_unique<CalculatorContract>(config.has_options() ? &config.options() : nullptr);
    Status contract_status = CallCalculator([&] { return node->registration->get_contract(node->contract.get()); });
    if (!contract_status.ok()) return contract_status.WithContext(node->where);
    if (!node->contract->options_status().ok()) return node->contract->options_status().WithContext(node->where);
    if (node->contract->options_prototype() != nullptr) {
      node->options = &node->contract->ResolvedOptions();
      if (!node->contract->options_status().ok()) return node->contract->options_status().WithContext(node->where);
    } else if (config.has_options() && config.options().ByteSizeLong() > 0) {
      return InvalidArgumentError("{}: options given, but {} takes no options", node->where, config.calculator());
    }

    // Match the node's connections against the declared ports.
    auto match = [&](const google::protobuf::RepeatedPtrField<std::string>& connected,
                     const std::vector<PortSpec>& declared, const char* what, PortLayout* layout,
                     std::vector<std::string>* stream_names) -> Status {
      auto parsed = ParseStreamList(connected);
      if (!parsed.ok()) return parsed.status().WithContext(fmt::format("{}: {}", node->where, what));
      std::vector<std::pair<std::string, int>> slots;
      for (const StreamSpec& spec : *parsed) {
        auto port = std::find_if(declared.begin(), declared.end(),
                                 [&](const PortSpec& p) { return p.tag == spec.tag; });
        if (port == declared.end()) {
          return InvalidArgumentError("{}: {} has no {} {} (declared: {})", node->where, config.calculator(), what,
                                      spec.tag.empty() ? "untagged port" : "\"" + spec.tag + "\"",
                                      DescribePorts(declared));
        }
        if (spec.index > 0 && !port->repeated) {
          return InvalidArgumentError("{}: {} \"{}\" takes one stream, not index {}", node->where, what, spec.tag,
                                      spec.index);
        }
        slots.emplace_back(spec.tag, spec.index);
        stream_names->push_back(spec.name);
      }
      for (const PortSpec& port : declared) {
        const bool present = std::any_of(parsed->begin(), parsed->end(),
                                         [&](const StreamSpec& s) { return s.tag == port.tag; });
        if (!present && !port.optional) {
          return InvalidArgumentError("{}: required {} {} is not connected", node->where, what,
                                      port.tag.empty() ? "untagged port" : "\"" + port.tag + "\"");
        }
      }
      *layout = PortLayout(std::move(slots));
      return OkStatus();
    };
    const CalculatorContract& contract = *node->contract;
    EP_RETURN_IF_ERROR(match(config.input_stream(), contract.inputs(), "input stream", &node->input_layout,
                             &node->input_names));
    EP_RETURN_IF_ERROR(match(config.output_stream(), contract.outputs(), "output stream", &node->output_layout,
                             &node->output_names));
    EP_RETURN_IF_ERROR(match(config.input_side_packet(), contract.input_side_packets(), "input side packet",
                             &node->input_side_layout, &node->input_side_names));
    EP_RETURN_IF_ERROR(match(config.output_side_packet(), contract.output_side_packets(), "output side packet",
                             &node->output_side_layout, &node->output_side_names));
    node->is_source = node->input_layout.size() == 0;

    node->input_back_edge.assign(node->input_layout.size(), false);
    for (const InputStreamInfo& info : config.input_stream_info()) {
      const size_t colon = info.tag_index().find(':');
      const std::string tag = info.tag_index().substr(0, colon);
      const int index = colon == std::string::npos ? 0 : std::atoi(info.tag_index().c_str() + colon + 1);
      const int slot = node->input_layout.Slot(tag, index);
      if (slot < 0) {
        return InvalidArgumentError("{}: input_stream_info names \"{}\", which is not one of its inputs", node->where,
                                    info.tag_index());
      }
      node->input_back_edge[slot] = info.back_edge();
    }

    if (!config.executor().empty()) {
      auto it = executor_ids_.find(config.executor());
      if (it == executor_ids_.end()) {
        std::string known;
        for (const auto& [name, _] : executor_ids_) known += (known.empty() ? "" : ", ") + name;
        return InvalidArgumentError("{}: unknown executor \"{}\" (defined: {})", node->where, config.executor(),
                                    known.empty() ? "none" : known);
      }
      node->executor = it->second;
    }

    std::string handler_name;
    if (config.has_input_stream_handler()) {
      handler_name = config.input_stream_handler().input_stream_handler();
    } else if (contract.input_handler()) {
      handler_name = *contract.input_handler() == InputHandlerKind::kImmediate ? "ImmediateInputStreamHandler"
                                                                                : "DefaultInputStreamHandler";
    } else if (config_.has_input_stream_handler()) {
      handler_name = config_.input_stream_handler().input_stream_handler();
    }
    if (handler_name.empty() || handler_name == "DefaultInputStreamHandler") {
      node->handler = InputHandlerKind::kDefault;
    } else if (handler_name == "ImmediateInputStreamHandler") {
      node->handler = InputHandlerKind::kImmediate;
    } else {
      return InvalidArgumentError(
          "{}: unknown input stream handler \"{}\" (known: DefaultInputStreamHandler, ImmediateInputStreamHandler)",
          node->where, handler_name);
    }
    node->offset = contract.timestamp_offset();
    node->process_bounds = contract.process_timestamp_bounds();
    if (config.max_in_flight() < 1) {
      return InvalidArgumentError("{}: max_in_flight must be at least 1, not {}", node->where, config.max_in_flight());
    }
    node->max_in_flight = config.max_in_flight();
    const int queue_limit = config.has_max_queue_size() ? config.max_queue_size() : config_.max_queue_size();
    if (queue_limit < 1) {
      return InvalidArgumentError("{}: max_queue_size must be at least 1, not {}", node->where, queue_limit);
    }
    node->input_queue_limits.assign(node->input_layout.size(), queue_limit);
    nodes_.push_back(std::move(node));
  }
  return OkStatus();
}

Status GraphRuntime::ConnectStreams() {
  // Producers first, so that every consumer can be checked against them.
  for (auto& node : nodes_) {
    for (int slot = 0; slot < node->output_layout.size(); ++slot) {
      const std::string& name = node->output_names[slot];
      auto it = stream_ids_.find(name);
      if (it != stream_ids_.end()) {
        const StreamDef& existing = streams_[it->second];
        const std::string first = existing.graph_input ? "the graph's input_stream"
                                                       : nodes_[existing.producer_node]->where;
        return InvalidArgumentError("stream \"{}\" has two producers: {} and {}", name, first, node->where);
      }
      StreamDef stream;
      stream.name = name;
      stream.producer_node = node->id;
      stream.producer_slot = slot;
      stream_ids_[name] = static_cast<int>(streams_.size());
      node->output_streams.push_back(static_cast<int>(streams_.size()));
      streams_.push_back(std::move(stream));
    }
    for (int slot = 0; slot < node->output_side_layout.size(); ++slot) {
      const std::string& name = node->output_side_names[slot];
      if (side_packet_producers_.count(name)) {
        return InvalidArgumentError("side packet \"{}\" has two producers: {} and {}", name,
                                    nodes_[side_packet_producers_[name].first]->where, node->where);
      }
      side_packet_producers_[name] = {node->id, slot};
    }
  }
  for (auto& node : nodes_) {
    for (int slot = 0; slot < node->input_layout.size(); ++slot) {
      const std::string& name = node->input_names[slot];
      auto it = stream_ids_.find(name);
      if (it == stream_ids_.end()) {
        std::string closest;
        size_t best = std::string::npos;
        for (const auto& [candidate, _] : stream_ids_) {
          const size_t distance = EditDistance(name, candidate);
          if (distance < best) best = distance, closest = candidate;
        }
        return InvalidArgumentError(
            "{}: input stream \"{}\" ({}) has no producer: it is neither a graph input_stream nor any node's "
            "output_stream{}",
            node->where, name, node->input_layout.Describe(slot),
            closest.empty() || best > 3 ? "" : fmt::format("; did you mean \"{}\"?", closest));
      }
      node->input_streams.push_back(it->second);
      streams_[it->second].consumers.emplace_back(node->id, slot);
    }
  }
  for (const std::string& output : config_.output_stream()) {
    auto parsed = ParseStreamSpec(output);
    if (!parsed.ok()) return parsed.status().WithContext("graph output_stream");
    if (!stream_ids_.count(parsed->name)) {
      return InvalidArgumentError("graph output_stream \"{}\" is produced by no node", parsed->name);
    }
  }
  return OkStatus();
}

Status GraphRuntime::OrderNodes() {
  // Kahn's algorithm over stream edges, ignoring back edges.
  const int n = static_cast<int>(nodes_.size());
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> downstream(n);
  for (auto& node : nodes_) {
    for (int slot = 0; slot < node->input_layout.size(); ++slot) {
      const StreamDef& stream = streams_[node->input_streams[slot]];
      if (node->input_back_edge[slot] || stream.producer_node < 0) continue;
      downstream[stream.producer_node].push_back(node->id);
      ++pending[node->id];
    }
    // Side packets: their producers must open first.
    for (const std::string& name : node->input_side_names) {
      auto it = side_packet_producers_.find(name);
      if (it == side_packet_producers_.end()) continue;
      downstream[it->second.first].push_back(node->id);
      ++pending[node->id];
    }
  }
  std::deque<int> ready;
  for (int i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  while (!ready.empty()) {
    const int id = ready.front();
    ready.pop_front();
    open_order_.push_back(id);
    for (int next : downstream[id]) {
      if (--pending[next] == 0) ready.push_back(next);
    }
  }
  if (static_cast<int>(open_order_.size()) != n) {
    std::string members;
    for (int i = 0; i < n; ++i) {
      if (pending[i] > 0) members += (members.empty() ? "" : ", ") + fmt::format("\"{}\"", nodes_[i]->name);
    }
    return InvalidArgumentError(
        "the graph has a cycle without a back edge through nodes {}; mark the input that closes the loop with "
        "input_stream_info {{ tag_index: \"TAG\" back_edge: true }}",
        members);
  }
  return OkStatus();
}

Status GraphRuntime::CheckTypes() {
  // Output types may follow an input's type; resolve in topological order.
  for (int id : open_order_) {
    NodeState& node = *nodes_[id];
    const CalculatorContract& contract = *node.contract;
    for (int slot = 0; slot < node.output_layout.size(); ++slot) {
      const PortSpec& port = *std::find_if(contract.outputs().begin(), contract.outputs().end(),
                                           [&](const PortSpec& p) { return p.tag == node.output_layout.tag(slot); });
      TypeId type = port.type;
      if (port.same_type_as_input) {
        const int in_slot = node.input_layout.Slot(*port.same_type_as_input, node.output_layout.index(slot));
        if (in_slot >= 0) type = streams_[node.input_streams[in_slot]].type;
      }
      streams_[node.output_streams[slot]].type = type;
    }
  }
  for (auto& node : nodes_) {
    for (int slot = 0; slot < node->input_layout.size(); ++slot) {
      const PortSpec& port = *std::find_if(node->contract->inputs().begin(), node->contract->inputs().end(),
                                           [&](const PortSpec& p) { return p.tag == node->input_layout.tag(slot); });
      const StreamDef& stream = streams_[node->input_streams[slot]];
      if (!port.type.CompatibleWith(stream.type)) {
        const std::string producer =
            stream.graph_input ? "the graph input" : nodes_[stream.producer_node]->where;
        return InvalidArgumentError("stream \"{}\": type mismatch: {} produces {}, but {} input {} expects {}",
                                    stream.name, producer, stream.type.name(), node->where,
                                    node->input_layout.Describe(slot), port.type.name());
      }
    }
  }
  return OkStatus();
}

// ---- Observers ----------------------------------------------------------------

Status GraphRuntime::ObserveOutputStream(const std::string& stream, std::function<Status(const Packet&)> observer) {
  if (!initialized_) return FailedPreconditionError("ObserveOutputStream before Initialize");
  if (running_) return FailedPreconditionError("ObserveOutputStream while the graph runs");
  auto it = stream_ids_.find(stream);
  if (it == stream_ids_.end()) return NotFoundError("no stream named \"{}\" to observe", stream);
  streams_[it->second].observers.push_back({std::move(observer)});
  return OkStatus();
}

Result<OutputStreamPoller> GraphRuntime::AddOutputStreamPoller(const std::string& stream) {
  if (!initialized_) return FailedPreconditionError("AddOutputStreamPoller before Initialize");
  if (running_) return FailedPreconditionError("AddOutputStreamPoller while the graph runs");
  auto it = stream_ids_.find(stream);
  if (it == stream_ids_.end()) return NotFoundError("no stream named \"{}\" to poll", stream);
  auto state = std::make_shared<OutputStreamPoller::State>();
  streams_[it->second].pollers.push_back(state);
  return OutputStreamPoller(state);
}

bool OutputStreamPoller::Next(Packet* packet) {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] { return !state_->packets.empty() || state_->closed; });
  if (state_->packets.empty()) return false;
  *packet = std::move(state_->packets.front());
  state_->packets.pop_front();
  return true;
}

std::optional<bool> OutputStreamPoller::NextFor(Packet* packet, std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  if (!state_->changed.wait_for(lock, timeout, [&] { return !state_->packets.empty() || state_->closed; })) {
    return std::nullopt;
  }
  if (state_->packets.empty()) return false;
  *packet = std::move(state_->packets.front());
  state_->packets.pop_front();
  return true;
}

size_t OutputStreamPoller::QueueSize() const {
  std::lock_guard lock(state_->mutex);
  return state_->packets.size();
}

// ---- Run lifecycle ----------------------------------------------------------------

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
  for (auto& stream : streams_) {
    for (auto& poller : stream.pollers) {
      std::lock_guard lock(poller->mutex);
      poller->packets.clear();
      poller->closed = false;
      poller->failed = false;
    }
  }
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
  for (int id : open_order_) {
    NodeState& node = *nodes_[id];
    bool schedule = false;
    {
      std::lock_guard lock(node.mutex);
      ScheduleLocked(node, &schedule);
    }
    if (schedule) ScheduleTask(node);
  }
  return OkStatus();
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
  if (listener_) listener_({GraphEvent::Kind::kOpen, node.id, Timestamp::Unstarted(), NowNs()});
  Status status = CallCalculator([&] { return calculator->Open(&context); });
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
  EmitOutputs(node, context, std::nullopt, false);
  for (int i = 0; i < node.max_in_flight; ++i) node.free_contexts.push_back(MakeContext(node));
  return OkStatus();
}

// ---- Readiness and scheduling --------------------------------------------------

// Called with node.mutex held: what can the node do now? `own_tasks` is 1 when
// the caller is one of the node's tasks (it does not block a Close).
GraphRuntime::Readiness GraphRuntime::Evaluate(const NodeState& node, int own_tasks) const {
  Readiness readiness;
  if (node.closed || node.closing || !node.opened) return readiness;
  if (node.is_source) {
    readiness.kind = Work::Kind::kProcess;
    return readiness;
  }
  Timestamp min_next = Timestamp::Done();
  Timestamp min_head = Timestamp::Done();
  for (const InputQueue& queue : node.inputs) {
    if (queue.packets.empty()) {
      min_next = std::min(min_next, queue.bound);
    } else {
      const Timestamp head = queue.packets.front().timestamp();
      min_next = std::min(min_next, head);
      min_head = std::min(min_head, head);
    }
  }
  readiness.min_next = min_next;
  if (min_next == Timestamp::Done()) {
    // Every input has ended: time to Close once no other call is in flight.
    if (node.tasks == own_tasks && node.finished.empty()) readiness.kind = Work::Kind::kClose;
    return readiness;
  }
  const bool any_packet = min_head != Timestamp::Done();
  if (any_packet) {
    if (node.handler == InputHandlerKind::kImmediate) {
      readiness.kind = Work::Kind::kProcess;
      readiness.timestamp = min_head;
      return readiness;
    }
    // Default handler: min_next must be settled on every input without a packet there.
    bool settled = true;
    for (const InputQueue& queue : node.inputs) {
      if (queue.packets.empty() && queue.bound <= min_next) {
        settled = false;
        break;
      }
    }
    if (settled) {
      readiness.kind = Work::Kind::kProcess;
      readiness.timestamp = min_next;
      return readiness;
    }
  }
  // Bound-only progress: everything below min_next is settled on every input.
  bool bound_only = node.process_bounds && node.bounds_changed;
  if (!bound_only && node.offset && min_next.IsRangeValue()) {
    Timestamp bound;
    bound_only = min_next.TryAdd(*node.offset, &bound) && bound > node.last_offset_bound;
  }
  if (bound_only) {
    readiness.kind = Work::Kind::kBoundOnly;
    readiness.timestamp = min_next;
  }
  return readiness;
}

void GraphRuntime::ScheduleLocked(NodeState& node, bool* schedule) {
  *schedule = false;
  if (Stopping() || node.tasks >= node.max_in_flight) return;
  if (node.is_source && node.tasks > 0) return;
  if (Evaluate(node, 0).kind == Work::Kind::kNone) return;
  ++node.tasks;
  *schedule = true;
}

void GraphRuntime::ScheduleTask(NodeState& node) {
  active_tasks_.fetch_add(1, std::memory_order_acq_rel);
  const int id = node.id;
  executors_[node.executor]->Schedule([this, id] { RunNode(id); });
}

void GraphRuntime::TaskFinished() {
  if (active_tasks_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard lock(mutex_);
    Status deadlock = CheckDeadlockLocked();
    changed_.notify_all();
    if (!deadlock.ok()) {
      if (error_.ok()) error_ = deadlock;
      stopping_ = true;
    }
  }
}

// Pops the next input set (or Close) under the node's lock.
bool GraphRuntime::NextWork(NodeState& node, Work* work) {
  work->kind = Work::Kind::kNone;
  if (Stopping()) return false;
  const Readiness readiness = Evaluate(node, 1);
  work->kind = readiness.kind;
  work->timestamp = readiness.timestamp;
  switch (readiness.kind) {
    case Work::Kind::kNone:
      return false;
    case Work::Kind::kClose:
      node.closing = true;
      return true;
    case Work::Kind::kProcess:
      if (node.is_source && full_queues_.load(std::memory_order_acquire) > 0) {
        work->kind = Work::Kind::kThrottled;
        return true;
      }
      if (node.offset && work->timestamp.IsRangeValue()) {
        // The Process call's own offset bound covers what a bound-only step would send.
        Timestamp covered;
        if (work->timestamp.TryAdd(*node.offset, &covered) && covered >= node.last_offset_bound) {
          node.last_offset_bound = covered.NextAllowedInStream();
        }
      }
      break;
    default:
      break;
  }
  const bool needs_context =
      work->kind == Work::Kind::kProcess || (work->kind == Work::Kind::kBoundOnly && node.process_bounds && node.bounds_changed);
  if (work->kind == Work::Kind::kBoundOnly && !needs_context) {
    // An offset bound may only overtake nothing: with calls still in flight their
    // outputs (below this bound) have not been emitted yet.
    if (!node.offset || node.next_sequence != node.next_to_emit) return false;
  }
  if (needs_context && node.free_contexts.empty()) {
    // Every context is in flight or waits to be emitted in order; the emitting task will come back.
    return false;
  }
  if (needs_context) {
    node.bounds_changed = false;
    work->context = std::move(node.free_contexts.back());
    node.free_contexts.pop_back();
    CalculatorContext& context = *work->context;
    if (!node.is_source) {
      for (int slot = 0; slot < static_cast<int>(node.inputs.size()); ++slot) {
        InputQueue& queue = node.inputs[slot];
        Packet& target = context.input_packets_[slot];
        if (work->kind == Work::Kind::kProcess && !queue.packets.empty() &&
            queue.packets.front().timestamp() == work->timestamp) {
          target = std::move(queue.packets.front());
          queue.packets.pop_front();
          if (queue.counted_full && static_cast<int>(queue.packets.size()) < queue.max_size) {
            queue.counted_full = false;
            if (full_queues_.fetch_sub(1, std::memory_order_acq_rel) == 1) work->drained_last_full_queue = true;
          }
        } else {
          target = Packet();
        }
        context.input_bounds_[slot] = queue.packets.empty() ? queue.bound : queue.packets.front().timestamp();
      }
      if (work->kind == Work::Kind::kBoundOnly) {
        // The highest settled timestamp: below the lowest one still possible.
        const Timestamp next = work->timestamp;
        if (next.IsRangeValue() && next > Timestamp::Min()) {
          work->timestamp = Timestamp(next.Value() - 1);
        } else {
          work->timestamp = next > Timestamp::Max() ? Timestamp::Max() : Timestamp::Unstarted();
        }
      }
      if (work->timestamp > node.last_input_timestamp) node.last_input_timestamp = work->timestamp;
    }
    context.input_timestamp_ = work->timestamp;
    work->sequence = node.next_sequence++;
  }
  return true;
}

void GraphRuntime::RunNode(int node_id) {
  NodeState& node = *nodes_[node_id];
  for (int round = 0; round < kTaskBatch; ++round) {
    Work work;
    bool extra_task = false;
    {
      std::lock_guard lock(node.mutex);
      if (!NextWork(node, &work)) work.kind = Work::Kind::kNone;
      if (work.kind == Work::Kind::kNone || work.kind == Work::Kind::kThrottled) {
        --node.tasks;
      } else if (work.kind == Work::Kind::kProcess && !node.is_source) {
        // Another input set may be ready: let a second task take it (max_in_flight > 1).
        ScheduleLocked(node, &extra_task);
      }
    }
    if (work.kind == Work::Kind::kNone) break;
    if (work.kind == Work::Kind::kThrottled) {
      ThrottleSource(node);
      break;
    }
    if (extra_task) ScheduleTask(node);
    if (work.drained_last_full_queue) OnQueueDrained();
    Execute(node, work);
    if (round == kTaskBatch - 1) {
      // Yield the thread to other nodes, keeping this node's task slot.
      active_tasks_.fetch_add(1, std::memory_order_acq_rel);
      executors_[node.executor]->Schedule([this, node_id] { RunNode(node_id); });
      TaskFinished();
      return;
    }
  }
  TaskFinished();
}

void GraphRuntime::Execute(NodeState& node, Work& work) {
  if (work.kind == Work::Kind::kClose) {
    CalculatorContext& context = *node.open_context;
    for (auto& packet : context.input_packets_) packet = Packet();
    context.input_timestamp_ = Timestamp::Done();
    for (int slot = 0; slot < node.output_layout.size(); ++slot) {
      OutputStreamHandle& handle = context.outputs_.handles_[slot];
      handle.packets_.clear();
      handle.next_bound_ = node.output_bounds[slot];
      handle.closed_ = node.output_closed[slot];
    }
    if (listener_) listener_({GraphEvent::Kind::kClose, node.id, Timestamp::Done(), NowNs()});
    Status status = CallCalculator([&] { return node.calculator->Close(&context); });
    if (!status.ok()) RecordError(status.WithContext(node.where + " Close"));
    EmitOutputs(node, context, std::nullopt, true);
    NodeClosed(node);
    return;
  }
  if (work.kind == Work::Kind::kBoundOnly && !work.context) {
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
  const bool timed = listener_ || config_.enable_statistics();
  const int64_t start = timed ? NowNs() : 0;
  if (listener_) listener_({GraphEvent::Kind::kProcessStart, node.id, work.timestamp, start});
  Status status = CallCalculator([&] { return node.calculator->Process(&context); });
  if (timed) {
    const int64_t end = NowNs();
    if (listener_) listener_({GraphEvent::Kind::kProcessEnd, node.id, work.timestamp, end});
    node.process_time_us.fetch_add(static_cast<uint64_t>((end - start) / 1000), std::memory_order_relaxed);
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
    EmitOutputs(node, context, offset_bound, false);
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
    close.kind = Work::Kind::kClose;
    Execute(node, close);
  }
}

// Delivers what one call produced, then raises bounds (explicit, by offset, or Done).
void GraphRuntime::EmitOutputs(NodeState& node, CalculatorContext& context, std::optional<Timestamp> offset_bound,
                               bool close_all) {
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
    Deliver(node.output_streams[slot], packets, bound, closed);
    packets.clear();
  }
}

void GraphRuntime::Deliver(int stream_id, std::vector<Packet>& packets, Timestamp bound, bool closed) {
  StreamDef& stream = streams_[stream_id];
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
      const Timestamp new_bound = closed ? Timestamp::Done() : std::max(bound, queue.bound);
      if (new_bound > queue.bound && packets.empty() && consumer.process_bounds) consumer.bounds_changed = true;
      queue.bound = new_bound;
      const size_t size = queue.packets.size();
      if (size > consumer.max_queue_seen) consumer.max_queue_seen = size;
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
void GraphRuntime::ThrottleSource(NodeState& node) {
  {
    std::lock_guard lock(mutex_);
    if (full_queues_.load(std::memory_order_acquire) > 0) {
      throttled_sources_.push_back(node.id);
      return;
    }
  }
  bool schedule = false;
  {
    std::lock_guard lock(node.mutex);
    ScheduleLocked(node, &schedule);
  }
  if (schedule) ScheduleTask(node);
}

void GraphRuntime::OnQueueDrained() {
  // The last full queue has room again: resume sources and blocked graph inputs.
  std::vector<int> sources;
  {
    std::lock_guard lock(mutex_);
    if (full_queues_.load(std::memory_order_acquire) > 0) return;
    sources.swap(throttled_sources_);
    changed_.notify_all();
  }
  for (int id : sources) {
    NodeState& node = *nodes_[id];
    bool schedule = false;
    {
      std::lock_guard lock(node.mutex);
      ScheduleLocked(node, &schedule);
    }
    if (schedule) ScheduleTask(node);
  }
}

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

void GraphRuntime::RecordError(const Status& status) {
  {
    std::lock_guard lock(mutex_);
    if (error_.ok()) error_ = status;
    stopping_ = true;
    changed_.notify_all();
  }
  for (auto& stream : streams_) {
    for (auto& poller : stream.pollers) {
      {
        std::lock_guard lock(poller->mutex);
        poller->failed = true;
        poller->closed = true;
      }
      poller->changed.notify_all();
    }
  }
}

// Called with mutex_ held when no task is active.
Status GraphRuntime::CheckDeadlockLocked() {
  if (Stopping() || full_queues_.load() == 0) return OkStatus();
  if (throttled_sources_.empty() && waiting_adders_ == 0) return OkStatus();
  std::string full;
  std::vector<InputQueue*> full_queues;
  for (auto& node : nodes_) {
    std::lock_guard lock(node->mutex);
    for (int slot = 0; slot < static_cast<int>(node->inputs.size()); ++slot) {
      InputQueue& queue = node->inputs[slot];
      if (!queue.counted_full) continue;
      full_queues.push_back(&queue);
      std::string waits;
      for (int other = 0; other < static_cast<int>(node->inputs.size()); ++other) {
        if (node->inputs[other].packets.empty() && other != slot) {
          waits += fmt::format("{}\"{}\" (bound {})", waits.empty() ? "" : ", ", node->input_names[other],
                               node->inputs[other].bound.DebugString());
        }
      }
      full += fmt::format("\n  {} input stream \"{}\" is full ({} of max_queue_size {}){}", node->where,
                          node->input_names[slot], queue.packets.size(), queue.max_size,
                          waits.empty() ? "" : "; the node waits for " + waits);
    }
  }
  if (config_.deadlock_policy() == GROW_QUEUE_AND_WARN) {
    fmt::print(stderr, "edgepipe: deadlock resolved by growing queues (deadlock_policy GROW_QUEUE_AND_WARN):{}\n",
               full);
    for (InputQueue* queue : full_queues) queue->max_size *= 2;
    for (auto& node : nodes_) {
      std::lock_guard lock(node->mutex);
      for (InputQueue& queue : node->inputs) {
        if (queue.counted_full && static_cast<int>(queue.packets.size()) < queue.max_size) {
          queue.counted_full = false;
          full_queues_.fetch_sub(1);
        }
      }
    }
    // Resume sources outside this lock.
    std::vector<int> sources;
    sources.swap(throttled_sources_);
    for (int id : sources) {
      active_tasks_.fetch_add(1, std::memory_order_acq_rel);
      executors_[nodes_[id]->executor]->Schedule([this, id] {
        NodeState& node = *nodes_[id];
        bool schedule = false;
        {
          std::lock_guard lock(node.mutex);
          ScheduleLocked(node, &schedule);
        }
        if (schedule) ScheduleTask(node);
        TaskFinished();
      });
    }
    return OkStatus();
  }
  return DeadlockError(
      "the graph cannot make progress: input queues are full while the nodes that would drain them wait for "
      "other inputs (deadlock_policy REPORT_ERROR; raise max_queue_size or use GROW_QUEUE_AND_WARN):{}",
      full);
}

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
    if (full_queues_.load() > 0) {
      if (mode == AddMode::kFailIfFull) {
        return UnavailableError("graph input stream \"{}\": a queue downstream is full; packet at {} not added", name,
                                ts.DebugString());
      }
      ++waiting_adders_;
      Status deadlock;
      changed_.wait(lock, [&] {
        if (Stopping() || full_queues_.load() == 0) return true;
        if (active_tasks_.load() == 0) {
          deadlock = CheckDeadlockLocked();
          // An error ends the wait; the grow policy may have made room.
          if (!deadlock.ok() || full_queues_.load() == 0) return true;
        }
        return false;
      });
      --waiting_adders_;
      if (!deadlock.ok()) {
        if (error_.ok()) error_ = deadlock;
        stopping_ = true;
        changed_.notify_all();
      }
    }
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
  for (auto& stream : streams_) {
    for (auto& poller : stream.pollers) {
      {
        std::lock_guard lock(poller->mutex);
        poller->closed = true;
      }
      poller->changed.notify_all();
    }
  }
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
const GraphConfig& Graph::config() const { return runtime_->config(); }

}  // namespace edgepipe
