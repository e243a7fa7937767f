// Backends and steps: how the interpreter runs a partitioned Plan.
//
// A Backend claims ops it can run (Supports) and compiles a run of consecutive
// claimed ops into one Step. XNNPACK groups many ops into one subgraph; our own
// kernels run one op per step. A GPU or Edge TPU delegate would be one more
// Backend placed before XNNPACK in the interpreter's list: it claims the ops it
// can take, and its steps read and write the same arena tensors.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <pthreadpool.h>

#include "core/status.h"
#include "engine/planner.h"

namespace edgepipe::engine {

struct BackendContext {
  pthreadpool_t threadpool = nullptr;  // may be null (single thread)
  bool fp16_inference_hint = false;
};

class Step {
 public:
  virtual ~Step() = default;
  // Runs the step's ops; every tensor it touches already has its memory.
  virtual Status Run() = 0;
  // Whether the step honoured the fp16-inference hint (XNNPACK only).
  virtual bool fp16_active() const { return false; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Whether consecutive ops of this backend share one step.
  virtual bool groups_ops() const = 0;
  // Whether this backend can run `op` as planned. When it cannot, `why` may say
  // why (used when no backend claims an op).
  virtual bool Supports(const Plan& plan, const PlanOp& op, std::string* why) const = 0;
  // Compiles ops (indices into plan.ops, in execution order) into a step.
  // Tensors needing arena memory already point into the arena.
  virtual Result<std::unique_ptr<Step>> Compile(const Plan& plan, std::span<const int> ops,
                                                const BackendContext& context) const = 0;
  // Checks that `op` alone compiles (every tensor treated as an external
  // value, no memory bound). Used after a grouped Compile failed, to find the
  // ops this backend accepted by shape but cannot actually run.
  virtual Status Probe(const Plan& plan, int op, const BackendContext& context) const {
    (void)plan, (void)op, (void)context;
    return OkStatus();
  }
};

std::unique_ptr<Backend> MakeXnnpackBackend();
// Whether XNNPACK's pthreadpool calls reach our pool (engine/threading/): they
// do unless another library exported pthreadpool_* first (e.g. loaded with
// RTLD_GLOBAL). Checked once per process.
class ThreadPool;
Status CheckXnnpackRunsOn(ThreadPool& pool);
std::unique_ptr<Backend> MakeOwnKernelBackend();
// int8 (symmetric weights) and uint8 (asymmetric) CONV_2D on our AVX512-VNNI kernel (placed
// before XNNPACK). Null when the CPU has no AVX512-VNNI.
std::unique_ptr<Backend> MakeVnniConvBackend();
// int8 and uint8 DEPTHWISE_CONV_2D (depth multiplier 1) on our AVX512-VNNI kernel
// (placed before XNNPACK). Null when the CPU has no AVX512-VNNI.
std::unique_ptr<Backend> MakeDepthwiseQ8Backend();

}  // namespace edgepipe::engine
