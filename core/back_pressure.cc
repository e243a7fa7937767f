// Back-pressure and deadlock handling. A queue at its max_queue_size counts as
// full; while any queue is full, sources are throttled (parked until the last
// full queue drains) and graph inputs added in blocking mode wait.
//
// Deadlock policy. When nothing can run, some queue is full and a source or a
// graph input waits for room, the graph is stuck. REPORT_ERROR (default) stops
// the run with a DEADLOCK error naming each full queue and what its node
// waits for; GROW_QUEUE_AND_WARN raises those queues' limits and logs it.
#include "core/graph_runtime.h"

namespace edgepipe {

void GraphRuntime::ThrottleSource(NodeState& node) {
  {
    std::lock_guard lock(mutex_);
    if (full_queues_.load(std::memory_order_acquire) > 0) {
      throttled_sources_.push_back(node.id);
      if (tracer_) tracer_->Instant(fmt::format("throttled: source {} waits for a full queue to drain", node.name));
      return;
    }
  }
  ResumeNode(node);
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
  for (int id : sources) ResumeNode(*nodes_[id]);
}

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
        ResumeNode(*nodes_[id]);
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

Status GraphRuntime::WaitForRoomLocked(std::unique_lock<std::mutex>& lock, const std::string& name, Timestamp ts,
                                       AddMode mode) {
  if (full_queues_.load() == 0) return OkStatus();
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
  return OkStatus();
}

}  // namespace edgepipe
