#include "quantize/report.h"

#include <cmath>
#include <cstring>

#include "engine/interpreter.h"

namespace edgepipe::quantize {

using nlohmann::json;

void Report::Op(int index, const std::string& name, const std::string& action, const std::string& why) {
  json op = {{"index", index}, {"op", name}, {"action", action}};
  if (!why.empty()) op["why"] = why;
  if (action == "float") ++ops_in_float_;
  ops_.push_back(std::move(op));
}

void Report::Tensor(const std::string& name, const std::string& type, const Range* range, const AffineParams& p) {
  json t = {{"name", name}, {"type", type}, {"scale", p.scale}, {"zero_point", p.zero_point}};
  if (range != nullptr) t["range"] = {range->min, range->max};
  tensors_.push_back(std::move(t));
}

void Report::Weight(const std::string& name, const std::string& type, size_t channels, float max_scale) {
  json w = {{"name", name}, {"type", type}, {"channels", channels}};
  if (max_scale > 0.0f) w["max_scale"] = max_scale;
  weights_.push_back(std::move(w));
}

json Report::ToJson() const {
  return {{"ops", ops_}, {"activations", tensors_}, {"weights", weights_}, {"ops_in_float", ops_in_float_}};
}

namespace {

// Writes float values into an input of any dtype the quantizer produces.
Status SetInput(engine::TensorView& in, const std::vector<float>& values) {
  if (in.num_elements() != values.size())
    return InvalidArgumentError("input '{}' has {} values; the sample has {}", in.name, in.num_elements(), values.size());
  if (in.dtype == engine::DType::kFloat32) {
    std::memcpy(in.data, values.data(), in.num_bytes());
    return OkStatus();
  }
  if (in.quant.scale.empty()) return InvalidArgumentError("input '{}' has no quantization", in.name);
  const float scale = in.quant.scale[0];
  const float zp = in.quant.zero_point.empty() ? 0.0f : static_cast<float>(in.quant.zero_point[0]);
  for (size_t i = 0; i < values.size(); ++i) {
    const float q = std::round(values[i] / scale) + zp;
    if (in.dtype == engine::DType::kInt8) in.as<int8_t>()[i] = static_cast<int8_t>(std::clamp(q, -128.0f, 127.0f));
    else if (in.dtype == engine::DType::kUInt8) in.as<uint8_t>()[i] = static_cast<uint8_t>(std::clamp(q, 0.0f, 255.0f));
    else return UnimplementedError("input '{}' is {}", in.name, engine::DTypeName(in.dtype));
  }
  return OkStatus();
}

Result<std::vector<double>> RealValues(const engine::TensorView& t) {
  std::vector<double> v(t.num_elements());
  const float scale = t.quant.scale.empty() ? 1.0f : t.quant.scale[0];
  const double zp = t.quant.zero_point.empty() ? 0.0 : static_cast<double>(t.quant.zero_point[0]);
  for (size_t i = 0; i < v.size(); ++i) {
    switch (t.dtype) {
      case engine::DType::kFloat32: v[i] = t.as<const float>()[i]; break;
      case engine::DType::kInt8: v[i] = scale * (t.as<const int8_t>()[i] - zp); break;
      case engine::DType::kUInt8: v[i] = scale * (t.as<const uint8_t>()[i] - zp); break;
      default: return UnimplementedError("output '{}' is {}", t.name, engine::DTypeName(t.dtype));
    }
  }
  return v;
}

struct ErrorStats {
  double max_abs = 0, sum_abs = 0, signal = 0, noise = 0;
  size_t count = 0;
};

}  // namespace

Result<json> CompareOutputs(std::shared_ptr<const engine::Model> float_model,
                            std::shared_ptr<const engine::Model> quantized_model, const std::vector<Sample>& samples,
                            int num_threads) {
  EP_ASSIGN_OR_RETURN(auto reference, engine::Interpreter::Create(float_model, {.num_threads = num_threads}));
  EP_ASSIGN_OR_RETURN(auto quantized, engine::Interpreter::Create(quantized_model, {.num_threads = num_threads}));
  if (reference->num_outputs() != quantized->num_outputs() || reference->num_inputs() != quantized->num_inputs())
    return InvalidArgumentError("the models have different inputs or outputs");
  std::vector<ErrorStats> stats(quantized->num_outputs());
  for (const Sample& sample : samples) {
    if (sample.size() != reference->num_inputs()) return InvalidArgumentError("a sample has the wrong input count");
    for (size_t i = 0; i < sample.size(); ++i) {
      EP_RETURN_IF_ERROR(SetInput(reference->input(i), sample[i]));
      EP_RETURN_IF_ERROR(SetInput(quantized->input(i), sample[i]));
    }
    EP_RETURN_IF_ERROR(reference->Invoke());
    EP_RETURN_IF_ERROR(quantized->Invoke());
    for (size_t o = 0; o < stats.size(); ++o) {
      EP_ASSIGN_OR_RETURN(const auto want, RealValues(reference->output(o)));
      EP_ASSIGN_OR_RETURN(const auto got, RealValues(quantized->output(o)));
      if (want.size() != got.size()) return InvalidArgumentError("output {} sizes differ", o);
      ErrorStats& s = stats[o];
      for (size_t k = 0; k < want.size(); ++k) {
        const double e = std::fabs(got[k] - want[k]);
        s.max_abs = std::max(s.max_abs, e);
        s.sum_abs += e;
        s.signal += want[k] * want[k];
        s.noise += e * e;
      }
      s.count += want.size();
    }
  }
  json out = json::array();
  for (size_t o = 0; o < stats.size(); ++o) {
    const ErrorStats& s = stats[o];
    json entry = {{"output", quantized->output(o).name},
                  {"max_abs", s.max_abs},
                  {"mean_abs", s.count ? s.sum_abs / static_cast<double>(s.count) : 0.0}};
    // SQNR is infinite for an exact match; JSON has no infinity, so null.
    if (s.noise > 0) entry["sqnr_db"] = 10.0 * std::log10(s.signal / s.noise);
    else entry["sqnr_db"] = nullptr;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace edgepipe::quantize
