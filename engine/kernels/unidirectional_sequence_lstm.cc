// UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite's lstm_eval.cc (LstmStepFloat,
// LstmStepInteger8x8_16) and the parameter preparation of
// unidirectional_sequence_lstm.cc (PopulateQuantizedLstmParams8x8_16,
// PopulatePrecomputedZPTimesWeightsWithBias), with the integer helpers of
// portable_tensor_utils.cc. Rounding notes sit next to the code.
#include "engine/kernels/unidirectional_sequence_lstm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/kernels/fixed_point_int16.h"
#include "engine/kernels/kernel_util.h"
#include "engine/kernels/lstm_steps.h"

namespace edgepipe::engine::kernels {
namespace {

constexpr std::string_view kOp = "UNIDIRECTIONAL_SEQUENCE_LSTM";
namespace li = lstm_input;

const char* InputName(int k) {
  static constexpr const char* kNames[li::kCount] = {
      "input", "input_to_input_weights", "input_to_forget_weights", "input_to_cell_weights",
      "input_to_output_weights", "recurrent_to_input_weights", "recurrent_to_forget_weights",
      "recurrent_to_cell_weights", "recurrent_to_output_weights", "cell_to_input_weights",
      "cell_to_forget_weights", "cell_to_output_weights", "input_gate_bias", "forget_gate_bias",
      "cell_gate_bias", "output_gate_bias", "projection_weights", "projection_bias", "output_state",
      "cell_state", "input_layer_norm_coefficients", "forget_layer_norm_coefficients",
      "cell_layer_norm_coefficients", "output_layer_norm_coefficients"};
  return kNames[k];
}

struct Operands {
  std::span<const TensorView* const> inputs;
  const TensorView* get(int k) const { return k < static_cast<int>(inputs.size()) ? inputs[k] : nullptr; }
};

Status CheckShape(const TensorView& t, std::initializer_list<int32_t> dims, int k) {
  if (!std::equal(t.shape.begin(), t.shape.end(), dims.begin(), dims.end()))
    return InvalidArgumentError("{}: {} {} must have shape {}", kOp, InputName(k), internal::Describe(t),
                                internal::ShapeString(std::vector<int32_t>(dims)));
  return OkStatus();
}

// Checks every operand against the others and returns the plan's dimensions
// and variant flags (quantization is looked at by Prepare only).
Result<LstmPlan> CheckOperands(std::span<const TensorView* const> inputs, const LstmOptions& options,
                               const TensorView& output) {
  if (inputs.size() != li::kCount && inputs.size() != 20)
    return InvalidArgumentError("{}: expected 24 (or 20) inputs, got {}", kOp, inputs.size());
  const Operands ops{inputs};
  for (int k : {li::kInput, li::kInputToForgetWeights, li::kInputToCellWeights, li::kInputToOutputWeights,
                li::kRecurrentToForgetWeights, li::kRecurrentToCellWeights, li::kRecurrentToOutputWeights,
                li::kForgetGateBias, li::kCellGateBias, li::kOutputGateBias, li::kOutputState, li::kCellState})
    if (ops.get(k) == nullptr) return InvalidArgumentError("{}: required input {} ({}) is missing", kOp, k, InputName(k));
  for (int k = 0; k < static_cast<int>(inputs.size()); ++k)
    if (ops.get(k) != nullptr) EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *ops.get(k)));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, output));

  const TensorView& input = *ops.get(li::kInput);
  if (input.rank() != 3)
    return InvalidArgumentError("{}: input {} must be 3-D ({})", kOp, internal::Describe(input),
                                options.time_major ? "[time, batch, input]" : "[batch, time, input]");
  LstmPlan plan;
  plan.options = options;
  plan.max_time = options.time_major ? input.shape[0] : input.shape[1];
  plan.n_batch = options.time_major ? input.shape[1] : input.shape[0];
  plan.n_input = input.shape[2];
  const TensorView& to_output = *ops.get(li::kInputToOutputWeights);
  const TensorView& recurrent_to_output = *ops.get(li::kRecurrentToOutputWeights);
  if (to_output.rank() != 2 || recurrent_to_output.rank() != 2)
    return InvalidArgumentError("{}: weights {} and {} must be 2-D", kOp, internal::Describe(to_output),
                                internal::Describe(recurrent_to_output));
  plan.n_cell = to_output.shape[0];
  plan.n_output = recurrent_to_output.shape[1];
  const int32_t n_cell = plan.n_cell, n_input = plan.n_input, n_output = plan.n_output;

  if (input.dtype == DType::kFloat32) {
    plan.integer = false;
  } else if (input.dtype == DType::kInt8) {
    plan.integer = true;
  } else {
    return UnimplementedError("{}: input {} must be float32 or int8", kOp, internal::Describe(input));
  }
  const DType weight_type = plan.integer ? DType::kInt8 : DType::kFloat32;
  if (!plan.integer && to_output.dtype != DType::kFloat32)
    return UnimplementedError("{}: hybrid LSTM (float input, {} weights {}) is not supported", kOp,
                              DTypeName(to_output.dtype), internal::Describe(to_output));
  const DType bias_type = plan.integer ? DType::kInt32 : DType::kFloat32;
  const DType small_type = plan.integer ? DType::kInt16 : DType::kFloat32;  // peephole, layer norm, cell state

  auto check = [&](int k, DType dtype, std::initializer_list<int32_t> dims) -> Status {
    const TensorView* t = ops.get(k);
    if (t == nullptr) return OkStatus();
    EP_RETURN_IF_ERROR(internal::CheckDType(kOp, *t, dtype));
    return CheckShape(*t, dims, k);
  };
  for (int k : {li::kInputToInputWeights, li::kInputToForgetWeights, li::kInputToCellWeights, li::kInputToOutputWeights})
    EP_RETURN_IF_ERROR(check(k, weight_type, {n_cell, n_input}));
  for (int k : {li::kRecurrentToInputWeights, li::kRecurrentToForgetWeights, li::kRecurrentToCellWeights,
                li::kRecurrentToOutputWeights})
    EP_RETURN_IF_ERROR(check(k, weight_type, {n_cell, n_output}));
  for (int k : {li::kCellToInputWeights, li::kCellToForgetWeights, li::kCellToOutputWeights})
    EP_RETURN_IF_ERROR(check(k, small_type, {n_cell}));
  for (int k : {li::kInputGateBias, li::kForgetGateBias, li::kCellGateBias, li::kOutputGateBias})
    EP_RETURN_IF_ERROR(check(k, bias_type, {n_cell}));
  EP_RETURN_IF_ERROR(check(li::kProjectionWeights, weight_type, {n_output, n_cell}));
  EP_RETURN_IF_ERROR(check(li::kProjectionBias, bias_type, {n_output}));
  for (int k : {li::kInputLayerNorm, li::kForgetLayerNorm, li::kCellLayerNorm, li::kOutputLayerNorm})
    EP_RETURN_IF_ERROR(check(k, small_type, {n_cell}));

  // CIFG: the input gate's weights and bias are all there or all absent.
  plan.use_cifg = ops.get(li::kInputToInputWeights) == nullptr;
  if ((ops.get(li::kRecurrentToInputWeights) == nullptr) != plan.use_cifg ||
      (ops.get(li::kInputGateBias) == nullptr) != plan.use_cifg)
    return InvalidArgumentError("{}: input_to_input_weights, recurrent_to_input_weights and input_gate_bias must "
                                "be all present or all absent (CIFG)",
                                kOp);
  plan.use_peephole = ops.get(li::kCellToOutputWeights) != nullptr;
  if ((ops.get(li::kCellToForgetWeights) != nullptr) != plan.use_peephole ||
      (!plan.use_cifg && (ops.get(li::kCellToInputWeights) != nullptr) != plan.use_peephole))
    return InvalidArgumentError("{}: the peephole weights (cell_to_*_weights) must be all present or all absent", kOp);
  plan.use_projection = ops.get(li::kProjectionWeights) != nullptr;
  if (!plan.use_projection && ops.get(li::kProjectionBias) != nullptr)
    return InvalidArgumentError("{}: projection_bias without projection_weights", kOp);
  if (!plan.use_projection && n_output != n_cell)
    return InvalidArgumentError("{}: without projection the output size ({}) must equal the cell count ({})", kOp,
                                n_output, n_cell);
  plan.use_layer_norm = ops.get(li::kForgetLayerNorm) != nullptr;
  if ((ops.get(li::kCellLayerNorm) != nullptr) != plan.use_layer_norm ||
      (ops.get(li::kOutputLayerNorm) != nullptr) != plan.use_layer_norm ||
      (!plan.use_cifg && (ops.get(li::kInputLayerNorm) != nullptr) != plan.use_layer_norm))
    return InvalidArgumentError("{}: the layer norm coefficients must be all present or all absent", kOp);

  const TensorView& output_state = *ops.get(li::kOutputState);
  const TensorView& cell_state = *ops.get(li::kCellState);
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, output_state, plan.integer ? DType::kInt8 : DType::kFloat32));
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, cell_state, small_type));
  EP_RETURN_IF_ERROR(internal::CheckElementCount(kOp, output_state, static_cast<size_t>(plan.n_batch) * n_output));
  EP_RETURN_IF_ERROR(internal::CheckElementCount(kOp, cell_state, static_cast<size_t>(plan.n_batch) * n_cell));
  if (output_state.data == nullptr || cell_state.data == nullptr)
    return InvalidArgumentError("{}: the state tensors {} and {} need memory", kOp, internal::Describe(output_state),
                                internal::Describe(cell_state));

  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, output, input.dtype));
  if (output.rank() != 3 || output.shape[0] != input.shape[0] || output.shape[1] != input.shape[1] ||
      output.shape[2] != n_output)
    return InvalidArgumentError("{}: output {} must have shape [{},{},{}]", kOp, internal::Describe(output),
                                input.shape[0], input.shape[1], n_output);
  return plan;
}

