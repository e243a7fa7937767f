// What the quantizer did, as JSON: per op the action taken (and why an op was
// left in float), per tensor the range and parameters chosen; and the error of
// a quantized model against its float original on sample inputs.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "engine/model.h"
#include "quantize/calibration.h"
#include "quantize/weights.h"

namespace edgepipe::quantize {

class Report {
 public:
  void Op(int index, const std::string& name, const std::string& action, const std::string& why = "");
  void Tensor(const std::string& name, const std::string& type, const Range* range, const AffineParams& params);
  void Weight(const std::string& name, const std::string& type, size_t channels, float max_scale);
  size_t ops_in_float() const { return ops_in_float_; }
  nlohmann::json ToJson() const;

 private:
  nlohmann::json ops_ = nlohmann::json::array();
  nlohmann::json tensors_ = nlohmann::json::array();
  nlohmann::json weights_ = nlohmann::json::array();
  size_t ops_in_float_ = 0;
};

// Runs both models on every sample and returns per output (by the quantized
// model's output order) max and mean absolute error and SQNR in dB of the
// quantized model's dequantized outputs against the float model's. Samples
// are float; a quantized input gets them quantized with its parameters.
Result<nlohmann::json> CompareOutputs(std::shared_ptr<const engine::Model> float_model,
                                      std::shared_ptr<const engine::Model> quantized_model,
                                      const std::vector<Sample>& samples, int num_threads = 1);

}  // namespace edgepipe::quantize
