// Calibration: runs the float model over sample inputs and observes every
// float activation tensor, then picks each one's range.
//   minmax      the global min and max seen (TF's legacy calibrator)
//   percentile  the central `percentile` % of all values seen (clips outliers)
//   mse         the clipped range whose int8 rounding + clipping error over
//               the observed histogram is least
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model.h"

namespace edgepipe::quantize {

// One calibration sample: the float32 values of each model input, in order.
using Sample = std::vector<std::vector<float>>;

enum class Calibrator { kMinMax, kPercentile, kMse };
Result<Calibrator> ParseCalibrator(const std::string& name);
const char* CalibratorName(Calibrator calibrator);

struct Range {
  float min = 0.0f;
  float max = 0.0f;
};

struct CalibrationOptions {
  Calibrator calibrator = Calibrator::kMinMax;
  double percentile = 99.99;
  int num_threads = 1;
};

// Called after each sample with (samples done, samples in the pass, pass name).
using Progress = std::function<void(size_t, size_t, const char*)>;

// Runs `model` on every sample (once, or twice for the histogram calibrators)
// and returns the chosen range of every non-constant float32 tensor, by index.
Result<std::map<int, Range>> Calibrate(std::shared_ptr<const engine::Model> model, const std::vector<Sample>& samples,
                                       const CalibrationOptions& options, const Progress& progress = {});


}  // namespace edgepipe::quantize