// TFLite's CheckedLog2: the exponent of a power-of-two scale.
bool CheckedLog2(float x, int* log2_result) {
  const float x_log2 = std::log(x) * (1.0f / std::log(2.0f));
  const float rounded = std::round(x_log2);
  *log2_result = static_cast<int>(rounded);
  return std::abs(x_log2 - rounded) < 1e-3f;
}

// PrecomputeZeroPointTimesWeightWithBias: bias + zero_point * row sums.
std::vector<int32_t> ZeroPointTimesWeightsPlusBias(int32_t zero_point, const TensorView* weights,
                                                   const TensorView* bias) {
  if (weights == nullptr) return {};
  const int rows = weights->shape[0], cols = weights->shape[1];
  std::vector<int32_t> out(rows, 0);
  if (bias != nullptr) std::copy_n(bias->as<const int32_t>(), rows, out.begin());
  const int8_t* w = weights->as<const int8_t>();
  for (int r = 0; r < rows; ++r) {
    int32_t row_sum = 0;
    for (int c = 0; c < cols; ++c) row_sum += w[r * cols + c];
    out[r] += row_sum * zero_point;
  }
  return out;
}

Status PrepareInteger(const Operands& ops, std::span<const TensorView* const> intermediates, const TensorView& output,
                      LstmPlan& plan) {
  if (plan.use_layer_norm) return UnimplementedError("{}: int8 LSTM with layer normalization is not supported", kOp);
  if (intermediates.size() == 12)
    return UnimplementedError("{}: the 8x8_8 integer LSTM (12 intermediates) is not supported", kOp);
  if (intermediates.size() != 5 || intermediates[4] == nullptr)
    return InvalidArgumentError("{}: an int8 LSTM needs 5 intermediate tensors, got {}", kOp, intermediates.size());
  auto quant = [&](const TensorView& t) { return internal::PerTensorQuant(kOp, t); };
  EP_ASSIGN_OR_RETURN(const auto input_q, quant(*ops.get(li::kInput)));
  EP_ASSIGN_OR_RETURN(const auto output_state_q, quant(*ops.get(li::kOutputState)));
  EP_ASSIGN_OR_RETURN(const auto cell_state_q, quant(*ops.get(li::kCellState)));
  EP_ASSIGN_OR_RETURN(const auto hidden_q, quant(*intermediates[4]));
  EP_ASSIGN_OR_RETURN(const auto output_q, quant(output));
  auto weight_scale = [&](int k) -> Result<float> {
    if (ops.get(k) == nullptr) return 1.0f;  // TFLite's default_scale for absent tensors
    EP_ASSIGN_OR_RETURN(const auto q, quant(*ops.get(k)));
    return q.scale;
  };

  // Float arithmetic as in TFLite's PopulateQuantizedLstmParams8x8_16, so the
  // multipliers come out identical.
  if (plan.options.cell_clip > 0.0f)
    plan.quantized_cell_clip = static_cast<int16_t>(
        std::min(std::max(plan.options.cell_clip / cell_state_q.scale, -32768.0f), 32767.0f));
  if (plan.options.proj_clip > 0.0f)
    plan.quantized_proj_clip =
        static_cast<int8_t>(std::min(std::max(plan.options.proj_clip / output_q.scale, -128.0f), 127.0f));

  int cell_scale = 0;
  if (!CheckedLog2(cell_state_q.scale, &cell_scale) || cell_scale > -9)
    return InvalidArgumentError("{}: cell state {} must have a power-of-two scale of at most 2^-9, has {}", kOp,
                                internal::Describe(*ops.get(li::kCellState)), cell_state_q.scale);
  // tanh(c) reads the cell state as Q(15 + cell_scale); TFLite computes nothing
  // for a negative count of integer bits, so such a scale is refused.
  if (cell_scale < -15)
    return UnimplementedError("{}: cell state {} has scale 2^{}, below 2^-15", kOp,
                              internal::Describe(*ops.get(li::kCellState)), cell_scale);
  plan.cell_scale_log2 = cell_scale;
  plan.gate_sigmoid = internal::FixedPointLogistic16Table(3);
  plan.gate_tanh = internal::FixedPointTanh16Table(3);
  plan.cell_tanh = internal::FixedPointTanh16Table(15 + cell_scale);
  plan.output_state_zp = output_state_q.zero_point;
  plan.hidden_zp = hidden_q.zero_point;

  // Without layer norm the gate matmuls produce Q3.12.
  const float gate_scale = static_cast<float>(std::pow(2, -12));
  const int input_weights[4] = {li::kInputToInputWeights, li::kInputToForgetWeights, li::kInputToCellWeights,
                                li::kInputToOutputWeights};
  const int recurrent_weights[4] = {li::kRecurrentToInputWeights, li::kRecurrentToForgetWeights,
                                    li::kRecurrentToCellWeights, li::kRecurrentToOutputWeights};
  const int peephole_weights[4] = {li::kCellToInputWeights, li::kCellToForgetWeights, -1, li::kCellToOutputWeights};
  const int biases[4] = {li::kInputGateBias, li::kForgetGateBias, li::kCellGateBias, li::kOutputGateBias};
  for (int g = 0; g < 4; ++g) {
    LstmIntegerGate& gate = plan.gates[g];
    if (g == 0 && plan.use_cifg) continue;
    EP_ASSIGN_OR_RETURN(const float w_in, weight_scale(input_weights[g]));
    EP_ASSIGN_OR_RETURN(const float w_rec, weight_scale(recurrent_weights[g]));
    const float effective_input = w_in * input_q.scale / gate_scale;
    const float effective_recurrent = w_rec * output_state_q.scale / gate_scale;
    int shift = 0;
    internal::QuantizeMultiplier(effective_input, &gate.input_scale_a, &shift);
    gate.input_scale_b = shift;
    internal::QuantizeMultiplier(effective_recurrent, &gate.recurrent_scale_a, &shift);
    gate.recurrent_scale_b = shift;
    if (plan.use_peephole && peephole_weights[g] >= 0) {
      EP_ASSIGN_OR_RETURN(const float w_cell, weight_scale(peephole_weights[g]));
      const float effective_cell = static_cast<float>(std::pow(2, cell_scale) * w_cell / gate_scale);
      internal::QuantizeMultiplier(effective_cell, &gate.cell_scale_a, &shift);
      gate.cell_scale_b = shift;
    }
    // TFLite folds the zero points into the biases: -input_zp * sum(W_x) and
    // -output_state_zp * sum(W_h).
    gate.input_effective_bias =
        ZeroPointTimesWeightsPlusBias(-input_q.zero_point, ops.get(input_weights[g]), ops.get(biases[g]));
    gate.recurrent_effective_bias =
        ZeroPointTimesWeightsPlusBias(-output_state_q.zero_point, ops.get(recurrent_weights[g]), nullptr);
  }
  const float effective_hidden = static_cast<float>(std::pow(2, -15) / hidden_q.scale * std::pow(2, -15));
  int shift = 0;
  internal::QuantizeMultiplier(effective_hidden, &plan.hidden_scale_a, &shift);
  plan.hidden_scale_b = shift;
  if (plan.use_projection) {
    EP_ASSIGN_OR_RETURN(const float w_proj, weight_scale(li::kProjectionWeights));
    const float effective_proj = w_proj * hidden_q.scale / output_state_q.scale;
    internal::QuantizeMultiplier(effective_proj, &plan.proj_scale_a, &shift);
    plan.proj_scale_b = shift;
    // + hidden_zp times the row sums, as TFLite's Prepare: the hidden state
    // enters the projection with its zero point subtracted (OutputInteger).
    plan.projection_effective_bias = ZeroPointTimesWeightsPlusBias(plan.hidden_zp, ops.get(li::kProjectionWeights),
                                                                   ops.get(li::kProjectionBias));
  }
  return OkStatus();
}

