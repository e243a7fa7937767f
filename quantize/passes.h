// The rewrite passes behind quantizer.h, each over an EditableModel.
#pragma once

#include <map>

#include "quantize/calibration.h"
#include "quantize/model_edit.h"
#include "quantize/quantizer.h"
#include "quantize/report.h"

namespace edgepipe::quantize {

// DEQUANTIZE ops whose input is a float16 (or int8) constant become float32
// constants; returns how many were folded.
Result<int> FoldConstantDequantize(EditableModel& model);

// Standalone RELU / RELU6 / RELU_N1_TO_1 ops become the fused activation of
// the op producing their input (as the engine does at load time), so that the
// int8 output covers the activated range; returns how many were fused.
int FuseActivations(EditableModel& model);

// fp16 mode: every float32 constant stored as float16 behind a DEQUANTIZE.
Status ConvertWeightsToFloat16(EditableModel& model, Report& report);

// dynamic mode: float32 constants with >= min_elements values stored as int8
// symmetric (per channel along the consumer's filter axis unless per_tensor),
// as TFLite lays them out: FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D take
// them as hybrid ops (float activations, int8 weights); other consumers read
// them through a DEQUANTIZE. Biases stay float.
Status QuantizeWeightsOnly(EditableModel& model, size_t min_elements, bool per_tensor, Report& report);

// Cross-layer equalization (equalize.cc) of consecutive conv / depthwise / FC
// pairs of the float model; per-channel ranges from `samples` (activations)
// or, without samples, from the producer's weights. Returns the pairs rescaled.
Result<int> EqualizeCrossLayer(EditableModel& model, const std::vector<Sample>& samples, int num_threads);

// int8 and full-int8 modes, with the calibrated ranges of the float tensors.
Status QuantizeActivations(EditableModel& model, const std::map<int, Range>& ranges, const QuantizeOptions& options,
                           Report& report);

// After QuantizeActivations: subtracts from each CONV_2D / DEPTHWISE_CONV_2D
// bias (ops without a fused activation) the mean shift of its output channel
// against `float_model` over `samples`; returns how many ops were corrected.
Result<int> CorrectBiases(EditableModel& quantized, const std::vector<uint8_t>& float_model,
                          const std::vector<Sample>& samples, int num_threads);

// Versions of the DEQUANTIZE op for its input type (TFLite's op_version.cc).
inline constexpr int32_t kDequantizeInt8Version = 2;
inline constexpr int32_t kDequantizeFloat16Version = 3;
inline constexpr int32_t kDequantizePerChannelVersion = 5;
// Versions of the hybrid ops (TFLite's op_version.cc): FULLY_CONNECTED with
// asymmetric_quantize_inputs, and with per-channel weights; CONV_2D and
// DEPTHWISE_CONV_2D with int8 weights and float activations.
inline constexpr int32_t kHybridFullyConnectedAsymmetricVersion = 9;
inline constexpr int32_t kHybridFullyConnectedPerChannelVersion = 12;
inline constexpr int32_t kHybridConvVersion = 5;  // what TensorFlow 2.21 writes for per-channel weights
inline constexpr int32_t kHybridDepthwiseVersion = 6;

}  // namespace edgepipe::quantize
