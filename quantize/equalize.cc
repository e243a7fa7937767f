// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization
// Through Weight Equalization and Bias Correction", section 4.1).
//
// For a producer P (CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED with no
// fused activation or RELU, both positively homogeneous) whose output is read
// only by a consumer C (CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED, as its
// input 0), output channel c of P can be divided by s_c > 0 and input channel
// c of C's filter multiplied by s_c without changing C's output. With r1_c the
// range of P's channel c and r2_c the range of C's filter over input channel
// c, s_c = sqrt(r1_c / r2_c) makes both sqrt(r1_c r2_c): the per-tensor int8
// scale of P's weights (data-free) or of P's output activation (with
// calibration data) no longer follows its widest channel.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/interpreter.h"
#include "quantize/passes.h"

namespace edgepipe::quantize {
namespace {

namespace b = engine::builtin;

struct Pair {
  fb::OperatorT* producer;
  fb::OperatorT* consumer;
  int mid;       // the tensor between them
  int channels;  // its last dimension
};

bool IsWeighted(int32_t code) { return code == b::kConv2D || code == b::kDepthwiseConv2D || code == b::kFullyConnected; }

bool HomogeneousActivation(const fb::OperatorT& op) {
  fb::ActivationFunctionType a = fb::ActivationFunctionType::NONE;
  if (auto* p = op.builtin_options.AsConv2DOptions()) a = p->fused_activation_function;
  else if (auto* p = op.builtin_options.AsDepthwiseConv2DOptions()) a = p->fused_activation_function;
  else if (auto* p = op.builtin_options.AsFullyConnectedOptions()) a = p->fused_activation_function;
  return a == fb::ActivationFunctionType::NONE || a == fb::ActivationFunctionType::RELU;
}

// Elements of a filter belonging to its output channel (axis 0, or the last
// axis for depthwise) / input channel (last axis, or the same for depthwise).
size_t OutChannelOf(int32_t code, size_t i, const std::vector<int32_t>& shape) {
  if (code == b::kDepthwiseConv2D) return i % static_cast<size_t>(shape.back());
  size_t inner = 1;
  for (size_t d = 1; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
  return i / std::max<size_t>(1, inner);
}

size_t InChannelOf(size_t i, const std::vector<int32_t>& shape) { return i % static_cast<size_t>(shape.back()); }

std::vector<Pair> FindPairs(EditableModel& m) {
  auto& ops = m.graph().operators;
  const auto& outputs = m.graph().outputs;
  std::vector<Pair> pairs;
  for (auto& p : ops) {
    const int32_t pc = m.BuiltinCode(*p);
    if (!IsWeighted(pc) || !HomogeneousActivation(*p) || p->outputs.size() != 1 || p->inputs.size() < 2) continue;
    const int mid = p->outputs[0];
    if (std::find(outputs.begin(), outputs.end(), mid) != outputs.end()) continue;
    const int w1 = p->inputs[1];
    if (w1 < 0 || !m.IsConstant(w1) || m.tensor(w1).type != fb::TensorType::FLOAT32) continue;
    fb::OperatorT* consumer = nullptr;
    int readers = 0;
    for (auto& c : ops)
      for (size_t j = 0; j < c->inputs.size(); ++j)
        if (c->inputs[j] == mid) {
          ++readers;
          if (j == 0) consumer = c.get();
        }
    if (readers != 1 || consumer == nullptr || !IsWeighted(m.BuiltinCode(*consumer)) || consumer->inputs.size() < 2)
      continue;
    const int w2 = consumer->inputs[1];
    if (w2 < 0 || !m.IsConstant(w2) || m.tensor(w2).type != fb::TensorType::FLOAT32) continue;
    const auto& mid_shape = m.tensor(mid).shape;
    if (mid_shape.empty()) continue;
    const int channels = mid_shape.back();
    // P produces `channels` outputs; C reads them along its filter's last axis.
    const auto& s1 = m.tensor(w1).shape;
    const auto& s2 = m.tensor(w2).shape;
    const int p_out = pc == b::kDepthwiseConv2D ? s1.back() : s1.front();
    if (p_out != channels || s2.back() != channels) continue;
    // A depthwise consumer's input channel c must be its output channel c.
    if (m.BuiltinCode(*consumer) == b::kDepthwiseConv2D) {
      auto* o = consumer->builtin_options.AsDepthwiseConv2DOptions();
      if (o == nullptr || o->depth_multiplier > 1) continue;
    }
    if (m.BuiltinCode(*consumer) == b::kFullyConnected && mid_shape.size() != 2) continue;
    pairs.push_back({p.get(), consumer, mid, channels});
  }
  return pairs;
}

// max |x_c| of every pair's middle tensor over the samples (the float model).
Result<std::vector<std::vector<float>>> ActivationRanges(EditableModel& m, const std::vector<Pair>& pairs,
                                                         const std::vector<Sample>& samples, int num_threads) {
  std::vector<std::vector<float>> ranges(pairs.size());
  for (size_t k = 0; k < pairs.size(); ++k) ranges[k].assign(static_cast<size_t>(pairs[k].channels), 0.0f);
  // Tensor indices survive Finish() only if nothing is pruned; look up by name.
  std::vector<std::string> names;
  for (const Pair& p : pairs) names.push_back(m.tensor(p.mid).name);
  EP_ASSIGN_OR_RETURN(auto model, engine::Model::FromBuffer(m.Finish()));
  std::vector<int> index(pairs.size(), -1);
  for (const engine::TensorInfo& t : model->tensors())
    for (size_t k = 0; k < names.size(); ++k)
      if (t.name == names[k]) index[k] = t.index;
  EP_ASSIGN_OR_RETURN(auto run, engine::Interpreter::Create(model, {.num_threads = num_threads, .preserve_all_tensors = true}));
  for (const Sample& sample : samples) {
    if (sample.size() != run->num_inputs()) return InvalidArgumentError("an equalization sample has {} inputs", sample.size());
    for (size_t i = 0; i < sample.size(); ++i) {
      engine::TensorView& in = run->input(i);
      if (in.dtype != engine::DType::kFloat32 || in.num_elements() != sample[i].size())
        return InvalidArgumentError("equalization input {} '{}' does not take the sample's {} floats", i, in.name,
                                    sample[i].size());
      std::memcpy(in.data, sample[i].data(), in.num_bytes());
    }
    EP_RETURN_IF_ERROR(run->Invoke().WithContext("cross-layer equalization"));
    for (size_t k = 0; k < pairs.size(); ++k) {
      const engine::TensorView* v = index[k] < 0 ? nullptr : run->tensor(index[k]);
      if (v == nullptr || v->data == nullptr || v->dtype != engine::DType::kFloat32) continue;
      const float* x = v->as<const float>();
      const size_t c = ranges[k].size();
      for (size_t i = 0, n = v->num_elements(); i < n; ++i)
        if (std::isfinite(x[i])) ranges[k][i % c] = std::max(ranges[k][i % c], std::abs(x[i]));
    }
  }
  return ranges;
}

Status Rescale(EditableModel& m, const Pair& pair, const std::vector<float>& r1) {
  const int32_t pc = m.BuiltinCode(*pair.producer);
  const int w1 = pair.producer->inputs[1];
  const int w2 = pair.consumer->inputs[1];
  EP_ASSIGN_OR_RETURN(std::vector<float> v1, m.FloatData(w1));
  EP_ASSIGN_OR_RETURN(std::vector<float> v2, m.FloatData(w2));
  const auto c = static_cast<size_t>(pair.channels);
  std::vector<float> r2(c, 0.0f);
  const auto& s2 = m.tensor(w2).shape;
  for (size_t i = 0; i < v2.size(); ++i) r2[InChannelOf(i, s2)] = std::max(r2[InChannelOf(i, s2)], std::abs(v2[i]));
  std::vector<float> s(c, 1.0f);
  for (size_t k = 0; k < c; ++k)
    if (r1[k] > 0 && r2[k] > 0) s[k] = std::clamp(std::sqrt(r1[k] / r2[k]), 1e-4f, 1e4f);
  const auto& s1 = m.tensor(w1).shape;
  for (size_t i = 0; i < v1.size(); ++i) v1[i] /= s[OutChannelOf(pc, i, s1)];
  for (size_t i = 0; i < v2.size(); ++i) v2[i] *= s[InChannelOf(i, s2)];
  m.SetData(w1, AsBytes(v1));
  m.SetData(w2, AsBytes(v2));
  if (pair.producer->inputs.size() > 2 && pair.producer->inputs[2] >= 0) {
    const int bias = pair.producer->inputs[2];
    EP_ASSIGN_OR_RETURN(std::vector<float> vb, m.FloatData(bias));
    if (vb.size() != c) return InternalError("bias '{}' has {} values for {} channels", m.tensor(bias).name, vb.size(), c);
    for (size_t k = 0; k < c; ++k) vb[k] /= s[k];
    m.SetData(bias, AsBytes(vb));
  }
  return OkStatus();
}

}  // namespace

Result<int> EqualizeCrossLayer(EditableModel& m, const std::vector<Sample>& samples, int num_threads) {
  // Shared constants (one filter used by two ops) would be rescaled twice.
  const std::vector<Pair> pairs = FindPairs(m);
  std::vector<int> uses(static_cast<size_t>(m.num_tensors()), 0);
  for (auto& op : m.graph().operators)
    for (int32_t t : op->inputs)
      if (t >= 0) ++uses[static_cast<size_t>(t)];
  std::vector<Pair> usable;
  for (const Pair& p : pairs) {
    bool shared = false;
    for (size_t j = 1; j < p.producer->inputs.size(); ++j)
      if (p.producer->inputs[j] >= 0 && uses[static_cast<size_t>(p.producer->inputs[j])] > 1) shared = true;
    if (uses[static_cast<size_t>(p.consumer->inputs[1])] > 1) shared = true;
    if (!shared) usable.push_back(p);
  }
  if (usable.empty()) return 0;
  std::vector<std::vector<float>> r1;
  if (!samples.empty()) {
    EP_ASSIGN_OR_RETURN(r1, ActivationRanges(m, usable, samples, num_threads));
  } else {
    // Data-free: the producer's weight range per output channel.
    for (const Pair& p : usable) {
      const int w1 = p.producer->inputs[1];
      EP_ASSIGN_OR_RETURN(const std::vector<float> v1, m.FloatData(w1));
      std::vector<float> r(static_cast<size_t>(p.channels), 0.0f);
      const int32_t pc = m.BuiltinCode(*p.producer);
      for (size_t i = 0; i < v1.size(); ++i) {
        const size_t k = OutChannelOf(pc, i, m.tensor(w1).shape);
        r[k] = std::max(r[k], std::abs(v1[i]));
      }
      r1.push_back(std::move(r));
    }
  }
  for (size_t k = 0; k < usable.size(); ++k) EP_RETURN_IF_ERROR(Rescale(m, usable[k], r1[k]));
  return static_cast<int>(usable.size());
}

}  // namespace edgepipe::quantize
