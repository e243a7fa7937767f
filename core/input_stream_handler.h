// Input stream handlers: given a node's input queues, what can the node do now?
//
// DefaultInputStreamHandler processes the lowest timestamp once it is settled on
// every input (a packet there, or a bound above it); ImmediateInputStreamHandler
// processes any packet at once. Both fall back to bound-only progress (timestamp
// offsets, process_timestamp_bounds) when no packet can be processed.
#pragma once

#include <algorithm>

#include "core/node_state.h"

namespace edgepipe {

enum class WorkKind { kNone, kProcess, kBoundOnly, kClose, kThrottled };

struct Readiness {
  WorkKind kind = WorkKind::kNone;
  Timestamp timestamp;  // of the Process call, or min_next for a bound-only step
  Timestamp min_next = Timestamp::Done();
};

// Inline: evaluated on every packet delivery, from several files of the runtime.

namespace input_handler_internal {

// The lowest timestamp a packet may still arrive at on any input, and the lowest queued one.
struct InputFront {
  Timestamp min_next = Timestamp::Done();
  Timestamp min_head = Timestamp::Done();
};

inline InputFront ScanInputs(const NodeState& node) {
  InputFront front;
  for (const InputQueue& queue : node.inputs) {
    if (queue.packets.empty()) {
      front.min_next = std::min(front.min_next, queue.bound);
    } else {
      const Timestamp head = queue.packets.front().timestamp();
      front.min_next = std::min(front.min_next, head);
      front.min_head = std::min(front.min_head, head);
    }
  }
  return front;
}

// ImmediateInputStreamHandler: any queued packet is processed at once, at the lowest head.
inline bool ImmediateHandlerReady(const InputFront& front, Readiness* readiness) {
  if (front.min_head == Timestamp::Done()) return false;
  readiness->kind = WorkKind::kProcess;
  readiness->timestamp = front.min_head;
  return true;
}

// DefaultInputStreamHandler: min_next must be settled on every input without a packet there.
inline bool DefaultHandlerReady(const NodeState& node, const InputFront& front, Readiness* readiness) {
  if (front.min_head == Timestamp::Done()) return false;
  for (const InputQueue& queue : node.inputs) {
    if (queue.packets.empty() && queue.bound <= front.min_next) return false;
  }
  readiness->kind = WorkKind::kProcess;
  readiness->timestamp = front.min_next;
  return true;
}

// Bound-only progress: everything below min_next is settled on every input.
inline bool BoundOnlyReady(const NodeState& node, const InputFront& front, Readiness* readiness) {
  bool bound_only = node.process_bounds && node.bounds_changed;
  if (!bound_only && node.offset && front.min_next.IsRangeValue()) {
    Timestamp bound;
    bound_only = front.min_next.TryAdd(*node.offset, &bound) && bound > node.last_offset_bound;
  }
  if (!bound_only) return false;
  readiness->kind = WorkKind::kBoundOnly;
  readiness->timestamp = front.min_next;
  return true;
}

}  // namespace input_handler_internal

// Called with node.mutex held. `own_tasks` is 1 when the caller is one of the
// node's tasks (it does not block a Close).
inline Readiness EvaluateInputs(const NodeState& node, int own_tasks) {
  using namespace input_handler_internal;
  Readiness readiness;
  if (node.closed || node.closing || !node.opened) return readiness;
  if (node.is_source) {
    readiness.kind = WorkKind::kProcess;
    return readiness;
  }
  const InputFront front = ScanInputs(node);
  readiness.min_next = front.min_next;
  if (front.min_next == Timestamp::Done()) {
    // Every input has ended: time to Close once no other call is in flight.
    if (node.tasks == own_tasks && node.finished.empty()) readiness.kind = WorkKind::kClose;
    return readiness;
  }
  const bool ready = node.handler == InputHandlerKind::kImmediate ? ImmediateHandlerReady(front, &readiness)
                                                                  : DefaultHandlerReady(node, front, &readiness);
  if (!ready) BoundOnlyReady(node, front, &readiness);
  return readiness;
}

}  // namespace edgepipe
