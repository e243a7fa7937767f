// A .tflite model opened for rewriting with FlatBuffers' object API: the file
// is checked by the engine's reader (engine/model.h), unpacked into a ModelT,
// edited in place by the quantizer passes and packed again with the "TFL3"
// identifier. Only subgraph 0 is edited (the engine runs no other).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model.h"
#include "engine/schema/tflite_subset_generated.h"

namespace edgepipe::quantize {

namespace fb = engine::tflite_fb;

class EditableModel {
 public:
  // Reads `bytes` (a whole .tflite). Refuses what a rewrite would lose: more
  // than one subgraph, external buffers (models over 2 GB), sparse constants,
  // and fields our schema subset does not declare (CheckNothingLost).
  static Result<std::unique_ptr<EditableModel>> Read(std::vector<uint8_t> bytes, const std::string& source);

  fb::ModelT& model() { return *model_; }
  fb::SubGraphT& graph() { return *model_->subgraphs[0]; }
  const fb::SubGraphT& graph() const { return *model_->subgraphs[0]; }
  fb::TensorT& tensor(int index) { return *graph().tensors[static_cast<size_t>(index)]; }
  const fb::TensorT& tensor(int index) const { return *graph().tensors[static_cast<size_t>(index)]; }
  int num_tensors() const { return static_cast<int>(graph().tensors.size()); }

  // The builtin code of operator `op` (deprecated_builtin_code for old files).
  int32_t BuiltinCode(const fb::OperatorT& op) const;
  std::string OpName(const fb::OperatorT& op) const;

  // Constant data of a tensor (empty span for activations).
  std::span<const uint8_t> Data(int tensor) const;
  bool IsConstant(int tensor) const { return !Data(tensor).empty(); }
  // A float32 constant's values (error naming the tensor otherwise).
  Result<std::vector<float>> FloatData(int tensor) const;

  // Adds a buffer holding `data` and returns its index.
  uint32_t AddBuffer(std::vector<uint8_t> data);
  // Adds a tensor and returns its index.
  int AddTensor(std::string name, fb::TensorType type, std::vector<int32_t> shape, uint32_t buffer,
                std::unique_ptr<fb::QuantizationParametersT> quant = nullptr);
  // Points `tensor` at new constant contents (a fresh buffer; the old one is
  // pruned at Finish when nothing else uses it).
  void SetData(int tensor, std::vector<uint8_t> data);
  // Makes `tensor` an activation (no data).
  void ClearData(int tensor);
  // An operator_codes index for a builtin op of at least `version`.
  uint32_t OpcodeIndex(int32_t builtin_code, int32_t version);
  // An operator_codes index for exactly (builtin op, version), added when
  // missing: ops of one code may need different versions (a hybrid
  // FULLY_CONNECTED beside float ones that an older runtime still runs).
  uint32_t ExactOpcodeIndex(int32_t builtin_code, int32_t version);
  // Raises the version of operator `op`'s code to at least `version`.
  void RaiseVersion(const fb::OperatorT& op, int32_t version);
  // A new operator (not yet placed in the graph).
  std::unique_ptr<fb::OperatorT> MakeOp(int32_t builtin_code, int32_t version, std::vector<int32_t> inputs,
                                        std::vector<int32_t> outputs);

  // Drops tensors, buffers and operator codes nothing refers to any more,
  // renumbering the references (signatures included), and packs the model.
  std::vector<uint8_t> Finish();

  size_t original_size() const { return original_size_; }

 private:
  EditableModel() = default;
  void Prune();

  std::unique_ptr<fb::ModelT> model_;
  size_t original_size_ = 0;
};

// Per-tensor affine parameters as a QuantizationParametersT.
std::unique_ptr<fb::QuantizationParametersT> MakeQuant(std::vector<float> scale, std::vector<int64_t> zero_point,
                                                       int32_t axis = 0);

}  // namespace edgepipe::quantize
