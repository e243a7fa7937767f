// int8 and full-int8 modes: calibrated int8 activations, int8 weights and
// int32 biases for every op with a rule (op_rules.h); QUANTIZE/DEQUANTIZE
// where a float tensor meets an int8 one.
#include <algorithm>
#include <optional>
#include <set>

#include "quantize/op_rules.h"
#include "quantize/passes.h"

namespace edgepipe::quantize {
namespace {

namespace b = engine::builtin;
using Ops = std::vector<std::unique_ptr<fb::OperatorT>>;

constexpr int32_t kQuantizeVersion = 1;
constexpr int32_t kRequantizeVersion = 2;  // QUANTIZE between 8-bit types

class Int8Rewrite {
 public:
  Int8Rewrite(EditableModel& m, const std::map<int, Range>& ranges, const QuantizeOptions& options, Report& report)
      : m_(m), ranges_(ranges), options_(options), report_(report) {}

  Status Run();

 private:
  bool Skipped(int index, const fb::OperatorT& op) const;
  // Why op cannot be quantized, or "" when it can.
  std::string WhyNot(const fb::OperatorT& op, const OpRule* rule) const;
  Result<AffineParams> Params(int t);
  void SetInt8(int t, const AffineParams& p, fb::TensorType type = fb::TensorType::INT8);
  // The int8 tensor carrying t's values (t itself, or a QUANTIZE'd twin).
  Result<int> Int8Of(int t, Ops& emit);
  // The float tensor carrying t's values (t itself, or a DEQUANTIZE'd twin).
  int FloatOf(int t, Ops& emit);
  Status QuantizeOp(fb::OperatorT& op, const OpRule& rule, Ops& emit);
  // CONCATENATION: every input requantized to the output's parameters, which
  // cover all inputs (XNNPACK and the spec want one scale in and out).
  Status UnifyConcatenation(fb::OperatorT& op, Ops& emit);
  Status RewireOutputs(Ops& emit);

