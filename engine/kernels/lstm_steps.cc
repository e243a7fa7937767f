// LSTM time steps: TFLite's LstmStepFloat and LstmStepInteger8x8_16
// (lstm_eval.cc) over the portable tensor_utils they call. The integer step is
// bit-exact with TFLite; the float step follows its order of operations.
#include "engine/kernels/lstm_steps.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/kernels/fixed_point_int16.h"
#include "engine/kernels/kernel_util.h"

namespace edgepipe::engine::kernels::internal {
namespace {

namespace li = lstm_input;

template <typename T>
const T* Data(std::span<const TensorView* const> inputs, int k) {
  return k < static_cast<int>(inputs.size()) && inputs[k] != nullptr ? inputs[k]->as<const T>() : nullptr;
}

size_t AlignUp(size_t n) { return (n + 63) / 64 * 64; }

// The per-gate operands, in the order input, forget, cell, output.
constexpr int kInputWeights[4] = {li::kInputToInputWeights, li::kInputToForgetWeights, li::kInputToCellWeights,
                                  li::kInputToOutputWeights};
constexpr int kRecurrentWeights[4] = {li::kRecurrentToInputWeights, li::kRecurrentToForgetWeights,
                                      li::kRecurrentToCellWeights, li::kRecurrentToOutputWeights};
// The cell gate has no peephole.
constexpr int kPeepholeWeights[4] = {li::kCellToInputWeights, li::kCellToForgetWeights, -1, li::kCellToOutputWeights};
constexpr int kBiases[4] = {li::kInputGateBias, li::kForgetGateBias, li::kCellGateBias, li::kOutputGateBias};
constexpr int kLayerNorms[4] = {li::kInputLayerNorm, li::kForgetLayerNorm, li::kCellLayerNorm, li::kOutputLayerNorm};
enum Gate { kInputGate = 0, kForgetGate = 1, kCellGate = 2, kOutputGate = 3 };

// Calls step(input, output, output_state, cell_state, n_batch) once per time
// step (time major: all batches at once) or once per batch and time step
// (batch major), as TFLite's Eval loops do.
template <typename T, typename S, typename Step>
void ForEachStep(const LstmPlan& plan, const T* input, T* output, T* output_state, S* cell_state, Step&& step) {
  if (plan.options.time_major) {
    for (int t = 0; t < plan.max_time; ++t)
      step(input + static_cast<size_t>(t) * plan.n_batch * plan.n_input,
           output + static_cast<size_t>(t) * plan.n_batch * plan.n_output, output_state, cell_state, plan.n_batch);
    return;
  }
  for (int b = 0; b < plan.n_batch; ++b)
    for (int t = 0; t < plan.max_time; ++t) {
      const size_t offset = static_cast<size_t>(b) * plan.max_time + t;
      step(input + offset * plan.n_input, output + offset * plan.n_output, output_state + b * plan.n_output,
           cell_state + b * plan.n_cell, 1);
    }
}

// ------------------------------------------------------------------ float

float Activate(float x, LstmActivation activation) {
  switch (activation) {
    case LstmActivation::kNone: return x;
    case LstmActivation::kRelu: return std::max(0.0f, x);
    case LstmActivation::kReluN1To1: return std::clamp(x, -1.0f, 1.0f);
    case LstmActivation::kRelu6: return std::clamp(x, 0.0f, 6.0f);
    case LstmActivation::kTanh: return std::tanh(x);
  }
  return x;
}

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// gate = W_x x + W_h h (+ w_c .* c) + bias, or with layer norm
// ln .* normalize(W_x x + W_h h + w_c .* c) + bias; then the activation.
void GateFloat(std::span<const TensorView* const> inputs, int g, const LstmPlan& plan, const float* x,
               const float* h, const float* c, int n_batch, float* gate) {
  const int n_cell = plan.n_cell, n_input = plan.n_input, n_output = plan.n_output;
  const float* w_x = Data<float>(inputs, kInputWeights[g]);
  const float* w_h = Data<float>(inputs, kRecurrentWeights[g]);
  const float* w_c = kPeepholeWeights[g] >= 0 ? Data<float>(inputs, kPeepholeWeights[g]) : nullptr;
  const float* bias = Data<float>(inputs, kBiases[g]);
  const float* ln = plan.use_layer_norm ? Data<float>(inputs, kLayerNorms[g]) : nullptr;
  for (int b = 0; b < n_batch; ++b) {
    for (int r = 0; r < n_cell; ++r) {
      float acc = ln != nullptr ? 0.0f : bias[r];
      float dot = 0.0f;
      for (int k = 0; k < n_input; ++k) dot += w_x[r * n_input + k] * x[b * n_input + k];
      acc += dot;
      dot = 0.0f;
      for (int k = 0; k < n_output; ++k) dot += w_h[r * n_output + k] * h[b * n_output + k];
      acc += dot;
      if (w_c != nullptr) acc += w_c[r] * c[b * n_cell + r];
      gate[b * n_cell + r] = acc;
    }
    float* row = gate + b * n_cell;
    if (ln != nullptr) {
      // TFLite's MeanStddevNormalization (variance + 1e-8), then ln .* x + bias.
      float sum = 0.0f;
      for (int r = 0; r < n_cell; ++r) sum += row[r];
      const float mean = sum / n_cell;
      float sum_diff_sq = 0.0f;
      for (int r = 0; r < n_cell; ++r) sum_diff_sq += (row[r] - mean) * (row[r] - mean);
      const float stddev_inv = 1.0f / std::sqrt(sum_diff_sq / n_cell + 1e-8f);
      for (int r = 0; r < n_cell; ++r) row[r] = (row[r] - mean) * stddev_inv * ln[r] + bias[r];
    }
    for (int r = 0; r < n_cell; ++r)
      row[r] = g == kCellGate ? Activate(row[r], plan.options.activation) : Sigmoid(row[r]);
  }
}

// ------------------------------------------------------------------ int8

int16_t SaturateInt16(int32_t v) { return static_cast<int16_t>(std::clamp<int32_t>(v, -32768, 32767)); }
int8_t SaturateInt8(int32_t v) { return static_cast<int8_t>(std::clamp<int32_t>(v, -128, 127)); }

// out = saturate(requantize(bias + W x) + output_zp + out): tensor_utils'
// int8 x int8 -> int16/int8 MatrixBatchVectorMultiplyAccumulate.
template <typename Out>
void MatMulAccumulate(const int8_t* x, const int32_t* bias, const int8_t* w, int32_t multiplier, int32_t shift,
                      int n_batch, int n_in, int n_out, int32_t output_zp, Out* out) {
  for (int b = 0; b < n_batch; ++b)
    for (int r = 0; r < n_out; ++r) {
      int32_t acc = bias[r];
      for (int k = 0; k < n_in; ++k) acc += int32_t{x[b * n_in + k]} * int32_t{w[r * n_in + k]};
      acc = MultiplyByQuantizedMultiplier(acc, multiplier, shift) + output_zp + out[b * n_out + r];
      out[b * n_out + r] = sizeof(Out) == 2 ? static_cast<Out>(SaturateInt16(acc)) : static_cast<Out>(SaturateInt8(acc));
    }
}

// CalculateLstmGateInteger8x8_16 without layer norm: Q3.12 pre-activation,
// gemmlowp sigmoid (tanh for the cell gate) to Q0.15.
void GateInteger(std::span<const TensorView* const> inputs, int g, const LstmPlan& plan, const int8_t* x,
                 const int8_t* h, const int16_t* c, int n_batch, int16_t* gate) {
  const LstmIntegerGate& p = plan.gates[g];
  const int n_cell = plan.n_cell;
  std::fill_n(gate, static_cast<size_t>(n_batch) * n_cell, int16_t{0});
  MatMulAccumulate(x, p.input_effective_bias.data(), Data<int8_t>(inputs, kInputWeights[g]), p.input_scale_a,
                   p.input_scale_b, n_batch, plan.n_input, n_cell, 0, gate);
  MatMulAccumulate(h, p.recurrent_effective_bias.data(), Data<int8_t>(inputs, kRecurrentWeights[g]),
                   p.recurrent_scale_a, p.recurrent_scale_b, n_batch, plan.n_output, n_cell, 0, gate);
  const int16_t* w_c = kPeepholeWeights[g] >= 0 ? Data<int16_t>(inputs, kPeepholeWeights[g]) : nullptr;
  if (w_c != nullptr) {
    // As TFLite (VectorBatchVectorCwiseProductAccumulate called with n_output
    // as the vector length): the first n_batch * n_output elements of the flat
    // cell state and gate arrays, weight index modulo n_output. The same as
    // per-cell peepholes when n_output == n_cell (no projection); with a
    // projection LiteRT computes exactly this, so we do too (checked against it).
    const int n_output = plan.n_output;
    for (int i = 0; i < n_batch * n_output; ++i) {
      const int32_t prod = MultiplyByQuantizedMultiplier(int32_t{w_c[i % n_output]} * int32_t{c[i]}, p.cell_scale_a,
                                                         p.cell_scale_b);
      gate[i] = SaturateInt16(prod + gate[i]);
    }
  }
  const int16_t* activation = g == kCellGate ? plan.gate_tanh : plan.gate_sigmoid;
  for (int i = 0; i < n_batch * n_cell; ++i) gate[i] = activation[gate[i] + 32768];
}

// UpdateLstmCellInteger: c = f*c >> 15 (+) i*g >> (30 + cell_scale), saturating, clipped.
void UpdateCellInteger(const LstmPlan& plan, int n_batch, int16_t* cell, const int16_t* input_gate,
                       const int16_t* forget_gate, const int16_t* cell_gate) {
  const int shift = 30 + plan.cell_scale_log2;
  for (int i = 0; i < n_batch * plan.n_cell; ++i) {
    const int16_t kept =
        static_cast<int16_t>(RoundingDivideByPOT(int32_t{forget_gate[i]} * int32_t{cell[i]}, 15));
    const int16_t in = plan.use_cifg ? static_cast<int16_t>(32767 - forget_gate[i]) : input_gate[i];
    const int16_t added = static_cast<int16_t>(RoundingDivideByPOT(int32_t{in} * int32_t{cell_gate[i]}, shift));
    int16_t value = SaturateInt16(int32_t{kept} + int32_t{added});
    if (plan.quantized_cell_clip > 0)
      value = std::clamp<int16_t>(value, static_cast<int16_t>(-plan.quantized_cell_clip), plan.quantized_cell_clip);
    cell[i] = value;
  }
}

// CalculateLstmOutputInteger8x8_16: hidden = o .* tanh(c) requantized to int8,
// then the optional projection.
void OutputInteger(std::span<const TensorView* const> inputs, const LstmPlan& plan, int n_batch,
                   const int16_t* cell, const int16_t* output_gate, int16_t* tanh_scratch, int8_t* hidden_scratch,
                   int8_t* output_state) {
  const int n_cell = plan.n_cell;
  for (int i = 0; i < n_batch * n_cell; ++i) tanh_scratch[i] = plan.cell_tanh[cell[i] + 32768];
  // hidden = saturate(requantize(o * tanh(c)) + zero point). LiteRT adds the
  // hidden zero point when the hidden state is the output, and subtracts it
  // before a projection, whose precomputed bias then adds zp * row sums back
  // (PrepareInteger): both checked bit for bit against LiteRT with zp != 0.
  auto hidden = [&](int i, int32_t zero_point) {
    const int32_t product = int32_t{output_gate[i]} * int32_t{tanh_scratch[i]};
    return SaturateInt8(MultiplyByQuantizedMultiplier(product, plan.hidden_scale_a, plan.hidden_scale_b) +
                        zero_point);
  };
  if (!plan.use_projection) {
    for (int i = 0; i < n_batch * n_cell; ++i) output_state[i] = hidden(i, plan.hidden_zp);
    return;
  }
  for (int i = 0; i < n_batch * n_cell; ++i) hidden_scratch[i] = hidden(i, -plan.hidden_zp);
  std::fill_n(output_state, static_cast<size_t>(n_batch) * plan.n_output, int8_t{0});
  MatMulAccumulate(hidden_scratch, plan.projection_effective_bias.data(), Data<int8_t>(inputs, li::kProjectionWeights),
                   plan.proj_scale_a, plan.proj_scale_b, n_batch, n_cell, plan.n_output, plan.output_state_zp,
                   output_state);
  if (plan.quantized_proj_clip > 0)
    for (int i = 0; i < n_batch * plan.n_output; ++i)
      output_state[i] = std::clamp<int8_t>(output_state[i], static_cast<int8_t>(-plan.quantized_proj_clip),
                                           plan.quantized_proj_clip);
}

}  // namespace

Status RunLstmFloat(const LstmPlan& plan, std::span<const TensorView* const> inputs, const TensorView& output,
                    std::span<std::byte> scratch) {
  const size_t cells = static_cast<size_t>(plan.n_batch) * plan.n_cell;
  float* gates[4];
  for (int g = 0; g < 4; ++g) gates[g] = reinterpret_cast<float*>(scratch.data() + g * AlignUp(cells * sizeof(float)));
  const float* projection = Data<float>(inputs, li::kProjectionWeights);
  const float* projection_bias = Data<float>(inputs, li::kProjectionBias);
  const float proj_clip = plan.options.proj_clip;
  const float cell_clip = plan.options.cell_clip;
  ForEachStep(plan, Data<float>(inputs, li::kInput), output.as<float>(), inputs[li::kOutputState]->as<float>(),
              inputs[li::kCellState]->as<float>(),
              [&](const float* x, float* out, float* h, float* c, int n_batch) {
                const int n = n_batch * plan.n_cell;
                if (!plan.use_cifg) GateFloat(inputs, kInputGate, plan, x, h, c, n_batch, gates[kInputGate]);
                GateFloat(inputs, kForgetGate, plan, x, h, c, n_batch, gates[kForgetGate]);
                GateFloat(inputs, kCellGate, plan, x, h, c, n_batch, gates[kCellGate]);
                for (int i = 0; i < n; ++i) {
                  const float in = plan.use_cifg ? 1.0f - gates[kForgetGate][i] : gates[kInputGate][i];
                  c[i] = gates[kForgetGate][i] * c[i] + gates[kCellGate][i] * in;
                  if (cell_clip > 0.0f) c[i] = std::clamp(c[i], -cell_clip, cell_clip);
                }
                GateFloat(inputs, kOutputGate, plan, x, h, c, n_batch, gates[kOutputGate]);
                float* hidden = gates[kCellGate];  // free again
                for (int i = 0; i < n; ++i) hidden[i] = gates[kOutputGate][i] * Activate(c[i], plan.options.activation);
                if (projection == nullptr) {
                  std::copy_n(hidden, n, h);
                } else {
                  for (int b = 0; b < n_batch; ++b)
                    for (int r = 0; r < plan.n_output; ++r) {
                      float acc = projection_bias != nullptr ? projection_bias[r] : 0.0f;
                      float dot = 0.0f;
                      for (int k = 0; k < plan.n_cell; ++k)
                        dot += projection[r * plan.n_cell + k] * hidden[b * plan.n_cell + k];
                      acc += dot;
                      if (proj_clip > 0.0f) acc = std::clamp(acc, -proj_clip, proj_clip);
                      h[b * plan.n_output + r] = acc;
                    }
                }
                std::copy_n(h, static_cast<size_t>(n_batch) * plan.n_output, out);
              });
  return OkStatus();
}

Status RunLstmInteger(const LstmPlan& plan, std::span<const TensorView* const> inputs, const TensorView& output,
                      std::span<std::byte> scratch) {
  const size_t cells = static_cast<size_t>(plan.n_batch) * plan.n_cell;
  int16_t* gates[4];
  for (int g = 0; g < 4; ++g)
    gates[g] = reinterpret_cast<int16_t*>(scratch.data() + g * AlignUp(cells * sizeof(int16_t)));
  auto* hidden_scratch = reinterpret_cast<int8_t*>(scratch.data() + 4 * AlignUp(cells * sizeof(int16_t)));
  ForEachStep(plan, Data<int8_t>(inputs, li::kInput), output.as<int8_t>(), inputs[li::kOutputState]->as<int8_t>(),
              inputs[li::kCellState]->as<int16_t>(),
              [&](const int8_t* x, int8_t* out, int8_t* h, int16_t* c, int n_batch) {
                if (!plan.use_cifg) GateInteger(inputs, kInputGate, plan, x, h, c, n_batch, gates[kInputGate]);
                GateInteger(inputs, kForgetGate, plan, x, h, c, n_batch, gates[kForgetGate]);
                GateInteger(inputs, kCellGate, plan, x, h, c, n_batch, gates[kCellGate]);
                UpdateCellInteger(plan, n_batch, c, gates[kInputGate], gates[kForgetGate], gates[kCellGate]);
                GateInteger(inputs, kOutputGate, plan, x, h, c, n_batch, gates[kOutputGate]);
                // The input gate's buffer is free again and holds tanh(c), as in TFLite.
                OutputInteger(inputs, plan, n_batch, c, gates[kOutputGate], gates[kInputGate], hidden_scratch, h);
                std::copy_n(h, static_cast<size_t>(n_batch) * plan.n_output, out);
              });
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels::internal
