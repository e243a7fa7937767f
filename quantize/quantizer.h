// Post-training quantization of float .tflite models, without TensorFlow.
//
//   dynamic    int8 symmetric weights for float constants of >= 1024 elements,
//              each behind a DEQUANTIZE (every consumer then runs in float)
//   fp16       every float constant as float16 behind a DEQUANTIZE
//   int8       calibrated int8 activations, per-channel int8 weights, int32
//              biases; float input and output through QUANTIZE/DEQUANTIZE;
//              ops without an int8 rule stay float between DEQUANTIZE/QUANTIZE
//   full-int8  int8 (or uint8) input and output too; any op that cannot be
//              quantized is an error naming it
//
// Float16 weights behind DEQUANTIZE in the input (MediaPipe's models) are
// folded into float32 first. The result is an ordinary TFLite FlatBuffer
// ("TFL3") that LiteRT loads as well as edgepipe's engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "quantize/calibration.h"

namespace edgepipe::quantize {

enum class Mode { kDynamic, kFloat16, kInt8, kFullInt8 };
Result<Mode> ParseMode(const std::string& name);
const char* ModeName(Mode mode);

struct QuantizeOptions {
  Mode mode = Mode::kInt8;
  bool io_unsigned = false;  // full-int8: uint8 input and output instead of int8
  bool per_tensor = false;   // one scale per weight tensor instead of per channel
  // Ops to leave in float: an op name ("SOFTMAX"), an op index ("#12") or the
  // name of one of the op's output tensors.
  std::vector<std::string> skip;
  size_t dynamic_min_elements = 1024;
  bool equalize = false;         // int8 modes: cross-layer equalization first (equalize.cc)
  bool bias_correction = false;  // int8 modes: empirical bias correction (bias_correction.cc)
  CalibrationOptions calibration;
};

struct QuantizeOutput {
  std::vector<uint8_t> model;  // the .tflite bytes
  nlohmann::json report;       // sizes, per-op actions, per-tensor ranges and scales
};

// `samples` feed calibration (int8 and full-int8 modes; ignored otherwise).
Result<QuantizeOutput> Quantize(std::vector<uint8_t> float_model, const std::string& source,
                                const QuantizeOptions& options, const std::vector<Sample>& samples,
                                const Progress& progress = {});

}  // namespace edgepipe::quantize
