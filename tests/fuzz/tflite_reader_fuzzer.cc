// libFuzzer target for the TFLite reader: any byte string must either load into
// a Model whose every span stays inside the buffer, or fail with a Status.
// Built and run by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/kernels/densify.h"
#include "engine/kernels/kernels.h"
#include "engine/model.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  auto model = edgepipe::engine::Model::FromBuffer(std::move(bytes), edgepipe::engine::OpVersions::All());
  if (model.ok()) {
    volatile uint64_t sink = TouchEverything(**model);
    (void)sink;
  }
  return 0;
}
