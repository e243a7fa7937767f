// Load-time checks of what a model's operators mean, beyond what the reader
// verifies (indices, sizes): parameters in range (strides, dilations, filter
// sizes), declared output shapes equal to what the op computes (TFLite's SAME
// and VALID formulas), no empty tensors. The FlatBuffer verifier accepts a
// stride of -3 or an output shape the op cannot produce; without these checks
// such a model either runs and returns garbage or fails deep inside a backend
// ("XNNPACK: cannot compile it"). The checks are the ops' meaning, not any
// backend's limits, so every backend receives checked input.
#pragma once

#include "core/status.h"
#include "engine/planner.h"

namespace edgepipe::engine {

// Every live op of the plan; errors name the op index, op name and tensor.
Status CheckOpSemantics(const Plan& plan);

}  // namespace edgepipe::engine
