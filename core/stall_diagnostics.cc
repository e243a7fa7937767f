// Stall diagnostics: when the graph makes no progress and is not done, say
// which node waits for which input and timestamp bound, with queue sizes and
// the last timestamps seen.
//
// With a stall timeout (Graph::SetStallTimeout, stall_timeout_ms) the run fails
// with that diagnostic; without one, it is printed once after
// EDGEPIPE_STALL_SECONDS (default 10; 0 = never) and the wait goes on.
#include <algorithm>
#include <cstdlib>

#include "core/graph_runtime.h"

namespace edgepipe {

namespace {
std::string DescribeQueue(const NodeState& node, size_t slot) {
  const InputQueue& queue = node.inputs[slot];
  std::string out = fmt::format("{} (stream \"{}\") {} queued (max {})",
                                node.input_layout.Describe(static_cast<int>(slot)), node.input_names[slot],
                                queue.packets.size(), queue.max_size);
  if (!queue.packets.empty()) out += fmt::format(", head {}", queue.packets.front().timestamp().DebugString());
  out += fmt::format(", bound {}, last packet {}", queue.bound.DebugString(), queue.last_seen.DebugString());
  return out;
}

// Which inputs hold the node back, for the lowest timestamp it could process next.
std::string DescribeWait(const NodeState& node) {
  // The default handler processes the lowest queued timestamp once every empty input's bound passed it.
  Timestamp min_head = Timestamp::Done();
  for (const InputQueue& queue : node.inputs) {
    if (!queue.packets.empty()) min_head = std::min(min_head, queue.packets.front().timestamp());
  }
  if (min_head == Timestamp::Done()) return "waits for a packet on any input";
  if (node.handler == InputHandlerKind::kImmediate) return "has packets to process";
  std::string waits;
  for (size_t slot = 0; slot < node.inputs.size(); ++slot) {
    const InputQueue& queue = node.inputs[slot];
    if (!queue.packets.empty() || queue.bound > min_head) continue;
    waits += fmt::format("{}input {} (stream \"{}\") to pass timestamp {} (its bound is {})",
                         waits.empty() ? "" : " and ", node.input_layout.Describe(static_cast<int>(slot)),
                         node.input_names[slot], min_head.DebugString(), queue.bound.DebugString());
  }
  return "waits for " + waits;
}
}  // namespace

std::string GraphRuntime::DescribeWaits() const {
  std::string out;
  for (const auto& node : nodes_) {
    std::lock_guard lock(node->mutex);
    if (node->closed || node->is_source) continue;
    std::string queues;
    for (size_t slot = 0; slot < node->inputs.size(); ++slot) {
      queues += (queues.empty() ? "" : "; ") + DescribeQueue(*node, slot);
    }
    out += fmt::format("{} [{} task(s)] {}; last input timestamp {}; queues: {}\n", node->where, node->tasks,
                       DescribeWait(*node), node->last_input_timestamp.DebugString(), queues);
  }
  return out;
}

int64_t GraphRuntime::StallTimeoutMs() const {
  return stall_timeout_ ? stall_timeout_->count() : config_.stall_timeout_ms();
}

void GraphRuntime::WaitForDoneLocked(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done) {
  const int64_t timeout_ms = StallTimeoutMs();
  if (timeout_ms > 0) {
    // Poll the graph's clock: a ManualClock in tests moves without waking anyone.
    const auto poll = std::chrono::milliseconds(std::clamp<int64_t>(timeout_ms / 4, 1, 100));
    while (!changed_.wait_for(lock, poll, done)) {
      const int64_t idle_ns = clock_->NowNs() - last_progress_ns_.load();
      if (active_tasks_.load() != 0 || idle_ns < timeout_ms * 1'000'000) continue;
      lock.unlock();
      const std::string waits = DescribeWaits();
      const std::string message = fmt::format(
          "the graph made no progress for {} ms (stall timeout {} ms) and is not done; waiting nodes:\n{}",
          idle_ns / 1'000'000, timeout_ms, waits);
      fmt::print(stderr, "edgepipe: {}", message);
      if (tracer_) tracer_->Instant("stall: " + message, /*global=*/true);
      lock.lock();
      if (error_.ok()) error_ = DeadlockError("stall: {}", message);
      stopping_ = true;
      changed_.notify_all();
    }
    return;
  }
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
      const std::string waits = DescribeWaits();
      fmt::print(stderr, "edgepipe: the graph has made no progress for {} s and is not done; waiting nodes:\n{}",
                 stall_seconds, waits);
      if (tracer_) tracer_->Instant("stall: no progress; waiting nodes:\n" + waits, /*global=*/true);
      lock.lock();
      reported = true;
    }
  }
}

}  // namespace edgepipe
