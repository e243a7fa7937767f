// libFuzzer target for the TFLite engine: any byte string must either load
// into a Model whose every span stays inside the buffer, or fail with a
// Status; a model that loads must plan (load-time rewrites and the op
// semantics checks) or fail with a Status; a model that plans must build an
// interpreter and run one Invoke on inputs derived from the fuzz bytes, or fail
// with a Status. Models whose non-constant tensors need more than
// kMaxTensorBytes are refused before the interpreter is built, so the fuzzer
// cannot run out of memory.
// Built and run by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/interpreter.h"
#include "engine/kernels/densify.h"
#include "engine/kernels/kernels.h"
#include "engine/model.h"
#include "engine/planner.h"

namespace {

// Reads every byte a loaded model points at, so ASan sees any span that
// escapes the buffer. The sum is returned to keep the reads alive.
uint64_t TouchEverything(const edgepipe::engine::Model& model) {
  uint64_t sum = model.schema_version() + model.num_subgraphs() + model.description().size();
  for (const auto& tensor : model.tensors()) {
    sum += tensor.name.size() + tensor.shape.size() + tensor.quant.scale.size();
    for (size_t i = 0; i < tensor.data_size; ++i) sum += tensor.data[i];
    if (tensor.sparsity) {
      // The reader verified the sparsity: densifying must succeed and stay
      // inside the index arrays and values (small tensors only, to stay fast).
      edgepipe::engine::TensorView dense = tensor.View();
      if (dense.num_bytes() <= (size_t{1} << 20)) {
        std::vector<uint8_t> out(dense.num_bytes() + 1);
        dense.data = out.data();
        const auto status = edgepipe::engine::kernels::Densify(*tensor.sparsity, {tensor.data, tensor.data_size}, dense);
        if (!status.ok()) __builtin_trap();
        for (uint8_t byte : out) sum += byte;
      }
    }
  }
  const int num_tensors = static_cast<int>(model.tensors().size());
  for (const auto& op : model.operators()) {
    for (int32_t index : op.inputs) sum += (index >= -1 && index < num_tensors) ? 1 : 1000;
    for (int32_t index : op.outputs) sum += (index >= 0 && index < num_tensors) ? 1 : 1000;
    for (uint8_t byte : op.custom_options) sum += byte;
    if (op.name == "TFLite_Detection_PostProcess") {
      // Custom options are FlexBuffers from the model file: the parser must
      // reject garbage instead of reading out of bounds.
      const auto options =
          edgepipe::engine::kernels::ParseDetectionPostProcessOptions(op.custom_options.data(), op.custom_options.size());
      sum += options.ok() ? static_cast<uint64_t>(options->num_classes) : 0;
    }
  }
  for (const auto& name : model.metadata_names()) {
    for (uint8_t byte : model.metadata(name)) sum += byte;
  }
  for (const auto& signature : model.signatures()) sum += signature.inputs.size() + signature.outputs.size();
  return sum;
}

// An upper bound of the tensor arena (the shared models need up to ~40 MB).
constexpr size_t kMaxTensorBytes = size_t{64} << 20;

// The bytes of every tensor the interpreter gives an arena slot, without the
// lifetime reuse; nullopt when a size overflows.
std::optional<size_t> NonConstantTensorBytes(const edgepipe::engine::Plan& plan) {
  size_t total = 0;
  for (const auto& tensor : plan.tensors) {
    if (tensor.is_constant) continue;
    size_t bytes = edgepipe::engine::DTypeSize(tensor.view.dtype);
    for (int32_t d : tensor.view.shape) {
      if (d < 0 || __builtin_mul_overflow(bytes, static_cast<size_t>(d), &bytes)) return std::nullopt;
    }
    if (__builtin_add_overflow(total, bytes, &total)) return std::nullopt;
  }
  return total;
}

// Fills every input from the fuzz bytes; floats stay in [-2, 2] as a real
// frame's values would (NaN inputs are a caller's choice, not the model's).
void FillInputs(edgepipe::engine::Interpreter& interpreter, const uint8_t* data, size_t size) {
  using edgepipe::engine::DType;
  size_t next = 0;
  auto byte = [&] { return size == 0 ? uint8_t{0} : data[next++ % size]; };
  for (size_t i = 0; i < interpreter.num_inputs(); ++i) {
    edgepipe::engine::TensorView& input = interpreter.input(i);
    if (input.data == nullptr) continue;
    if (input.dtype == DType::kFloat32) {
      float* values = input.as<float>();
      for (size_t k = 0; k < input.num_elements(); ++k) values[k] = (byte() - 128) / 64.0f;
    } else {
      uint8_t* bytes = input.as<uint8_t>();
      for (size_t k = 0; k < input.num_bytes(); ++k) bytes[k] = byte();
    }
  }
}

void PlanAndInvoke(std::shared_ptr<const edgepipe::engine::Model> model, const uint8_t* data, size_t size) {
  auto plan = edgepipe::engine::BuildPlan(model);
  if (!plan.ok()) return;
  if (!edgepipe::engine::ApplyRewrites(**plan).ok()) return;
  const std::optional<size_t> bytes = NonConstantTensorBytes(**plan);
  if (!bytes || *bytes > kMaxTensorBytes) return;  // refused: too large to run here
  // Own backends only: XNNPACK is Debian's uninstrumented library, so ASan
  // cannot report its stray writes; in the first runs one corrupted the
  // allocator's metadata (an ASan CHECK failure that then hung), not a report.
  edgepipe::engine::InterpreterOptions options;
  options.backends = {"own-conv-q8", "own-conv-f32", "own-kernels"};
  auto interpreter = edgepipe::engine::Interpreter::Create(std::move(model), options);
  if (!interpreter.ok()) return;
  FillInputs(**interpreter, data, size);
  if (!(*interpreter)->Invoke().ok()) return;
  volatile uint64_t sink = 0;  // ASan checks the outputs are readable
  for (size_t i = 0; i < (*interpreter)->num_outputs(); ++i) {
    const auto& output = (*interpreter)->output(i);
    const uint8_t* bytes = output.as<uint8_t>();
    for (size_t k = 0; bytes != nullptr && k < output.num_bytes(); ++k) sink = sink + bytes[k];
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  auto model = edgepipe::engine::Model::FromBuffer(std::move(bytes), edgepipe::engine::OpVersions::All());
  if (model.ok()) {
    volatile uint64_t sink = TouchEverything(**model);
    (void)sink;
    PlanAndInvoke(std::move(*model), data, size);
  }
  return 0;
}