size_t AlignUp(size_t n) { return (n + 63) / 64 * 64; }

}  // namespace

Result<LstmPlan> PrepareUnidirectionalSequenceLstm(std::span<const TensorView* const> inputs,
                                                   std::span<const TensorView* const> intermediates,
                                                   const LstmOptions& options, const TensorView& output) {
  EP_ASSIGN_OR_RETURN(LstmPlan plan, CheckOperands(inputs, options, output));
  if (plan.integer) EP_RETURN_IF_ERROR(PrepareInteger(Operands{inputs}, intermediates, output, plan));
  return plan;
}

size_t UnidirectionalSequenceLstmScratchBytes(const LstmPlan& plan) {
  const size_t cells = static_cast<size_t>(plan.n_batch) * plan.n_cell;
  if (!plan.integer) return 4 * AlignUp(cells * sizeof(float));
  return 4 * AlignUp(cells * sizeof(int16_t)) + AlignUp(cells);
}

Status UnidirectionalSequenceLstm(const LstmPlan& plan, std::span<const TensorView* const> inputs,
                                  const TensorView& output, std::span<std::byte> scratch) {
  EP_ASSIGN_OR_RETURN(const LstmPlan checked, CheckOperands(inputs, plan.options, output));
  if (checked.integer != plan.integer || checked.n_batch != plan.n_batch || checked.max_time != plan.max_time ||
      checked.n_input != plan.n_input || checked.n_cell != plan.n_cell || checked.n_output != plan.n_output ||
      checked.use_cifg != plan.use_cifg || checked.use_peephole != plan.use_peephole ||
      checked.use_projection != plan.use_projection || checked.use_layer_norm != plan.use_layer_norm)
    return InvalidArgumentError("{}: the operands no longer match the prepared plan", kOp);
  if (scratch.size() < UnidirectionalSequenceLstmScratchBytes(plan))
    return InvalidArgumentError("{}: scratch is {} bytes, needs {}", kOp, scratch.size(),
                                UnidirectionalSequenceLstmScratchBytes(plan));
  return plan.integer ? internal::RunLstmInteger(plan, inputs, output, scratch)
                      : internal::RunLstmFloat(plan, inputs, output, scratch);
}

}  // namespace edgepipe::engine::kernels