  EditableModel& m_;
  const std::map<int, Range>& ranges_;
  const QuantizeOptions& options_;
  Report& report_;
  std::map<int, AffineParams> params_;
  std::set<int> int8_;                  // tensors now stored as int8
  std::map<int, int> int8_twin_, float_twin_;
  std::map<std::pair<int, int>, int> quantized_constants_;  // (tensor, op) -> new constant
};

bool IsFloat(const fb::TensorT& t) { return t.type == fb::TensorType::FLOAT32; }

bool Int8Rewrite::Skipped(int index, const fb::OperatorT& op) const {
  const std::string name = m_.OpName(op);
  for (const std::string& s : options_.skip) {
    if (s == name || s == fmt::format("#{}", index)) return true;
    for (int32_t out : op.outputs)
      if (out >= 0 && m_.tensor(out).name == s) return true;
  }
  return false;
}

std::string Int8Rewrite::WhyNot(const fb::OperatorT& op, const OpRule* rule) const {
  if (rule == nullptr) return "no int8 rule for this op";
  bool any_float = false;
  for (size_t j = 0; j < op.inputs.size(); ++j) {
    const int t = op.inputs[j];
    if (t < 0) continue;
    const fb::TensorT& tensor = m_.tensor(t);
    switch (RoleOf(*rule, j)) {
      case InputRole::kActivation:
        if (!IsFloat(tensor) && !int8_.count(t) && !int8_twin_.count(t)) return fmt::format("input {} '{}' is not float32", j, tensor.name);
        if (!m_.IsConstant(t) && !ranges_.count(t)) return fmt::format("input '{}' has no calibrated range", tensor.name);
        any_float = true;
        break;
      case InputRole::kFilter:
      case InputRole::kBias:
        if (!IsFloat(tensor) || !m_.IsConstant(t)) return fmt::format("input {} '{}' is not a float32 constant", j, tensor.name);
        break;
      case InputRole::kLeaveAlone:
        if (IsFloat(tensor)) return fmt::format("float input {} '{}' where an integer one is expected", j, tensor.name);
        break;
    }
  }
  if (!any_float) return "no float activation input";
  for (int32_t out : op.outputs) {
    if (out < 0 || !IsFloat(m_.tensor(out))) return "an output is not float32";
    if (rule->output == OutputScale::kCalibrated && !ranges_.count(out))
      return fmt::format("output '{}' has no calibrated range", m_.tensor(out).name);
  }
  return "";
}

Result<AffineParams> Int8Rewrite::Params(int t) {
  if (auto it = params_.find(t); it != params_.end()) return it->second;
  auto range = ranges_.find(t);
  if (range == ranges_.end())
    return FailedPreconditionError("tensor {} '{}' has no calibrated range", t, m_.tensor(t).name);
  const AffineParams p = ChooseAffine(range->second.min, range->second.max);
  params_[t] = p;
  report_.Tensor(m_.tensor(t).name, "INT8", &range->second, p);
  return p;
}

void Int8Rewrite::SetInt8(int t, const AffineParams& p, fb::TensorType type) {
  fb::TensorT& tensor = m_.tensor(t);
  tensor.type = type;
  const int64_t zp = p.zero_point + (type == fb::TensorType::UINT8 ? 128 : 0);
  tensor.quantization = MakeQuant({p.scale}, {zp});
}

Result<int> Int8Rewrite::Int8Of(int t, Ops& emit) {
  if (int8_.count(t)) return t;
  if (auto it = int8_twin_.find(t); it != int8_twin_.end()) return it->second;
  EP_ASSIGN_OR_RETURN(const AffineParams p, Params(t));
  const fb::TensorT& source = m_.tensor(t);
  const int twin = m_.AddTensor(source.name + "_int8", fb::TensorType::INT8, source.shape, 0);
  SetInt8(twin, p);
  const bool requantize = source.type != fb::TensorType::FLOAT32;
  emit.push_back(m_.MakeOp(b::kQuantize, requantize ? kRequantizeVersion : kQuantizeVersion, {t}, {twin}));
  int8_twin_[t] = twin;
  return twin;
}

int Int8Rewrite::FloatOf(int t, Ops& emit) {
  if (!int8_.count(t)) return t;
  if (auto it = float_twin_.find(t); it != float_twin_.end()) return it->second;
  const fb::TensorT& source = m_.tensor(t);
  const int twin = m_.AddTensor(source.name + "_float", fb::TensorType::FLOAT32, source.shape, 0);
  emit.push_back(m_.MakeOp(b::kDequantize, kDequantizeInt8Version, {t}, {twin}));
  float_twin_[t] = twin;
  return twin;
}

Status Int8Rewrite::QuantizeOp(fb::OperatorT& op, const OpRule& rule, Ops& emit) {
  // Input 0's scale first: the bias scale and same-scale outputs need it.
  std::vector<float> filter_scales;
  std::optional<AffineParams> input_params;
  for (size_t j = 0; j < op.inputs.size(); ++j) {
    const int t = op.inputs[j];
    if (t < 0) continue;
    const fb::TensorT& tensor = m_.tensor(t);
    switch (RoleOf(rule, j)) {
      case InputRole::kLeaveAlone: break;
      case InputRole::kActivation: {
        if (m_.IsConstant(t)) {
          EP_ASSIGN_OR_RETURN(const std::vector<float> values, m_.FloatData(t));
          const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
          const AffineParams p = values.empty() ? AffineParams{} : ChooseAffine(*lo, *hi);
          const int q = m_.AddTensor(tensor.name + "_int8", fb::TensorType::INT8, tensor.shape,
                                     m_.AddBuffer(AsBytes(QuantizeAffine(values, p))));
          SetInt8(q, p);
          op.inputs[j] = q;
          if (j == 0) input_params = p;
          break;
        }
        EP_ASSIGN_OR_RETURN(op.inputs[j], Int8Of(t, emit));
        if (j == 0) {
          EP_ASSIGN_OR_RETURN(input_params, Params(t));
        }
        break;
      }
      case InputRole::kFilter: {
        EP_ASSIGN_OR_RETURN(const std::vector<float> values, m_.FloatData(t));
        const bool per_channel = rule.per_channel && !options_.per_tensor;
        SymmetricWeights w = QuantizeSymmetric(values, tensor.shape, per_channel ? rule.filter_axis : -1);
        filter_scales = w.scales;
        float max_scale = 0.0f;
        for (float s : w.scales) max_scale = std::max(max_scale, s);
        report_.Weight(tensor.name, "INT8", w.scales.size(), max_scale);
        const size_t channels = w.scales.size();
        op.inputs[j] = m_.AddTensor(tensor.name + "_int8", fb::TensorType::INT8, tensor.shape,
                                    m_.AddBuffer(AsBytes(w.values)),
                                    MakeQuant(std::move(w.scales), std::vector<int64_t>(channels, 0), w.axis));
        break;
      }
      case InputRole::kBias: {
        if (!input_params || filter_scales.empty())
          return InternalError("bias '{}' before its op's input and filter", tensor.name);
        EP_ASSIGN_OR_RETURN(const std::vector<float> values, m_.FloatData(t));
        std::vector<int32_t> q = QuantizeBias(values, input_params->scale, filter_scales);
        std::vector<float> scales;
        for (float s : filter_scales) scales.push_back(input_params->scale * s);
        const size_t channels = scales.size();
        op.inputs[j] = m_.AddTensor(tensor.name + "_int32", fb::TensorType::INT32, tensor.shape,
                                    m_.AddBuffer(AsBytes(q)),
                                    MakeQuant(std::move(scales), std::vector<int64_t>(channels, 0), 0));
        break;
      }
    }
  }
  for (int32_t out : op.outputs) {
    AffineParams p;
    switch (rule.output) {
      case OutputScale::kFixed: p = rule.fixed; break;
      case OutputScale::kSameAsInput: p = *input_params; break;
      case OutputScale::kCalibrated: {
        const Range& r = ranges_.at(out);
        p = ChooseAffine(r.min, r.max);
        break;
      }
    }
    params_[out] = p;
    const auto range = ranges_.find(out);
    report_.Tensor(m_.tensor(out).name, "INT8", range == ranges_.end() ? nullptr : &range->second, p);
    SetInt8(out, p);
    int8_.insert(out);
  }
  m_.RaiseVersion(op, rule.int8_version);
  if (rule.code == b::kConcatenation) return UnifyConcatenation(op, emit);
  return OkStatus();
}

Status Int8Rewrite::UnifyConcatenation(fb::OperatorT& op, Ops& emit) {
  const int out = op.outputs[0];
  Range cover = ranges_.at(out);
  for (int32_t t : op.inputs) {
    const fb::QuantizationParametersT& q = *m_.tensor(t).quantization;
    const float scale = q.scale[0];
    const auto zp = static_cast<float>(q.zero_point[0]);
    cover.min = std::min(cover.min, scale * (-128.0f - zp));
    cover.max = std::max(cover.max, scale * (127.0f - zp));
  }
  const AffineParams p = ChooseAffine(cover.min, cover.max);
  params_[out] = p;
  SetInt8(out, p);
  for (int32_t& t : op.inputs) {
    const fb::QuantizationParametersT& q = *m_.tensor(t).quantization;
    if (q.scale[0] == p.scale && q.zero_point[0] == p.zero_point) continue;
    const fb::TensorT& source = m_.tensor(t);
    const int twin = m_.AddTensor(source.name + "_requantized", fb::TensorType::INT8, source.shape, 0);
    SetInt8(twin, p);
    emit.push_back(m_.MakeOp(b::kQuantize, kRequantizeVersion, {t}, {twin}));
    t = twin;
  }
  return OkStatus();
}

Status Int8Rewrite::Run() {
  const bool full = options_.mode == Mode::kFullInt8;
  fb::SubGraphT& g = m_.graph();
  Ops rewritten;
  // full-int8: the model inputs become int8 (or uint8 with an int8 twin).
  if (full) {
    for (int32_t in : g.inputs) {
      if (!IsFloat(m_.tensor(in))) continue;
      EP_ASSIGN_OR_RETURN(const AffineParams p, Params(in));
      if (options_.io_unsigned) {
        SetInt8(in, p, fb::TensorType::UINT8);
        // The int8 twin the quantized consumers read.
        EP_ASSIGN_OR_RETURN(const int twin, Int8Of(in, rewritten));
        (void)twin;
      } else {
        SetInt8(in, p);
        int8_.insert(in);
      }
    }
  }
  Ops original = std::move(g.operators);
  for (size_t i = 0; i < original.size(); ++i) {
    fb::OperatorT& op = *original[i];
    const std::string name = m_.OpName(op);
    const OpRule* rule = FindRule(m_.BuiltinCode(op));
    std::string why = Skipped(static_cast<int>(i), op) ? "skipped (--skip)" : WhyNot(op, rule);
    if (why.empty()) {
      EP_RETURN_IF_ERROR(QuantizeOp(op, *rule, rewritten).WithContext(fmt::format("op #{} {}", i, name)));
      report_.Op(static_cast<int>(i), name, "int8");
    } else {
      bool touches_float = false;
      for (int32_t t : op.inputs)
        if (t >= 0 && (IsFloat(m_.tensor(t)) || int8_.count(t))) touches_float = true;
      for (int32_t t : op.outputs)
        if (t >= 0 && IsFloat(m_.tensor(t))) touches_float = true;
      if (full && touches_float)
        return FailedPreconditionError("full-int8: op #{} {} cannot be quantized: {}", i, name, why);
      for (int32_t& t : op.inputs)
        if (t >= 0) t = FloatOf(t, rewritten);
      report_.Op(static_cast<int>(i), name, "float", why);
    }
    rewritten.push_back(std::move(original[i]));
  }
  g.operators = std::move(rewritten);
  return RewireOutputs(g.operators);
}

// Model outputs keep their names and (in int8 mode) their float type: the
// int8 tensor an op now produces gets a suffix, its float (or uint8) twin the
// original name.
Status Int8Rewrite::RewireOutputs(Ops& emit) {
  fb::SubGraphT& g = m_.graph();
  std::map<int, int> replaced;
  for (int32_t& out : g.outputs) {
    if (!int8_.count(out)) continue;
    int twin = out;
    if (options_.mode == Mode::kInt8) {
      twin = FloatOf(out, emit);
    } else if (options_.io_unsigned) {
      const fb::TensorT& source = m_.tensor(out);
      twin = m_.AddTensor(source.name + "_uint8", fb::TensorType::UINT8, source.shape, 0);
      SetInt8(twin, params_.at(out), fb::TensorType::UINT8);
      emit.push_back(m_.MakeOp(b::kQuantize, kRequantizeVersion, {out}, {twin}));
    }
    if (twin == out) continue;
    std::string name = m_.tensor(out).name;
    m_.tensor(out).name = name + "_int8";
    m_.tensor(twin).name = std::move(name);
    replaced[out] = twin;
    out = twin;
  }
  for (auto& signature : m_.model().signature_defs)
    for (auto& output : signature->outputs)
      if (auto it = replaced.find(static_cast<int>(output->tensor_index)); it != replaced.end())
        output->tensor_index = static_cast<uint32_t>(it->second);
  return OkStatus();
}

}  // namespace

Status QuantizeActivations(EditableModel& m, const std::map<int, Range>& ranges, const QuantizeOptions& options,
                           Report& report) {
  return Int8Rewrite(m, ranges, options, report).Run();
}

}  // namespace edgepipe::quantize
