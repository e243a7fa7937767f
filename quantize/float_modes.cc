// Weight-only modes (fp16, dynamic) and the folding of constant DEQUANTIZE
// ops that every mode starts from.
#include <algorithm>
#include <cstring>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"
#include "quantize/op_rules.h"
#include "quantize/passes.h"

namespace edgepipe::quantize {
namespace {

namespace b = engine::builtin;

bool IsFloatConstant(const EditableModel& m, int t) {
  return t >= 0 && m.tensor(t).type == fb::TensorType::FLOAT32 && m.IsConstant(t);
}

// The filter axis of every op reading tensor `t` as its filter, or -1 when
// the consumers disagree or one reads it otherwise (then per-tensor).
int FilterAxisOf(EditableModel& m, int t) {
  int axis = -2;
  for (const auto& op : m.graph().operators) {
    for (size_t j = 0; j < op->inputs.size(); ++j) {
      if (op->inputs[j] != t) continue;
      const OpRule* rule = FindRule(m.BuiltinCode(*op));
      const int here = rule != nullptr && RoleOf(*rule, j) == InputRole::kFilter ? rule->filter_axis : -1;
      axis = axis == -2 || axis == here ? here : -1;
    }
  }
  return axis < 0 ? -1 : axis;
}

// Moves constant `t`'s data into a new tensor of `type` (holding `data`) and
// makes `t` the output of a DEQUANTIZE of it, placed first in the graph.
void PutBehindDequantize(EditableModel& m, int t, fb::TensorType type, std::vector<uint8_t> data,
                         std::unique_ptr<fb::QuantizationParametersT> quant, int32_t version,
                         std::vector<std::unique_ptr<fb::OperatorT>>& dequantize_ops) {
  const fb::TensorT& original = m.tensor(t);
  const int stored = m.AddTensor(original.name + "_" + fb::EnumNameTensorType(type), type, original.shape,
                                 m.AddBuffer(std::move(data)), std::move(quant));
  m.ClearData(t);
  dequantize_ops.push_back(m.MakeOp(b::kDequantize, version, {stored}, {t}));
}

void PrependOps(EditableModel& m, std::vector<std::unique_ptr<fb::OperatorT>> ops) {
  auto& graph_ops = m.graph().operators;
  for (auto& op : graph_ops) ops.push_back(std::move(op));
  graph_ops = std::move(ops);
}

}  // namespace

Result<int> FoldConstantDequantize(EditableModel& m) {
  auto& ops = m.graph().operators;
  int folded = 0;
  for (size_t i = 0; i < ops.size();) {
    fb::OperatorT& op = *ops[i];
    if (m.BuiltinCode(op) != b::kDequantize || op.inputs.size() != 1 || op.outputs.size() != 1 ||
        !m.IsConstant(op.inputs[0]) || m.tensor(op.outputs[0]).type != fb::TensorType::FLOAT32) {
      ++i;
      continue;
    }
    const fb::TensorT& in = m.tensor(op.inputs[0]);
    engine::TensorView view;
    switch (in.type) {
      case fb::TensorType::FLOAT16: view.dtype = engine::DType::kFloat16; break;
      case fb::TensorType::INT8: view.dtype = engine::DType::kInt8; break;
      case fb::TensorType::UINT8: view.dtype = engine::DType::kUInt8; break;
      default: ++i; continue;
    }
    view.shape = in.shape;
    view.name = in.name;
    std::vector<uint8_t> bytes(m.Data(op.inputs[0]).begin(), m.Data(op.inputs[0]).end());
    view.data = bytes.data();
    if (in.quantization) {
      view.quant.scale = in.quantization->scale;
      view.quant.zero_point = in.quantization->zero_point;
      view.quant.axis = in.quantization->quantized_dimension;
    }
    std::vector<float> values(view.num_elements());
    engine::TensorView out;
    out.shape = in.shape;
    out.data = values.data();
    EP_RETURN_IF_ERROR(engine::kernels::Dequantize(view, out).WithContext(fmt::format("folding DEQUANTIZE #{}", i)));
    m.SetData(op.outputs[0], AsBytes(values));
    ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));
    ++folded;
  }
  return folded;
}

