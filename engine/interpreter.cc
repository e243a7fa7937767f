#include "engine/interpreter.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/ranges.h>

#include "engine/backend.h"
#include "engine/backend_registry.h"
#include "engine/planner.h"
#include "engine/threading/thread_pool.h"

namespace edgepipe::engine {
namespace {

// XNNPACK may read (never write) up to this many bytes past an input tensor.
constexpr size_t kXnnExtraBytes = 16;

std::string DescribeTensors(const Plan& plan, const std::vector<int>& ids) {
  std::vector<std::string> parts;
  for (int t : ids) {
    if (t < 0) continue;
    const TensorView& v = plan.tensors[t].view;
    parts.push_back(fmt::format("{}[{}]{}", DTypeName(v.dtype), fmt::join(v.shape, ","),
                                v.quant.per_channel() ? " per-channel" : ""));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

Interpreter::~Interpreter() {
  steps_.clear();  // XNNPACK runtimes hold the thread pool
  threadpool_.reset();
}

Result<std::unique_ptr<Interpreter>> Interpreter::Create(std::shared_ptr<const Model> model,
                                                         const InterpreterOptions& options) {
  if (model == nullptr) return InvalidArgumentError("Interpreter::Create: no model");
  if (options.num_threads < 1)
    return InvalidArgumentError("num_threads must be at least 1, got {}", options.num_threads);
  auto interpreter = std::unique_ptr<Interpreter>(new Interpreter());
  interpreter->model_ = std::move(model);
  interpreter->options_ = options;
  Status s = interpreter->Build();
  if (!s.ok()) return s.WithContext(fmt::format("model '{}'", interpreter->model_->source()));
  return interpreter;
}

Status Interpreter::Build() {
  EP_ASSIGN_OR_RETURN(plan_, BuildPlan(model_));
  EP_RETURN_IF_ERROR(ApplyRewrites(*plan_));
  if (!options_.isa.has_value()) EP_RETURN_IF_ERROR(EnvIsaCapStatus());
  const Isa isa_cap = EffectiveIsaCap(options_.isa);
  EP_ASSIGN_OR_RETURN(backends_, MakeBackends(options_.backends, isa_cap));
  if (options_.num_threads > 1) {
    EP_ASSIGN_OR_RETURN(threadpool_, ThreadPool::Create(options_.num_threads));
    EP_RETURN_IF_ERROR(CheckXnnpackRunsOn(*threadpool_));
  }
  BackendContext context;
  context.threadpool = threadpool_ != nullptr ? threadpool_->as_pthreadpool() : nullptr;
  context.fp16_inference_hint = options_.fp16_inference;
  context.isa_cap = isa_cap;
  scratch_ = std::make_unique<SharedScratch>();
  context.scratch = scratch_.get();

  // A backend may accept an op by its shapes and dtypes and still fail to
  // compile it (XNNPACK checks some parameter ranges only when it creates
  // operators). When a grouped step fails, each of its ops is probed alone;
  // the ones that fail are refused to that backend and the partition is redone.
  Refusals refused;
  for (;;) {
    std::vector<int> failed_step_ops;
    const Backend* failed_backend = nullptr;
    Status s = TryBuild(refused, context, failed_step_ops, failed_backend);
    if (s.ok()) break;
    if (failed_backend == nullptr || failed_step_ops.size() < 1) return s;
    int newly_refused = 0;
    for (int op : failed_step_ops) {
      if (failed_backend->Probe(*plan_, op, context).ok()) continue;
      refused[op].insert(failed_backend);
      plan_->rewrites.push_back(fmt::format("{}: {} cannot compile it; moved to the next backend",
                                            OpLabel(plan_->ops[op]), failed_backend->name()));
      ++newly_refused;
    }
    if (newly_refused == 0) return s;
  }

  for (int t : plan_->inputs) input_views_.push_back(&plan_->tensors[t].view);
  for (int t : plan_->outputs) output_views_.push_back(&plan_->tensors[t].view);
  return OkStatus();
}

Status Interpreter::TryBuild(const Refusals& refused, const BackendContext& context,
                             std::vector<int>& failed_step_ops, const Backend*& failed_backend) {
  Plan& plan = *plan_;
  steps_.clear();
  for (PlanTensor& t : plan.tensors) {
    t.needs_slot = false;
    if (!t.is_constant) t.view.data = nullptr;
  }

  // Partition: the first backend that supports an op (and has not refused it) runs it.
  struct PendingStep {
    const Backend* backend;
    std::vector<int> ops;
  };
  std::vector<PendingStep> pending;
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    PlanOp& op = plan.ops[i];
    if (!op.live) continue;
    const Backend* chosen = nullptr;
    std::vector<std::string> reasons;
    for (const auto& backend : backends_) {
      if (auto r = refused.find(static_cast<int>(i)); r != refused.end() && r->second.count(backend.get())) {
        reasons.push_back(fmt::format("{}: cannot compile it", backend->name()));
        continue;
      }
      std::string why;
      if (backend->Supports(plan, op, &why)) {
        chosen = backend.get();
        break;
      }
      if (!why.empty()) reasons.push_back(fmt::format("{}: {}", backend->name(), why));
    }
    if (chosen == nullptr)
      return UnimplementedError("{}: no backend can run it with inputs {} -> outputs {}{}{}", OpLabel(op),
                                DescribeTensors(plan, op.inputs), DescribeTensors(plan, op.outputs),
                                reasons.empty() ? "" : "; ", fmt::join(reasons, "; "));
    op.backend = chosen->name();
    const bool extend = !pending.empty() && pending.back().backend == chosen && chosen->groups_ops() &&
                        !options_.profile_per_op && !options_.preserve_all_tensors;
    if (!extend) pending.push_back({chosen, {}});
    pending.back().ops.push_back(static_cast<int>(i));
    op.step = static_cast<int>(pending.size()) - 1;
    // Ops the backend fuses into this one's step are not partitioned.
    int fused = options_.preserve_all_tensors ? 0 : chosen->FusedSuccessors(plan, static_cast<int>(i));
    while (fused > 0 && i + 1 < plan.ops.size()) {
      PlanOp& next = plan.ops[++i];
      if (!next.live) continue;
      next.backend = chosen->name();
      next.step = op.step;
      pending.back().ops.push_back(static_cast<int>(i));
      --fused;
    }
  }

  // Every activation tensor lives in our one arena, placed by lifetime in op
  // order, XNNPACK's intermediates included (as external values): left to
  // XNNPACK, each runtime kept its own unshared workspace (palm: 17 MB, paged in
  // on the first invoke) instead of the few MB our lifetime placement needs.
  // An own-kernel step with fused ops (a conv with its ADD/PRELU epilogue) runs
  // them all at once: its tensors are live from the step's first op to its last.
  // XNNPACK runs its ops one after another, so there the op is the unit.
  const int num_ops = static_cast<int>(plan.ops.size());
  std::vector<int> op_begin(num_ops), op_end(num_ops);
  for (int i = 0; i < num_ops; ++i) op_begin[i] = op_end[i] = i;
  for (const PendingStep& p : pending) {
    if (p.backend->groups_ops() || p.ops.size() < 2) continue;
    const auto [lo, hi] = std::minmax_element(p.ops.begin(), p.ops.end());
    for (int i : p.ops) op_begin[i] = *lo, op_end[i] = *hi;
  }
  std::vector<int> first_use(plan.tensors.size(), num_ops), last_use(plan.tensors.size(), -1);
  for (size_t t = 0; t < plan.tensors.size(); ++t) {
    PlanTensor& tensor = plan.tensors[t];
    if (tensor.is_constant) continue;
    if (tensor.is_graph_input || tensor.is_graph_output || tensor.is_variable || options_.preserve_all_tensors) {
      tensor.needs_slot = true;
      first_use[t] = 0;
      last_use[t] = num_ops;
      continue;
    }
    if (tensor.producer < 0 && tensor.consumers.empty()) continue;
    // Produced and consumed inside one fused own-kernel step (a conv's ADD or
    // PRELU epilogue): it never exists in memory.
    if (tensor.producer >= 0 && !tensor.consumers.empty()) {
      const int step = plan.ops[tensor.producer].step;
      const bool inside = std::all_of(tensor.consumers.begin(), tensor.consumers.end(),
                                      [&](int c) { return plan.ops[c].step == step; });
      if (inside && !pending[step].backend->groups_ops()) continue;
    }
    tensor.needs_slot = true;
    first_use[t] = tensor.producer >= 0 ? op_begin[tensor.producer] : 0;
    last_use[t] = tensor.producer >= 0 ? op_end[tensor.producer] : 0;
    for (int c : tensor.consumers) {
      first_use[t] = std::min(first_use[t], op_begin[c]);
      last_use[t] = std::max(last_use[t], op_end[c]);
    }
  }
  arena_bytes_ = PlaceInArena(plan, first_use, last_use, kXnnExtraBytes);
  {
    auto arena = PageBuffer::Allocate(arena_bytes_);  // zeroed
    if (!arena.ok()) return arena.status().WithContext("the tensor arena");
    arena_ = std::move(*arena);
  }
  for (PlanTensor& t : plan.tensors)
    if (t.needs_slot) t.view.data = arena_.data() + t.slot_offset;
  ResetVariableTensors();

  bool any_grouped = false;
  bool any_fp16 = false;
  for (const PendingStep& p : pending) {
    auto step = p.backend->Compile(plan, p.ops, context);
    if (!step.ok()) {
      failed_step_ops = p.ops;
      failed_backend = p.backend;
      return step.status();
    }
    StepInfo info;
    info.step = std::move(*step);
    info.backend = p.backend->name();
    for (int i : p.ops) {
      info.op_indices.push_back(plan.ops[i].model_index);
      info.op_names.push_back(plan.ops[i].name);
    }
    if (p.backend->groups_ops()) any_grouped = true;
    any_fp16 = any_fp16 || info.step->fp16_active();
    steps_.push_back(std::move(info));
  }
  EP_RETURN_IF_ERROR(scratch_->Allocate());
  fp16_active_ = any_fp16;
  fp16_status_ = OkStatus();
  if (options_.fp16_inference && !any_fp16) {
    fp16_status_ = any_grouped ? UnavailableError("fp16 inference was requested, but XNNPACK cannot run fp16 "
                                                  "arithmetic on this CPU; running in fp32")
                               : UnavailableError("fp16 inference was requested, but no op runs on XNNPACK");
  }
  return OkStatus();
}

int Interpreter::input_index(const std::string& name) const {
  for (size_t i = 0; i < input_views_.size(); ++i)
    if (input_views_[i]->name == name) return static_cast<int>(i);
  return -1;
}

int Interpreter::output_index(const std::string& name) const {
  for (size_t i = 0; i < output_views_.size(); ++i)
    if (output_views_[i]->name == name) return static_cast<int>(i);
  return -1;
}

Status Interpreter::Invoke() {
  for (size_t s = 0; s < steps_.size(); ++s) {
    StepInfo& info = steps_[s];
    if (profile_listener_) {
      auto start = std::chrono::steady_clock::now();
      Status status = info.step->Run();
      auto end = std::chrono::steady_clock::now();
      if (!status.ok()) return status;
      StepProfile profile;
      profile.step = static_cast<int>(s);
      profile.backend = info.backend;
      profile.op_indices = info.op_indices;
      profile.op_names = info.op_names;
      profile.microseconds = std::chrono::duration<double, std::micro>(end - start).count();
      profile_listener_(profile);
    } else {
      EP_RETURN_IF_ERROR(info.step->Run());
    }
  }
  return OkStatus();
}

void Interpreter::ResetVariableTensors() {
  for (PlanTensor& t : plan_->tensors) {
    if (!t.is_variable || t.view.data == nullptr) continue;
    int64_t zp = t.view.quant.zero_point.empty() ? 0 : t.view.quant.zero_point[0];
    if (t.view.dtype == DType::kUInt8 || t.view.dtype == DType::kInt8)
      std::memset(t.view.data, static_cast<int>(zp & 0xff), t.view.num_bytes());
    else
      std::memset(t.view.data, 0, t.view.num_bytes());
  }
}

std::vector<OpPlacement> Interpreter::placements() const {
  std::vector<OpPlacement> out;
  for (const PlanOp& op : plan_->ops) {
    OpPlacement p;
    p.op_index = op.model_index;
    p.op_name = op.name;
    p.backend = op.live ? op.backend : (op.code == builtin::kDequantize ? "folded" : "fused");
    p.step = op.live ? op.step : -1;
    if (p.step >= 0 && static_cast<size_t>(p.step) < steps_.size()) p.variant = steps_[p.step].step->variant();
    out.push_back(std::move(p));
  }
  return out;
}

const TensorView* Interpreter::tensor(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= plan_->tensors.size()) return nullptr;
  const PlanTensor& t = plan_->tensors[index];
  return t.view.data != nullptr ? &t.view : nullptr;
}

size_t Interpreter::num_tensors() const { return plan_->tensors.size(); }

const std::vector<std::string>& Interpreter::rewrites() const { return plan_->rewrites; }

}  // namespace edgepipe::engine
