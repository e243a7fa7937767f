#include "quantize/quantizer.h"

#include "quantize/model_edit.h"
#include "quantize/passes.h"
#include "quantize/report.h"

namespace edgepipe::quantize {

Result<Mode> ParseMode(const std::string& name) {
  if (name == "dynamic") return Mode::kDynamic;
  if (name == "fp16") return Mode::kFloat16;
  if (name == "int8") return Mode::kInt8;
  if (name == "full-int8") return Mode::kFullInt8;
  return InvalidArgumentError("unknown mode '{}' (dynamic, fp16, int8, full-int8)", name);
}

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kDynamic: return "dynamic";
    case Mode::kFloat16: return "fp16";
    case Mode::kInt8: return "int8";
    case Mode::kFullInt8: return "full-int8";
  }
  return "?";
}

Result<QuantizeOutput> Quantize(std::vector<uint8_t> float_model, const std::string& source,
                                const QuantizeOptions& options, const std::vector<Sample>& samples,
                                const Progress& progress) {
  const size_t size_before = float_model.size();
  // Every mode starts from plain float32 constants.
  EP_ASSIGN_OR_RETURN(auto normalized, EditableModel::Read(std::move(float_model), source));
  EP_ASSIGN_OR_RETURN(const int folded, FoldConstantDequantize(*normalized));
  const bool int8 = options.mode == Mode::kInt8 || options.mode == Mode::kFullInt8;
  const int fused = int8 ? FuseActivations(*normalized) : 0;
  int equalized = 0;
  if (int8 && options.equalize) {
    EP_ASSIGN_OR_RETURN(equalized, EqualizeCrossLayer(*normalized, samples, options.calibration.num_threads));
  }
  std::vector<uint8_t> plain = normalized->Finish();

  Report report;
  EP_ASSIGN_OR_RETURN(auto model, EditableModel::Read(plain, source));
  std::map<int, Range> ranges;
  int corrected = 0;
  switch (options.mode) {
    case Mode::kFloat16: EP_RETURN_IF_ERROR(ConvertWeightsToFloat16(*model, report)); break;
    case Mode::kDynamic:
      EP_RETURN_IF_ERROR(QuantizeWeightsOnly(*model, options.dynamic_min_elements, options.per_tensor, report));
      break;
    case Mode::kInt8:
    case Mode::kFullInt8: {
      EP_ASSIGN_OR_RETURN(auto loaded, engine::Model::FromBuffer(plain));
      EP_ASSIGN_OR_RETURN(ranges, Calibrate(loaded, samples, options.calibration, progress));
      EP_RETURN_IF_ERROR(QuantizeActivations(*model, ranges, options, report));
      if (options.bias_correction) {
        EP_ASSIGN_OR_RETURN(corrected, CorrectBiases(*model, plain, samples, options.calibration.num_threads));
      }
      break;
    }
  }
  QuantizeOutput out;
  out.model = model->Finish();
  out.report = report.ToJson();
  out.report["mode"] = ModeName(options.mode);
  out.report["source"] = source;
  out.report["size_before"] = size_before;
  out.report["size_after"] = out.model.size();
  out.report["float16_dequantize_folded"] = folded;
  out.report["activations_fused"] = fused;
  if (options.bias_correction) out.report["biases_corrected"] = corrected;
  if (options.equalize) out.report["pairs_equalized"] = equalized;
  if (options.mode == Mode::kInt8 || options.mode == Mode::kFullInt8) {
    out.report["calibration"] = {{"calibrator", CalibratorName(options.calibration.calibrator)},
                                 {"samples", samples.size()}};
    if (options.mode == Mode::kFullInt8) out.report["io"] = options.io_unsigned ? "uint8" : "int8";
  }
  out.report["per_tensor"] = options.per_tensor;
  return out;
}

}  // namespace edgepipe::quantize
