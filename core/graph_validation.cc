// Validation: expands subgraphs, matches every node's connections against its
// calculator's contract and builds the fixed part of each NodeState (ports,
// streams, executor, input handler, queue limits), orders nodes for Open and
// checks stream types. Errors name the node and its config location.
#include <algorithm>
#include <cstdlib>
#include <deque>
#include <set>

#include "core/calculator_call.h"
#include "core/graph_runtime.h"
#include "core/stream_name.h"

namespace edgepipe {

namespace {
std::string DescribePorts(const std::vector<PortSpec>& ports) {
  std::string out;
  for (const PortSpec& port : ports) {
    if (!out.empty()) out += ", ";
    out += port.tag.empty() ? "<untagged>" : port.tag;
  }
  return out.empty() ? "none" : out;
}
}  // namespace

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
  stream_packets_ = std::make_unique<std::atomic<uint64_t>[]>(streams_.size());
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
    node->queue_limit_set = config.has_max_queue_size() || config_.has_max_queue_size();
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
      const StreamDef& stream = streams_[it->second];
      if (!node->queue_limit_set && stream.producer_node >= 0) {
        // Large packets (video frames): the producer's port caps the queue.
        const NodeState& producer = *nodes_[stream.producer_node];
        const std::string& tag = producer.output_layout.tag(stream.producer_slot);
        for (const PortSpec& port : producer.contract->outputs()) {
          if (port.tag == tag && port.queue_limit) {
            node->input_queue_limits[slot] = std::min(node->input_queue_limits[slot], *port.queue_limit);
          }
        }
      }
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

}  // namespace edgepipe