namespace {

// The option table's fused activation of ops that have one, or nullptr.
fb::ActivationFunctionType* FusedActivation(fb::OperatorT& op) {
  auto& o = op.builtin_options;
  if (auto* p = o.AsConv2DOptions()) return &p->fused_activation_function;
  if (auto* p = o.AsDepthwiseConv2DOptions()) return &p->fused_activation_function;
  if (auto* p = o.AsFullyConnectedOptions()) return &p->fused_activation_function;
  if (auto* p = o.AsAddOptions()) return &p->fused_activation_function;
  if (auto* p = o.AsSubOptions()) return &p->fused_activation_function;
  if (auto* p = o.AsMulOptions()) return &p->fused_activation_function;
  if (auto* p = o.AsPool2DOptions()) return &p->fused_activation_function;
  return nullptr;
}

}  // namespace

int FuseActivations(EditableModel& m) {
  auto& ops = m.graph().operators;
  const auto& outputs = m.graph().outputs;
  int fused = 0;
  for (size_t i = 0; i < ops.size();) {
    fb::OperatorT& act = *ops[i];
    fb::ActivationFunctionType activation;
    switch (m.BuiltinCode(act)) {
      case b::kRelu: activation = fb::ActivationFunctionType::RELU; break;
      case b::kRelu6: activation = fb::ActivationFunctionType::RELU6; break;
      case b::kReluN1To1: activation = fb::ActivationFunctionType::RELU_N1_TO_1; break;
      default: ++i; continue;
    }
    const int mid = act.inputs.empty() ? -1 : act.inputs[0];
    int consumers = 0;
    fb::OperatorT* producer = nullptr;
    for (auto& op : ops) {
      for (int32_t t : op->inputs) consumers += t == mid;
      if (op->outputs.size() == 1 && op->outputs[0] == mid) producer = op.get();
    }
    fb::ActivationFunctionType* slot = producer ? FusedActivation(*producer) : nullptr;
    if (mid < 0 || consumers != 1 || slot == nullptr || *slot != fb::ActivationFunctionType::NONE ||
        std::find(outputs.begin(), outputs.end(), mid) != outputs.end() || act.outputs.size() != 1) {
      ++i;
      continue;
    }
    *slot = activation;
    producer->outputs[0] = act.outputs[0];
    ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));
    ++fused;
  }
  return fused;
}

Status ConvertWeightsToFloat16(EditableModel& m, Report& report) {
  std::vector<std::unique_ptr<fb::OperatorT>> dequantize_ops;
  const int n = m.num_tensors();
  for (int t = 0; t < n; ++t) {
    if (!IsFloatConstant(m, t)) continue;
    EP_ASSIGN_OR_RETURN(const std::vector<float> values, m.FloatData(t));
    report.Weight(m.tensor(t).name, "FLOAT16", 1, 0.0f);
    PutBehindDequantize(m, t, fb::TensorType::FLOAT16, ToHalfBytes(values), nullptr, kDequantizeFloat16Version,
                        dequantize_ops);
  }
  PrependOps(m, std::move(dequantize_ops));
  return OkStatus();
}

namespace {

// How an op reads a tensor in dynamic mode: as the int8 weights of a hybrid
// op (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D input 1 with a float input 0:
// TFLite quantizes that input on the fly), as such an op's bias (TensorFlow
// keeps those float), or otherwise (the consumer gets a DEQUANTIZE).
enum class Use : uint8_t { kHybridWeights, kBias, kOther };

Use UseOf(const EditableModel& m, const fb::OperatorT& op, size_t input) {
  const int32_t code = m.BuiltinCode(op);
  if (code != b::kFullyConnected && code != b::kConv2D && code != b::kDepthwiseConv2D) return Use::kOther;
  if (input == 2) return Use::kBias;
  if (input != 1 || op.inputs.empty() || op.inputs[0] < 0 ||
      m.tensor(op.inputs[0]).type != fb::TensorType::FLOAT32 || op.outputs.size() != 1 ||
      m.tensor(op.outputs[0]).type != fb::TensorType::FLOAT32)
    return Use::kOther;
  const size_t rank = m.tensor(op.inputs[1]).shape.size();
  return rank == (code == b::kFullyConnected ? 2u : 4u) ? Use::kHybridWeights : Use::kOther;
}

// The version TFLite's op_version.cc gives the hybrid form of the op.
int32_t HybridVersion(int32_t code, bool per_channel) {
  if (code == b::kFullyConnected) return per_channel ? kHybridFullyConnectedPerChannelVersion
                                                     : kHybridFullyConnectedAsymmetricVersion;
  if (code == b::kConv2D) return kHybridConvVersion;
  return kHybridDepthwiseVersion;
}

}  // namespace

