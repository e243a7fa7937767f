#include "quantize/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/interpreter.h"

namespace edgepipe::quantize {
namespace {

constexpr size_t kBins = 2048;

struct Observed {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  std::vector<double> histogram;  // kBins over [min, max] of the first pass
};

Status FillInputs(engine::Interpreter& interpreter, const Sample& sample) {
  if (sample.size() != interpreter.num_inputs())
    return InvalidArgumentError("a calibration sample has {} inputs; the model has {}", sample.size(),
                                interpreter.num_inputs());
  for (size_t i = 0; i < sample.size(); ++i) {
    engine::TensorView& in = interpreter.input(i);
    if (in.dtype != engine::DType::kFloat32 || in.num_elements() != sample[i].size())
      return InvalidArgumentError("calibration input {} '{}' is {} with {} values; the sample has {} floats", i,
                                  in.name, engine::DTypeName(in.dtype), in.num_elements(), sample[i].size());
    std::memcpy(in.data, sample[i].data(), in.num_bytes());
  }
  return OkStatus();
}

// The non-constant float32 tensors the interpreter keeps.
std::vector<int> ObservedTensors(const engine::Model& model) {
  std::vector<int> out;
  for (const engine::TensorInfo& t : model.tensors())
    if (t.dtype == engine::DType::kFloat32 && !t.is_constant()) out.push_back(t.index);
  return out;
}

// Rounding + clipping error of quantizing the histogram into 256 levels over [lo, hi].
double QuantizationError(const Observed& o, float lo, float hi) {
  const double width = (static_cast<double>(o.max) - o.min) / kBins;
  const double step = (static_cast<double>(hi) - lo) / 255.0;
  if (step <= 0) return std::numeric_limits<double>::infinity();
  double error = 0.0;
  for (size_t b = 0; b < kBins; ++b) {
    if (o.histogram[b] == 0) continue;
    const double x = o.min + (b + 0.5) * width;
    const double clipped = std::clamp(x, static_cast<double>(lo), static_cast<double>(hi));
    const double q = lo + std::round((clipped - lo) / step) * step;
    error += o.histogram[b] * (x - q) * (x - q);
  }
  return error;
}

Range ChooseRange(const Observed& o, const CalibrationOptions& options) {
  if (options.calibrator == Calibrator::kMinMax || !(o.max > o.min)) return {o.min, o.max};
  const double width = (static_cast<double>(o.max) - o.min) / kBins;
  if (options.calibrator == Calibrator::kPercentile) {
    double total = 0;
    for (double c : o.histogram) total += c;
    const double tail = total * (100.0 - options.percentile) / 200.0;
    size_t lo = 0, hi = kBins - 1;
    for (double seen = 0; lo < kBins && seen + o.histogram[lo] <= tail; ++lo) seen += o.histogram[lo];
    for (double seen = 0; hi > lo && seen + o.histogram[hi] <= tail; --hi) seen += o.histogram[hi];
    return {static_cast<float>(o.min + lo * width), static_cast<float>(o.min + (hi + 1) * width)};
  }
  // MSE: shrink each end independently over a geometric grid (down to 0.2 %
  // of the observed extreme: long-tailed outputs such as detector logits need
  // it), keep the least error.
  Range best{o.min, o.max};
  double best_error = QuantizationError(o, o.min, o.max);
  constexpr int kSteps = 60;
  for (int a = 0; a <= kSteps; ++a) {
    for (int b = 0; b <= kSteps; ++b) {
      const float lo = o.min < 0 ? o.min * std::pow(0.9f, static_cast<float>(a)) : o.min;
      const float hi = o.max > 0 ? o.max * std::pow(0.9f, static_cast<float>(b)) : o.max;
      const double error = QuantizationError(o, std::min(lo, 0.0f), std::max(hi, 0.0f));
      if (error < best_error) best_error = error, best = {lo, hi};
      if (o.max <= 0) break;
    }
    if (o.min >= 0) break;
  }
  return best;
}

}  // namespace

Result<Calibrator> ParseCalibrator(const std::string& name) {
  if (name == "minmax") return Calibrator::kMinMax;
  if (name == "percentile") return Calibrator::kPercentile;
  if (name == "mse") return Calibrator::kMse;
  return InvalidArgumentError("unknown calibrator '{}' (minmax, percentile, mse)", name);
}

const char* CalibratorName(Calibrator calibrator) {
  switch (calibrator) {
    case Calibrator::kMinMax: return "minmax";
    case Calibrator::kPercentile: return "percentile";
    case Calibrator::kMse: return "mse";
  }
  return "?";
}

Result<std::map<int, Range>> Calibrate(std::shared_ptr<const engine::Model> model, const std::vector<Sample>& samples,
                                       const CalibrationOptions& options, const Progress& progress) {
  if (samples.empty()) return InvalidArgumentError("calibration needs at least one sample");
  const std::vector<int> tensors = ObservedTensors(*model);
  EP_ASSIGN_OR_RETURN(auto interpreter,
                      engine::Interpreter::Create(model, {.num_threads = options.num_threads, .preserve_all_tensors = true}));
  std::map<int, Observed> observed;
  const bool histogram = options.calibrator != Calibrator::kMinMax;
  for (int pass = 0; pass < (histogram ? 2 : 1); ++pass) {
    const char* name = pass == 0 ? "ranges" : "histograms";
    for (size_t s = 0; s < samples.size(); ++s) {
      EP_RETURN_IF_ERROR(FillInputs(*interpreter, samples[s]));
      EP_RETURN_IF_ERROR(interpreter->Invoke().WithContext(fmt::format("calibration sample {}", s)));
      for (int index : tensors) {
        const engine::TensorView* view = interpreter->tensor(index);
        if (view == nullptr || view->data == nullptr) continue;
        Observed& o = observed[index];
        const float* v = view->as<const float>();
        const size_t n = view->num_elements();
        if (pass == 0) {
          for (size_t i = 0; i < n; ++i) {
            if (!std::isfinite(v[i])) continue;
            o.min = std::min(o.min, v[i]);
            o.max = std::max(o.max, v[i]);
          }
          continue;
        }
        if (o.histogram.empty()) o.histogram.assign(kBins, 0.0);
        if (!(o.max > o.min)) continue;
        const double scale = kBins / (static_cast<double>(o.max) - o.min);
        for (size_t i = 0; i < n; ++i) {
          if (!std::isfinite(v[i])) continue;
          const auto bin = static_cast<size_t>(std::clamp((v[i] - o.min) * scale, 0.0, kBins - 1.0));
          o.histogram[bin] += 1.0;
        }
      }
      if (progress) progress(s + 1, samples.size(), name);
    }
  }
  std::map<int, Range> ranges;
  for (const auto& [index, o] : observed) {
    if (o.min > o.max) continue;  // never finite
    ranges[index] = ChooseRange(o, options);
  }
  return ranges;
}

}  // namespace edgepipe::quantize
