// Backends and steps: how the interpreter runs a partitioned Plan.
//
// A Backend claims ops it can run (Supports) and compiles a run of consecutive
// claimed ops into one Step. XNNPACK groups many ops into one subgraph; our own
// kernels run one op per step. A GPU or Edge TPU delegate would be one more
// Backend placed before XNNPACK in the interpreter's list: it claims the ops it
// can take, and its steps read and write the same arena tensors.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pthreadpool.h>

#include "core/status.h"
#include "engine/cpu/cpu_features.h"
#include "engine/kernels/kernels.h"
#include "engine/page_buffer.h"
#include "engine/planner.h"

namespace edgepipe::engine {

// Memory own kernels use only while their step runs (im2col rows, ring
// buffers). Steps run one at a time, so an interpreter keeps one buffer, as
// large as the largest step needs, instead of one per op and thread.
class SharedScratch {
 public:
  // Called while compiling: the step will need `bytes` when it runs.
  void Require(size_t bytes) { bytes_ = std::max(bytes_, bytes); }
  // Called once every step is compiled; data() is valid from then on.
  Status Allocate();
  std::byte* data() const { return buffer_.data(); }

 private:
  size_t bytes_ = 0;
  PageBuffer buffer_;
};

// The kernels' names for an op's options.
Result<kernels::FusedActivation> ToKernelActivation(Activation activation);
Result<kernels::ConvParams> ConvParamsOf(const PlanOp& op);

// Whether a CONV_2D / DEPTHWISE_CONV_2D `op` has the operands our 8-bit conv
// kernels take: int8 or uint8 input and output with per-tensor quantization, a
// constant 4-D filter of that type whose last dimension is the input's channels
// (depth multiplier 1 / no groups) with one zero point (0 for int8), an int32
// constant bias if any, and a fused activation the kernels implement.
bool Has8BitConvOperands(const Plan& plan, const PlanOp& op);

struct BackendContext {
  pthreadpool_t threadpool = nullptr;  // may be null (single thread)
  bool fp16_inference_hint = false;
  SharedScratch* scratch = nullptr;    // for own kernels; null when probing
  Isa isa_cap = Isa::kGeneric;         // own kernels choose their variant at or under it
};

// How many parts an own kernel splits an op writing `output_bytes` into: up to
// 4 per thread, so that when a worker starts late (its core taken) the running
// threads take its parts instead of waiting for it (engine/threading/), but
// at least 16 KiB of output each: ops of a few microseconds cost more to hand
// out than they gain (mobilenet_v1_0.25's 8x8x128 depthwise: 1.7 us on one
// thread, 4.2 us split over two).
int KernelParts(pthreadpool_t pool, size_t output_bytes);

class Step {
 public:
  virtual ~Step() = default;
  // Runs the step's ops; every tensor it touches already has its memory.
  virtual Status Run() = 0;
  // Whether the step honoured the fp16-inference hint (XNNPACK only).
  virtual bool fp16_active() const { return false; }
  // The kernel variant that runs it ("avx512", "generic", ...), for `edgepipe
  // inspect`; empty when the backend does not say (XNNPACK picks its own).
  const std::string& variant() const { return variant_; }
  void set_variant(std::string_view variant) { variant_ = std::string(variant); }

 private:
  std::string variant_;
};

// A step running one own kernel split into parts: on the interpreter's pool
// when it has one (parts are claimed by whichever thread is free), each part
// with its own slice of the shared scratch.
class PartedStep final : public Step {
 public:
  using RunPartFn = std::function<Status(int part, std::byte* scratch)>;
  // Reserves num_parts * scratch_per_part bytes of `scratch` (may be null when
  // scratch_per_part is 0).
  PartedStep(int num_parts, size_t scratch_per_part, SharedScratch* scratch, pthreadpool_t pool, std::string label,
             RunPartFn run_part);
  Status Run() override;

