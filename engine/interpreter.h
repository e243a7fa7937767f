// Runs a Model: plans it once (engine/planner.h), compiles each step on its
// backend (XNNPACK subgraphs, own kernels), then Invoke() runs the steps in
// order over one arena.
//
//   EP_ASSIGN_OR_RETURN(auto model, Model::Load(path));
//   EP_ASSIGN_OR_RETURN(auto interpreter, Interpreter::Create(model, {.num_threads = 2}));
//   std::memcpy(interpreter->input(0).data, pixels, interpreter->input(0).num_bytes());
//   EP_RETURN_IF_ERROR(interpreter->Invoke());
//   const TensorView& scores = interpreter->output(0);
//
// Recurrent state (traffic_model's LSTM c/h) is ordinary inputs and outputs:
// the caller copies the state outputs into the state inputs between calls.
// Model inputs and outputs have their own memory for the interpreter's
// lifetime, so they can be written before and read after any Invoke().
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/cpu/cpu_features.h"
#include "engine/model.h"
#include "engine/page_buffer.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine {

struct Plan;
class Step;
class Backend;
struct BackendContext;
class ThreadPool;
class SharedScratch;

struct InterpreterOptions {
  // Threads for XNNPACK (pthreadpool); 1 runs on the caller's thread.
  int num_threads = 1;
  // Ask XNNPACK to compute in fp16 where the CPU supports it. Whether it was
  // honoured is reported by Interpreter::fp16_inference_active()/fp16_status().
  bool fp16_inference = false;
  // Compile every XNNPACK-run op into its own step so the profile listener sees
  // per-op times (slower: XNNPACK can no longer fuse across ops).
  bool profile_per_op = false;
  // Debugging: keep every tensor in its own arena slot for the interpreter's
  // lifetime (implies one step per op) so tensor(i) can read intermediates.
  bool preserve_all_tensors = false;
  // The highest instruction set own kernels may use (engine/cpu/cpu_features.h);
  // unset: the EDGEPIPE_ISA environment variable, else the CPU's best.
  std::optional<Isa> isa = std::nullopt;
  // The backends to use, in the order they are asked for each op (names from
  // engine/backend_registry.h: "own-conv-q8", "own-conv-f32", "XNNPACK",
  // "own-kernels"); empty: the default list for this CPU.
  std::vector<std::string> backends = {};
};

// One timed step of an Invoke(): an XNNPACK subgraph (possibly many ops) or one
// own-kernel op.
struct StepProfile {
  int step = 0;
  std::string backend;
  std::vector<int> op_indices;          // model operator indices
  std::vector<std::string> op_names;
  double microseconds = 0.0;
};
using ProfileListener = std::function<void(const StepProfile&)>;

// Where each model operator runs, for `edgepipe inspect`.
struct OpPlacement {
  int op_index = 0;
  std::string op_name;
  std::string backend;  // a backend's name, or "folded"/"fused" when removed at load time
  std::string variant;  // the kernel variant that runs it ("avx512", "generic"; empty: the backend's own choice)
  int step = -1;
};

class Interpreter {
 public:
  static Result<std::unique_ptr<Interpreter>> Create(std::shared_ptr<const Model> model,
                                                     const InterpreterOptions& options = {});
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  size_t num_inputs() const { return input_views_.size(); }
  size_t num_outputs() const { return output_views_.size(); }
  // Views with memory owned by the interpreter. Write inputs through data;
  // the dtype, shape and quantization are the model's (do not change them).
  TensorView& input(size_t i) { return *input_views_[i]; }
  const TensorView& output(size_t i) const { return *output_views_[i]; }
  // Index of the input/output with this tensor name, or -1.
  int input_index(const std::string& name) const;
  int output_index(const std::string& name) const;

  Status Invoke();

  // Any model tensor by index: constants always; intermediates only with
  // preserve_all_tensors (otherwise null when the tensor has no arena slot).
  const TensorView* tensor(int index) const;
  size_t num_tensors() const;

  // Resets variable tensors to zero (their zero point when quantized).
  void ResetVariableTensors();

  void set_profile_listener(ProfileListener listener) { profile_listener_ = std::move(listener); }

  const Model& model() const { return *model_; }
  const InterpreterOptions& options() const { return options_; }
  std::vector<OpPlacement> placements() const;
  const std::vector<std::string>& rewrites() const;
  size_t num_steps() const { return steps_.size(); }
  size_t arena_bytes() const { return arena_bytes_; }
  bool fp16_inference_active() const { return fp16_active_; }
  // OK when fp16 was not asked for or is active; otherwise says why not.
  const Status& fp16_status() const { return fp16_status_; }

 private:
  Interpreter() = default;
  using Refusals = std::map<int, std::set<const Backend*>>;  // plan op -> backends that failed it
  Status Build();
  Status TryBuild(const Refusals& refused, const BackendContext& context, std::vector<int>& failed_step_ops,
                  const Backend*& failed_backend);

  struct StepInfo {
    std::unique_ptr<Step> step;
    std::string backend;
    std::vector<int> op_indices;
    std::vector<std::string> op_names;
  };

  std::shared_ptr<const Model> model_;
  InterpreterOptions options_;
  std::unique_ptr<Plan> plan_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<StepInfo> steps_;
  std::vector<TensorView*> input_views_;
  std::vector<TensorView*> output_views_;
  PageBuffer arena_;
  std::unique_ptr<SharedScratch> scratch_;  // own kernels' working memory, shared by their steps
  size_t arena_bytes_ = 0;
  std::unique_ptr<ThreadPool> threadpool_;  // null with one thread
  bool fp16_active_ = false;
  Status fp16_status_;
  ProfileListener profile_listener_;
};

}  // namespace edgepipe::engine
