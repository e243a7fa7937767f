// Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization",
// section 4.2 with data): int8 rounding of a conv's weights shifts the mean of
// each output channel; measured over the calibration samples against the float
// model, the shift is subtracted from the channel's int32 bias.
#include <cmath>
#include <cstring>
#include <map>

#include "engine/interpreter.h"
#include "quantize/passes.h"

namespace edgepipe::quantize {
namespace {

namespace b = engine::builtin;

bool HasNoActivation(const fb::OperatorT& op) {
  if (auto* p = op.builtin_options.AsConv2DOptions()) return p->fused_activation_function == fb::ActivationFunctionType::NONE;
  if (auto* p = op.builtin_options.AsDepthwiseConv2DOptions())
    return p->fused_activation_function == fb::ActivationFunctionType::NONE;
  return false;
}

Status SetFloatInputs(engine::Interpreter& interpreter, const Sample& sample) {
  for (size_t i = 0; i < sample.size() && i < interpreter.num_inputs(); ++i) {
    engine::TensorView& in = interpreter.input(i);
    if (in.dtype != engine::DType::kFloat32 || in.num_elements() != sample[i].size())
      return UnimplementedError("bias correction needs float inputs ('{}')", in.name);
    std::memcpy(in.data, sample[i].data(), in.num_bytes());
  }
  return OkStatus();
}

}  // namespace

Result<int> CorrectBiases(EditableModel& quantized, const std::vector<uint8_t>& float_model,
                          const std::vector<Sample>& samples, int num_threads) {
  // Only the conv outputs with no fused activation (a clamp hides part of the shift).
  struct Target {
    fb::OperatorT* op;
    std::string name;
    int channels;
  };
  std::vector<Target> targets;
  for (auto& op : quantized.graph().operators) {
    const int32_t code = quantized.BuiltinCode(*op);
    if ((code != b::kConv2D && code != b::kDepthwiseConv2D) || op->inputs.size() < 3 || op->inputs[2] < 0 ||
        !HasNoActivation(*op) || quantized.tensor(op->outputs[0]).type != fb::TensorType::INT8)
      continue;
    const fb::TensorT& out = quantized.tensor(op->outputs[0]);
    targets.push_back({op.get(), out.name, out.shape.back()});
  }
  if (targets.empty() || samples.empty()) return 0;
  EP_ASSIGN_OR_RETURN(auto f_model, engine::Model::FromBuffer(float_model));
  std::map<std::string, int> f_names;
  for (const engine::TensorInfo& t : f_model->tensors()) f_names[t.name] = t.index;
  const engine::InterpreterOptions options{.num_threads = num_threads, .preserve_all_tensors = true};
  EP_ASSIGN_OR_RETURN(auto f_run, engine::Interpreter::Create(f_model, options));
  // Sequentially, in graph order: each op's shift is measured with the ops
  // before it already corrected (correcting all from one measurement would
  // also cancel upstream shifts that the upstream corrections remove).
  int corrected = 0;
  for (const Target& target : targets) {
    // A model output's int8 tensor carries a suffix (its float twin has the name).
    auto fi = f_names.find(target.name);
    constexpr std::string_view kSuffix = "_int8";
    if (fi == f_names.end() && target.name.ends_with(kSuffix))
      fi = f_names.find(target.name.substr(0, target.name.size() - kSuffix.size()));
    if (fi == f_names.end()) continue;
    EP_ASSIGN_OR_RETURN(auto q_model, engine::Model::FromBuffer(quantized.Finish()));
    int q_index = -1;
    for (const engine::TensorInfo& t : q_model->tensors())
      if (t.name == target.name) q_index = t.index;
    if (q_index < 0) continue;
    EP_ASSIGN_OR_RETURN(auto q_run, engine::Interpreter::Create(q_model, options));
    const size_t c = static_cast<size_t>(target.channels);
    std::vector<double> shift(c, 0.0);
    size_t counted = 0;
    for (const Sample& sample : samples) {
      EP_RETURN_IF_ERROR(SetFloatInputs(*q_run, sample));
      EP_RETURN_IF_ERROR(SetFloatInputs(*f_run, sample));
      EP_RETURN_IF_ERROR(q_run->Invoke());
      EP_RETURN_IF_ERROR(f_run->Invoke());
      const engine::TensorView* q = q_run->tensor(q_index);
      const engine::TensorView* f = f_run->tensor(fi->second);
      if (q == nullptr || f == nullptr || q->data == nullptr || f->data == nullptr) break;
      const double scale = q->quant.scale[0];
      const double zp = static_cast<double>(q->quant.zero_point[0]);
      const size_t n = q->num_elements();
      for (size_t i = 0; i < n; ++i) shift[i % c] += scale * (q->as<const int8_t>()[i] - zp) - f->as<const float>()[i];
      counted += n / c;
    }
    if (counted == 0) continue;
    fb::OperatorT& op = *target.op;
    const fb::TensorT& bias = quantized.tensor(op.inputs[2]);
    const auto data = quantized.Data(op.inputs[2]);
    std::vector<int32_t> values(data.size() / sizeof(int32_t));
    std::memcpy(values.data(), data.data(), values.size() * sizeof(int32_t));
    const auto& scales = bias.quantization->scale;
    for (size_t k = 0; k < values.size() && k < c; ++k)
      values[k] -= static_cast<int32_t>(std::lround(shift[k] / static_cast<double>(counted) /
                                                    scales[scales.size() == 1 ? 0 : k]));
    quantized.SetData(op.inputs[2], AsBytes(values));
    ++corrected;
  }
  return corrected;
}

}  // namespace edgepipe::quantize
