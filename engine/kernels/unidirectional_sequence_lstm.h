// UNIDIRECTIONAL_SEQUENCE_LSTM as TFLite runs it (kernels/unidirectional_sequence_lstm.cc
// and lstm_eval.cc), in two variants:
//  - float32: input, weights, biases and states all float32 (TFLite's
//    LstmStepFloat: sigmoid gates, the options' activation on the cell gate and
//    cell output, optional CIFG, peephole, layer norm, projection, clipping);
//  - int8 "8x8_16" (TFLite's EvalInteger8x8_16, the full-integer quantized LSTM):
//    int8 input, weights and output state, int32 biases, int16 cell state with
//    a power-of-two scale, int16 gates in Q3.12 through gemmlowp's fixed-point
//    sigmoid/tanh, the hidden state's scale and zero point from the operator's
//    fifth intermediate tensor. CIFG, peephole and projection are supported;
//    integer layer norm and the 12-intermediate 8x8_8 variant are not (error).
// Hybrid (float input with int8 weights) and auxiliary inputs are not supported.
//
// Like TFLite, the output and cell states are variable tensors the kernel
// updates in place: they carry over from one invocation to the next.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine::kernels {

// Input positions of UNIDIRECTIONAL_SEQUENCE_LSTM (the format's order). The
// operator has 24 inputs, or 20 in old files (no layer norm).
namespace lstm_input {
inline constexpr int kInput = 0;
inline constexpr int kInputToInputWeights = 1;  // optional (absent: CIFG)
inline constexpr int kInputToForgetWeights = 2;
inline constexpr int kInputToCellWeights = 3;
inline constexpr int kInputToOutputWeights = 4;
inline constexpr int kRecurrentToInputWeights = 5;  // optional (CIFG)
inline constexpr int kRecurrentToForgetWeights = 6;
inline constexpr int kRecurrentToCellWeights = 7;
inline constexpr int kRecurrentToOutputWeights = 8;
inline constexpr int kCellToInputWeights = 9;  // optional (peephole)
inline constexpr int kCellToForgetWeights = 10;
inline constexpr int kCellToOutputWeights = 11;
inline constexpr int kInputGateBias = 12;  // optional (CIFG)
inline constexpr int kForgetGateBias = 13;
inline constexpr int kCellGateBias = 14;
inline constexpr int kOutputGateBias = 15;
inline constexpr int kProjectionWeights = 16;  // optional
inline constexpr int kProjectionBias = 17;     // optional
inline constexpr int kOutputState = 18;        // variable
inline constexpr int kCellState = 19;          // variable
inline constexpr int kInputLayerNorm = 20;     // optional (layer norm)
inline constexpr int kForgetLayerNorm = 21;
inline constexpr int kCellLayerNorm = 22;
inline constexpr int kOutputLayerNorm = 23;
inline constexpr int kCount = 24;
}  // namespace lstm_input

// The cell gate's and cell output's activation (the options' fused activation).
enum class LstmActivation : uint8_t { kNone, kRelu, kReluN1To1, kRelu6, kTanh };

struct LstmOptions {
  LstmActivation activation = LstmActivation::kTanh;  // ignored by int8: always tanh, as in TFLite
  float cell_clip = 0.0f;  // > 0: clip the cell state to [-clip, clip]
  float proj_clip = 0.0f;  // > 0: clip the projection output
  bool time_major = false;  // input [time, batch, input] instead of [batch, time, input]
};

// Multipliers and precomputed biases of one int8 gate (TFLite's
// IntegerLstmParameter; *_scale_a is the Q31 multiplier, *_scale_b its shift).
struct LstmIntegerGate {
  int32_t input_scale_a = 0, input_scale_b = 0;
  int32_t recurrent_scale_a = 0, recurrent_scale_b = 0;
  int32_t cell_scale_a = 0, cell_scale_b = 0;  // peephole
  // bias - input_zp * row sums of the input weights; -output_state_zp * row
  // sums of the recurrent weights.
  std::vector<int32_t> input_effective_bias;
  std::vector<int32_t> recurrent_effective_bias;
};

// What PrepareUnidirectionalSequenceLstm derives once from the constant
// tensors and quantization (TFLite's Prepare). Data pointers are not kept.
struct LstmPlan {
  bool integer = false;
  int max_time = 0, n_batch = 0, n_input = 0, n_cell = 0, n_output = 0;
  bool use_cifg = false, use_peephole = false, use_projection = false, use_layer_norm = false;
  LstmOptions options;
  // int8 only. Gates in the order input, forget, cell, output.
  std::array<LstmIntegerGate, 4> gates;
  int32_t hidden_scale_a = 0, hidden_scale_b = 0, hidden_zp = 0;
  int32_t proj_scale_a = 0, proj_scale_b = 0;
  std::vector<int32_t> projection_effective_bias;
  int32_t cell_scale_log2 = 0;  // cell state scale is 2^cell_scale_log2
  int16_t quantized_cell_clip = 0;
  int8_t quantized_proj_clip = 0;
  int32_t output_state_zp = 0;
  // gemmlowp's int16 sigmoid/tanh of the Q3.12 gates and tanh of the cell
  // state, as lookup tables (process-wide, engine/kernels/fixed_point_int16.h).
  const int16_t* gate_sigmoid = nullptr;
  const int16_t* gate_tanh = nullptr;
  const int16_t* cell_tanh = nullptr;
};

// `inputs` has lstm_input::kCount (or 20) entries, nullptr for omitted optional
// inputs; `intermediates` are the operator's intermediate tensors (int8 needs
// 5: their quantization carries the hidden state's scale).
Result<LstmPlan> PrepareUnidirectionalSequenceLstm(std::span<const TensorView* const> inputs,
                                                   std::span<const TensorView* const> intermediates,
                                                   const LstmOptions& options, const TensorView& output);

// Working memory the kernel needs for `plan`.
size_t UnidirectionalSequenceLstmScratchBytes(const LstmPlan& plan);

// Runs the whole sequence, updating the output and cell state tensors in place.
Status UnidirectionalSequenceLstm(const LstmPlan& plan, std::span<const TensorView* const> inputs,
                                  const TensorView& output, std::span<std::byte> scratch);

}  // namespace edgepipe::engine::kernels
