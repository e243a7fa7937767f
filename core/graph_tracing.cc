// The graph's side of a trace (core/trace_writer.h): names, spans with their
// flow arrows, queue depths. Every hook is behind `if (tracer_)`.
#include "core/graph_runtime.h"

namespace edgepipe {

namespace {
// One id per (stream, consumer input, packet timestamp), computed alike on both ends of the arrow.
uint64_t FlowId(int stream, int consumer, int slot, Timestamp timestamp) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t part : {static_cast<uint64_t>(stream), static_cast<uint64_t>(consumer), static_cast<uint64_t>(slot),
                        static_cast<uint64_t>(timestamp.Value())}) {
    h = (h ^ part) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h;
}
}  // namespace

Status GraphRuntime::StartTrace() {
  tracer_.reset();
  TraceOptions options = trace_options_;
  if (options.path.empty() && config_.has_trace()) {
    options.path = config_.trace().path();
    options.buffer_events = static_cast<size_t>(config_.trace().buffer_events());
    options.flush_interval_ms = config_.trace().flush_interval_ms();
  }
  if (options.path.empty()) return OkStatus();
  EP_ASSIGN_OR_RETURN(tracer_, TraceWriter::Open(options, clock_));
  for (auto& node : nodes_) {
    node->trace_name = tracer_->AddName(node->name);
    node->trace_queue_names.clear();
    for (const std::string& input : node->input_names) {
      node->trace_queue_names.push_back(tracer_->AddName(fmt::format("queue {} ← {}", node->name, input)));
    }
  }
  return OkStatus();
}

Status GraphRuntime::FinishTrace() {
  if (!tracer_) return OkStatus();
  Status status = tracer_->Finish();
  tracer_.reset();
  return status;
}

void GraphRuntime::TraceCall(NodeState& node, TraceWriter::Call call, int64_t start_ns, int64_t end_ns,
                             const CalculatorContext& context, const Work* work) {
  using Event = TraceWriter::Event;
  // Recorded in batches: one lock and thread lookup per call, not per event.
  constexpr size_t kBatch = 16;
  Event events[kBatch];
  size_t count = 0;
  auto add = [&](const Event& event) {
    if (count == kBatch) {
      tracer_->Record(events, count);
      count = 0;
    }
    events[count++] = event;
  };
  const Timestamp timestamp = context.input_timestamp_;
  add(Event::Span(node.trace_name, call, start_ns, end_ns, timestamp.Value()));
  if (work != nullptr) {
    // The packets left their queues just before the call began.
    for (int i = 0; i < work->traced_pops; ++i) {
      add(Event::Counter(node.trace_queue_names[work->pops[i].slot], work->pops[i].depth, start_ns));
    }
  }
  for (int slot = 0; slot < static_cast<int>(node.input_streams.size()); ++slot) {
    const Packet& packet = context.input_packets_[slot];
    // Graph inputs have no producer span for an arrow to start from.
    if (packet.IsEmpty() || streams_[node.input_streams[slot]].producer_node < 0) continue;
    add(Event::FlowIn(FlowId(node.input_streams[slot], node.id, slot, packet.timestamp()), start_ns));
  }
  for (int slot = 0; slot < node.output_layout.size(); ++slot) {
    const int stream = node.output_streams[slot];
    for (const Packet& packet : context.outputs_.handles_[slot].packets_) {
      for (auto [consumer, in_slot] : streams_[stream].consumers) {
        add(Event::FlowOut(FlowId(stream, consumer, in_slot, packet.timestamp()), start_ns));
      }
    }
  }
  tracer_->Record(events, count);
  if (context.dropped_ != 0) {
    tracer_->Instant(fmt::format("drop: {} dropped {} packet(s) at {}", node.name, context.dropped_,
                                 timestamp.DebugString()));
  }
}

void GraphRuntime::TraceQueueDepth(const NodeState& node, int slot, size_t depth, int64_t ns) {
  tracer_->Record(TraceWriter::Event::Counter(node.trace_queue_names[slot], static_cast<int64_t>(depth), ns));
}

}  // namespace edgepipe
