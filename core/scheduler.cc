// The scheduler. Every node has input queues guarded by the node's mutex. A
// producer appends packets (or raises a bound) on each consumer queue and, if
// that makes the consumer ready and fewer than max_in_flight tasks run for it,
// schedules a task on the consumer's executor. A task keeps processing input
// sets while the node stays ready (up to a batch limit), so a busy consumer
// picks up new packets without any wake-up. Sources run while no input queue
// in the graph is full; a full queue throttles them (core/back_pressure.cc).
#include "core/graph_runtime.h"

namespace edgepipe {

namespace {
constexpr int kTaskBatch = 64;  // input sets one task handles before yielding its thread
}  // namespace

void GraphRuntime::ScheduleTask(NodeState& node) {
  active_tasks_.fetch_add(1, std::memory_order_acq_rel);
  const int id = node.id;
  executors_[node.executor]->Schedule([this, id] { RunNode(id); });
}

void GraphRuntime::ResumeNode(NodeState& node) {
  bool schedule = false;
  {
    std::lock_guard lock(node.mutex);
    ScheduleLocked(node, &schedule);
  }
  if (schedule) ScheduleTask(node);
}

void GraphRuntime::TaskFinished() {
  if (watch_stalls_) last_progress_ns_.store(clock_->NowNs(), std::memory_order_relaxed);
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
  work->kind = WorkKind::kNone;
  work->traced_pops = 0;
  if (Stopping()) return false;
  const Readiness readiness = EvaluateInputs(node, 1);
  work->kind = readiness.kind;
  work->timestamp = readiness.timestamp;
  switch (readiness.kind) {
    case WorkKind::kNone:
      return false;
    case WorkKind::kClose:
      node.closing = true;
      return true;
    case WorkKind::kProcess:
      if (node.is_source && full_queues_.load(std::memory_order_acquire) > 0) {
        work->kind = WorkKind::kThrottled;
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
      work->kind == WorkKind::kProcess || (work->kind == WorkKind::kBoundOnly && node.process_bounds && node.bounds_changed);
  if (work->kind == WorkKind::kBoundOnly && !needs_context) {
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
        if (work->kind == WorkKind::kProcess && !queue.packets.empty() &&
            queue.packets.front().timestamp() == work->timestamp) {
          target = std::move(queue.packets.front());
          queue.packets.pop_front();
          if (tracer_) {
            const int depth = static_cast<int>(queue.packets.size());
            if (work->traced_pops < Work::kTracedPops) {
              work->pops[work->traced_pops++] = {slot, depth};
            } else {
              TraceQueueDepth(node, slot, depth, clock_->NowNs());
            }
          }
          if (queue.counted_full && static_cast<int>(queue.packets.size()) < queue.max_size) {
            queue.counted_full = false;
            if (full_queues_.fetch_sub(1, std::memory_order_acq_rel) == 1) work->drained_last_full_queue = true;
          }
        } else {
          target = Packet();
        }
        context.input_bounds_[slot] = queue.packets.empty() ? queue.bound : queue.packets.front().timestamp();
      }
      if (work->kind == WorkKind::kBoundOnly) {
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
      if (!NextWork(node, &work)) work.kind = WorkKind::kNone;
      if (work.kind == WorkKind::kNone || work.kind == WorkKind::kThrottled) {
        --node.tasks;
      } else if (work.kind == WorkKind::kProcess && !node.is_source) {
        // Another input set may be ready: let a second task take it (max_in_flight > 1).
        ScheduleLocked(node, &extra_task);
      }
    }
    if (work.kind == WorkKind::kNone) break;
    if (work.kind == WorkKind::kThrottled) {
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

}  // namespace edgepipe