 private:
  const int num_parts_;
  const size_t scratch_stride_;
  SharedScratch* scratch_;
  pthreadpool_t pool_;
  const std::string label_;
  RunPartFn run_part_;
  std::vector<Status> part_status_;
};

// One operator a backend runs: the builtin code (or builtin::kCustom and the
// custom op's name), the highest version whose semantics it implements, and
// whether it can run a planned instance of it (dtypes, shapes, options). A
// backend lists one entry per op, beside the code that compiles it; the reader's
// list of supported ops (engine/op_versions.h) is derived from these entries.
struct OpRegistration {
  using SupportsFn = bool (*)(const Plan& plan, const PlanOp& op, std::string* why);
  int32_t code = 0;
  std::string_view custom_name;
  int32_t max_version = 1;
  SupportsFn supports = nullptr;  // null: every instance
};

class Backend {
 public:
  // `ops`: every op this backend runs (entries outlive the backend).
  explicit Backend(std::vector<const OpRegistration*> ops);
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Whether consecutive ops of this backend share one step.
  virtual bool groups_ops() const = 0;
  const std::vector<const OpRegistration*>& registered_ops() const { return ops_; }
  // This backend's entry for `op` (its code or custom name, any version), or null.
  const OpRegistration* Find(const PlanOp& op) const;
  // Whether this backend can run `op` as planned: it registers the op at the
  // op's version, AcceptsAny passes and the entry's check passes. When it
  // cannot, `why` may say why (used when no backend claims an op).
  bool Supports(const Plan& plan, const PlanOp& op, std::string* why) const;
  // How many of the live ops right after `op` (execution order) this backend
  // runs inside op's step, e.g. an ADD and a PRELU applied in a convolution's
  // epilogue. Called for ops it Supports; those ops are then compiled with op
  // and their intermediate tensors get no memory.
  virtual int FusedSuccessors(const Plan& plan, int op) const {
    (void)plan, (void)op;
    return 0;
  }
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

 protected:
  // A check every op of this backend must pass before its own entry's (e.g.
  // XNNPACK's rank limit and fused activations).
  virtual bool AcceptsAny(const Plan& plan, const PlanOp& op, std::string* why) const {
    (void)plan, (void)op, (void)why;
    return true;
  }

 private:
  std::vector<const OpRegistration*> ops_;
};

// Pointers to every entry of a backend's table, for Backend's constructor.
template <typename Entry>
std::vector<const OpRegistration*> RegistrationsOf(std::span<const Entry> table) {
  std::vector<const OpRegistration*> out;
  for (const Entry& e : table) out.push_back(&e);
  return out;
}

std::unique_ptr<Backend> MakeXnnpackBackend();
// Whether XNNPACK's pthreadpool calls reach our pool (engine/threading/): they
// do unless another library exported pthreadpool_* first (e.g. loaded with
// RTLD_GLOBAL). Checked once per process.
class ThreadPool;
Status CheckXnnpackRunsOn(ThreadPool& pool);
std::unique_ptr<Backend> MakeOwnKernelBackend();
// int8 (symmetric weights) and uint8 (asymmetric) CONV_2D and
// DEPTHWISE_CONV_2D on our kernels, each compiled with the variant the step's
// ISA cap allows (engine/kernels/conv_q8.h, dwconv_q8.h). The default list
// places it before XNNPACK only where those variants are faster
// (kernels::ConvQ8AheadOfXnnpack, DepthwiseQ8AheadOfXnnpack).
std::unique_ptr<Backend> MakeQ8ConvBackend(Isa cap);
// fp32 CONV_2D and DEPTHWISE_CONV_2D on our kernels, each compiled with the
// variant the step's ISA cap allows (engine/kernels/conv_f32.h). The default
// list places it before XNNPACK only where that variant is faster
// (kernels::ConvF32AheadOfXnnpack).
std::unique_ptr<Backend> MakeF32ConvBackend();
// Hybrid FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D (float activations, int8
// weights) and int8 per-channel FULLY_CONNECTED on our kernels
// (engine/kernels/hybrid_ops.h), each with the variant the ISA cap allows.
// XNNPACK runs none of them, so it is always in the default list.
std::unique_ptr<Backend> MakeHybridBackend(Isa cap);

}  // namespace edgepipe::engine