Status QuantizeWeightsOnly(EditableModel& m, size_t min_elements, bool per_tensor, Report& report) {
  std::vector<std::unique_ptr<fb::OperatorT>> dequantize_ops;
  const int n = m.num_tensors();
  auto& ops = m.graph().operators;
  for (int t = 0; t < n; ++t) {
    if (!IsFloatConstant(m, t)) continue;
    EP_ASSIGN_OR_RETURN(const std::vector<float> values, m.FloatData(t));
    if (values.size() < min_elements) continue;
    // Which ops read it, and how.
    std::vector<std::pair<fb::OperatorT*, size_t>> hybrid;
    bool other = m.graph().outputs.end() != std::find(m.graph().outputs.begin(), m.graph().outputs.end(), t);
    bool bias = false;
    for (auto& op : ops)
      for (size_t j = 0; j < op->inputs.size(); ++j) {
        if (op->inputs[j] != t) continue;
        switch (UseOf(m, *op, j)) {
          case Use::kHybridWeights: hybrid.emplace_back(op.get(), j); break;
          case Use::kBias: bias = true; break;
          case Use::kOther: other = true; break;
        }
      }
    if (bias) continue;
    const int axis = per_tensor ? -1 : FilterAxisOf(m, t);
    SymmetricWeights w = QuantizeSymmetric(values, m.tensor(t).shape, axis);
    float max_scale = 0.0f;
    for (float s : w.scales) max_scale = std::max(max_scale, s);
    report.Weight(m.tensor(t).name, "INT8", w.scales.size(), max_scale);
    const bool per_channel = w.scales.size() > 1;
    const size_t channels = w.scales.size();
    auto quant = MakeQuant(std::move(w.scales), std::vector<int64_t>(channels, 0), std::max(axis, 0));
    if (hybrid.empty()) {
      PutBehindDequantize(m, t, fb::TensorType::INT8, AsBytes(w.values), std::move(quant),
                          per_channel ? kDequantizePerChannelVersion : kDequantizeInt8Version, dequantize_ops);
      continue;
    }
    // Hybrid consumers read the int8 tensor itself (TFLite's layout); any other
    // consumer reads a DEQUANTIZE of it.
    const fb::TensorT& original = m.tensor(t);
    const int stored = m.AddTensor(original.name + "_int8", fb::TensorType::INT8, original.shape,
                                   m.AddBuffer(AsBytes(w.values)), std::move(quant));
    for (auto [op, j] : hybrid) {
      op->inputs[j] = stored;
      const int32_t code = m.BuiltinCode(*op);
      op->opcode_index = m.ExactOpcodeIndex(code, HybridVersion(code, per_channel));
      // As TensorFlow's converter writes them: inputs quantized with a zero
      // point (ReLU outputs would waste half of a symmetric range).
      if (auto* options = op->builtin_options.AsFullyConnectedOptions()) options->asymmetric_quantize_inputs = true;
    }
    m.ClearData(t);
    if (other) dequantize_ops.push_back(m.MakeOp(b::kDequantize, per_channel ? kDequantizePerChannelVersion
                                                                              : kDequantizeInt8Version,
                                                 {stored}, {t}));
  }
  PrependOps(m, std::move(dequantize_ops));
  return OkStatus();
}

}  // namespace edgepipe::quantize
