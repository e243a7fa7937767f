// Input stream handlers: given a node's input queues, what can the node do now?
//
// DefaultInputStreamHandler processes the lowest timestamp once it is settled on
// every input (a packet there, or a bound above it); ImmediateInputStreamHandler
// processes any packet at once. Both fall back to bound-only progress (timestamp
// offsets, process_timestamp_bounds) when no packet can be processed.
#pragma once

#include "core/node_state.h"

namespace edgepipe {

enum class WorkKind { kNone, kProcess, kBoundOnly, kClose, kThrottled };

struct Readiness {
  WorkKind kind = WorkKind::kNone;
  Timestamp timestamp;  // of the Process call, or min_next for a bound-only step
  Timestamp min_next = Timestamp::Done();
};

// Called with node.mutex held. `own_tasks` is 1 when the caller is one of the
// node's tasks (it does not block a Close).
Readiness EvaluateInputs(const NodeState& node, int own_tasks);

}  // namespace edgepipe
