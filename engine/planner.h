// The planner turns a Model into an executable Plan:
//  1. load-time rewrites: fold DENSIFY of sparse constants into dense constants,
//     fold DEQUANTIZE of constants (fp16/int8 weights) into fp32 constants, fuse RELU/RELU6/RELU_N1_TO_1 into the producing op, resolve
//     RESHAPE's -1, lower global AVERAGE_POOL_2D / MEAN over H,W to a global
//     average pool, give TFLite_Detection_PostProcess outputs their static shapes;
//  2. partitioning: each live op is claimed by the first backend that supports
//     it (XNNPACK, then our own kernels); consecutive ops of a grouping backend
//     form one step (an XNNPACK subgraph);
//  3. memory: every tensor that crosses a step boundary (or is a model input,
//     output or variable) gets a slot in one arena, placed by lifetime so that
//     tensors alive at different times share bytes. Tensors internal to an
//     XNNPACK step live in XNNPACK's own workspace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model.h"
#include "engine/page_buffer.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine {

struct PlanTensor {
  TensorView view;  // dtype, shape, quantization, name; data: constant or arena slot
  bool is_constant = false;
  bool is_graph_input = false;
  bool is_graph_output = false;
  bool is_variable = false;
  int producer = -1;           // index into Plan::ops of the live op writing it
  std::vector<int> consumers;  // live ops reading it
  // Arena placement (only for tensors that need a slot).
  bool needs_slot = false;
  size_t slot_offset = 0;
  size_t slot_bytes = 0;
};

struct PlanOp {
  int model_index = 0;  // operator index in the model (for errors and profiles)
  int32_t code = 0;     // builtin code (builtin::kCustom for custom ops)
  std::string name;     // "CONV_2D", custom code...
  int32_t version = 1;  // the operator code's version in the model
  std::vector<int> inputs;   // tensor indices (-1: omitted optional input)
  std::vector<int> outputs;
  std::vector<int> intermediates;  // quantization carriers (integer LSTM); never read or written
  OpOptions options;
  std::span<const uint8_t> custom_options;
  bool global_average_pool = false;  // AVERAGE_POOL_2D / MEAN lowered to a global pool
  bool live = true;                  // false once folded or fused away
  std::string backend;               // name of the backend that runs it
  int step = -1;                     // index of the step running it
};

// Names and describes one op for errors: "operator 12 (CONV_2D)".
std::string OpLabel(const PlanOp& op);

struct Plan {
  std::shared_ptr<const Model> model;
  std::vector<PlanTensor> tensors;
  std::vector<PlanOp> ops;
  std::vector<int> inputs;
  std::vector<int> outputs;
  // Memory of constants produced at load time (folded DENSIFY and DEQUANTIZE).
  std::vector<PageBuffer> owned_constants;
  std::vector<std::string> rewrites;  // human-readable log of what the rewrites did

  std::string TensorLabel(int index) const;  // "tensor 7 'name'"
};

// Builds the plan's tensor and op tables from the model (no rewrites yet).
Result<std::unique_ptr<Plan>> BuildPlan(std::shared_ptr<const Model> model);

// Ops the rewrites fold into constants at load time, so that no backend runs
// them (part of what the reader accepts: engine/op_versions.h).
struct FoldedOp {
  int32_t code;
  int32_t max_version;
};
std::span<const FoldedOp> OpsFoldedAtLoad();

// Runs the load-time rewrites listed above.
Status ApplyRewrites(Plan& plan);

// Recomputes producer/consumer links over live ops.
void LinkTensors(Plan& plan);

// Lifetime-based arena placement. `first_use`/`last_use` are given per tensor
// (plan op indices, i.e. execution order); tensors without a slot are skipped.
// Returns the arena size in bytes.
size_t PlaceInArena(Plan& plan, const std::vector<int>& first_use, const std::vector<int>& last_use,
                    size_t extra_bytes_per_slot);

}  // namespace edgepipe::engine
