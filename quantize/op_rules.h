// Per-operator rules of TFLite's 8-bit quantization specification: which
// inputs are activations, weights or biases, how the output's scale is chosen
// and the op version that declares int8 support.
//   https://ai.google.dev/edge/litert/models/quantization_spec
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quantize/weights.h"

namespace edgepipe::quantize {

enum class InputRole : uint8_t {
  kActivation,       // int8 per-tensor (constant ones quantized from their values)
  kFilter,           // constant int8 symmetric weights, per-channel along OpRule::filter_axis
  kBias,             // constant int32, scale = input scale x filter scale
  kLeaveAlone,       // shapes, paddings, axes: non-float inputs kept as they are
};

enum class OutputScale : uint8_t {
  kCalibrated,   // the observed range of the output
  kSameAsInput,  // input 0's parameters (pooling, reshape, pad, resize, relu)
  kFixed,        // the spec's fixed parameters (softmax, logistic, tanh)
};

struct OpRule {
  int32_t code = 0;
  int32_t int8_version = 1;
  std::vector<InputRole> inputs;  // by input position; positions past the end are kActivation
  OutputScale output = OutputScale::kCalibrated;
  AffineParams fixed;            // for kFixed
  int filter_axis = 0;           // for kFilter
  bool per_channel = true;       // kFilter quantized per channel (false: the spec's per-tensor FC)
};

// The rule for a builtin code, or nullptr when the op is not quantized (it
// stays float between a DEQUANTIZE and a QUANTIZE).
const OpRule* FindRule(int32_t builtin_code);

InputRole RoleOf(const OpRule& rule, size_t input);

}  // namespace edgepipe::quantize
