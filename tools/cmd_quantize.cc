// `edgepipe quantize FLOAT.tflite -o OUT.tflite --mode dynamic|fp16|int8|full-int8
//      [--calibration DIR|VIDEO|IMAGE] [--samples N] [--io int8|uint8] [--per-tensor]
//      [--calibrator minmax|percentile|mse] [--skip OP_OR_TENSOR...] [--report FILE.json] [--compare]
//      [--letterbox] [--equalize] [--bias-correction] [--mean M --std S]`:
// post-training quantization of a float model (quantize/quantizer.h).
// Calibration images are preprocessed as `infer` does: resized to the input's
// H x W (after padding to its aspect ratio with --letterbox), RGB,
// (pixel - mean) / std; without --calibration, random pixels.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "engine/model.h"
#include "quantize/quantizer.h"
#include "quantize/report.h"
#include "tools/commands.h"
#include "tools/image_input.h"

namespace edgepipe::tools {
namespace {

namespace fs = std::filesystem;
using quantize::Sample;

struct QuantizeCliOptions {
  std::string model;
  std::string output;
  std::string mode = "int8";
  std::string calibration;
  size_t samples = 100;
  std::string io = "int8";
  bool per_tensor = false;
  std::string calibrator = "minmax";
  double percentile = 99.99;
  std::vector<std::string> skip;
  std::string report;
  bool compare = false;
  int threads = 1;
  float mean = 127.5f;
  float std = 127.5f;
  unsigned seed = 1;
  bool letterbox = false;
  bool bias_correction = false;
  bool equalize = false;
};

// The frame padded with black to the input's aspect ratio, centred (as the
// detection graphs' ImageToTensor does with keep_aspect_ratio).
cv::Mat Letterbox(const cv::Mat& frame, int height, int width) {
  const double target = static_cast<double>(width) / height;
  const double aspect = static_cast<double>(frame.cols) / frame.rows;
  int pad_x = 0, pad_y = 0;
  if (aspect > target) pad_y = static_cast<int>(frame.cols / target) - frame.rows;
  else pad_x = static_cast<int>(frame.rows * target) - frame.cols;
  cv::Mat out;
  cv::copyMakeBorder(frame, out, pad_y / 2, pad_y - pad_y / 2, pad_x / 2, pad_x - pad_x / 2, cv::BORDER_CONSTANT,
                     cv::Scalar(0, 0, 0));
  return out;
}

// A picture of one colour (a video's black lead-in frame): no model sees such
// input in use, and it can drive activations far past every real frame's
// (BlazeFace's last block reaches 288 on Megamind.avi's black frame 0, 5 on
// any other), which would set those tensors' int8 ranges.
bool IsBlank(const cv::Mat& image) {
  double lo = 0, hi = 0;
  cv::minMaxLoc(image.reshape(1), &lo, &hi);
  return lo == hi;
}

// Up to `n` frames of the calibration source: a folder of images (sorted by
// name), one image, or a video (frames spread evenly over its length). Blank
// frames are left out (IsBlank).
Result<std::vector<cv::Mat>> ReadFrames(const std::string& path, size_t n) {
  std::vector<cv::Mat> frames;
  if (fs::is_directory(path)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      if (frames.size() >= n) break;
      cv::Mat image = cv::imread(f.string(), cv::IMREAD_COLOR);
      if (!image.empty() && !IsBlank(image)) frames.push_back(std::move(image));
    }
  } else if (cv::Mat image = cv::imread(path, cv::IMREAD_COLOR); !image.empty()) {
    frames.push_back(std::move(image));
  } else {
    cv::VideoCapture video(path);
    if (!video.isOpened()) return NotFoundError("calibration source '{}' is not a folder, an image or a video", path);
    const double count = video.get(cv::CAP_PROP_FRAME_COUNT);
    const size_t stride = count > static_cast<double>(n) ? static_cast<size_t>(count / static_cast<double>(n)) : 1;
    cv::Mat frame;
    for (size_t i = 0, due = 0; frames.size() < n && video.read(frame); ++i) {
      if (i < due || IsBlank(frame)) continue;  // a blank frame: the next one instead
      frames.push_back(frame.clone());
      due = i + stride;
    }
  }
  if (frames.empty()) return NotFoundError("no images (other than blank ones) could be read from '{}'", path);
  return frames;
}

// One float sample per frame for each model input ([1, H, W, 3 or 1] inputs only).
Result<std::vector<Sample>> MakeSamples(const engine::Model& model, const QuantizeCliOptions& o) {
  std::vector<cv::Mat> frames;
  if (!o.calibration.empty()) {
    EP_ASSIGN_OR_RETURN(frames, ReadFrames(o.calibration, o.samples));
  } else {
    std::mt19937 rng(o.seed);
    std::uniform_int_distribution<int> pixel(0, 255);
    for (size_t i = 0; i < o.samples; ++i) {
      cv::Mat image(64, 64, CV_8UC3);
      for (auto it = image.begin<cv::Vec3b>(); it != image.end<cv::Vec3b>(); ++it)
        *it = cv::Vec3b(static_cast<uint8_t>(pixel(rng)), static_cast<uint8_t>(pixel(rng)), static_cast<uint8_t>(pixel(rng)));
      frames.push_back(image);
    }
  }
  std::vector<Sample> samples;
  for (const cv::Mat& frame : frames) {
    Sample sample;
    for (int index : model.inputs()) {
      const engine::TensorInfo& info = model.tensors()[static_cast<size_t>(index)];
      engine::TensorView view = info.View();
      if (view.dtype != engine::DType::kFloat32 || !IsImageInput(view))
        return UnimplementedError("input '{}' is {} {}; calibration fills float [1, H, W, 3 or 1] image inputs", info.name,
                                  engine::DTypeName(view.dtype), fmt::join(info.shape, "x"));
      std::vector<float> values(view.num_elements());
      view.data = values.data();
      const cv::Mat image = o.letterbox ? Letterbox(frame, view.shape[1], view.shape[2]) : frame;
      EP_RETURN_IF_ERROR(FillImageInput(image, o.mean, o.std, view));
      sample.push_back(std::move(values));
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

void PrintProgress(size_t done, size_t total, const char* pass) {
  constexpr size_t kWidth = 30;
  const size_t filled = total ? done * kWidth / total : kWidth;
  fmt::print(stderr, "\rcalibrating ({:10}) [{}{}] {}/{}", pass, std::string(filled, '#'),
             std::string(kWidth - filled, ' '), done, total);
  if (done == total) fmt::print(stderr, "\n");
}

Status RunQuantize(const QuantizeCliOptions& o) {
  quantize::QuantizeOptions options;
  EP_ASSIGN_OR_RETURN(options.mode, quantize::ParseMode(o.mode));
  EP_ASSIGN_OR_RETURN(options.calibration.calibrator, quantize::ParseCalibrator(o.calibrator));
  if (o.io != "int8" && o.io != "uint8") return InvalidArgumentError("--io must be int8 or uint8, not '{}'", o.io);
  options.io_unsigned = o.io == "uint8";
  options.per_tensor = o.per_tensor;
  options.bias_correction = o.bias_correction;
  options.equalize = o.equalize;
  options.skip = o.skip;
  options.calibration.percentile = o.percentile;
  options.calibration.num_threads = o.threads;

  std::ifstream in(o.model, std::ios::binary);
  if (!in) return NotFoundError("cannot read '{}'", o.model);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EP_ASSIGN_OR_RETURN(auto float_model, engine::Model::FromBuffer(bytes));

  const bool calibrated = options.mode == quantize::Mode::kInt8 || options.mode == quantize::Mode::kFullInt8;
  std::vector<Sample> samples;
  if (calibrated || o.compare) {
    EP_ASSIGN_OR_RETURN(samples, MakeSamples(*float_model, o));
  }
  EP_ASSIGN_OR_RETURN(quantize::QuantizeOutput out,
                      quantize::Quantize(std::move(bytes), o.model, options, samples, PrintProgress));
  if (!calibrated) out.report.erase("activations");
  if (!o.calibration.empty()) out.report["calibration_source"] = o.calibration;

  std::ofstream file(o.output, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(out.model.data()), static_cast<std::streamsize>(out.model.size()));
  if (!file) return InternalError("cannot write '{}'", o.output);
  file.close();
  fmt::print("{} -> {} ({}): {} -> {} bytes, {} ops left in float\n", o.model, o.output, o.mode,
             out.report["size_before"].get<size_t>(), out.model.size(), out.report["ops_in_float"].get<size_t>());

  if (o.compare) {
    EP_ASSIGN_OR_RETURN(auto quantized_model, engine::Model::Load(o.output));
    EP_ASSIGN_OR_RETURN(out.report["compare"],
                        quantize::CompareOutputs(float_model, quantized_model, samples, o.threads));
    for (const auto& c : out.report["compare"])
      fmt::print("  {}: max abs {:.6g}, mean abs {:.6g}, SQNR {} dB\n", c["output"].get<std::string>(),
                 c["max_abs"].get<double>(), c["mean_abs"].get<double>(),
                 c["sqnr_db"].is_null() ? std::string("inf") : fmt::format("{:.1f}", c["sqnr_db"].get<double>()));
  }
  if (!o.report.empty()) {
    std::ofstream report(o.report, std::ios::trunc);
    report << out.report.dump(2) << "\n";
    if (!report) return InternalError("cannot write '{}'", o.report);
  }
  return OkStatus();
}

}  // namespace

void AddQuantizeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "Post-training quantization of a float .tflite model");
  static QuantizeCliOptions o;
  cmd->add_option("model", o.model, "Float .tflite model")->required();
  cmd->add_option("-o,--output", o.output, "Where to write the quantized .tflite")->required();
  cmd->add_option("--mode", o.mode, "dynamic | fp16 | int8 | full-int8 (default int8)");
  cmd->add_option("--calibration", o.calibration, "Folder of images, an image or a video (default: random pixels)");
  cmd->add_option("--samples", o.samples, "Calibration samples (default 100)")->check(CLI::PositiveNumber);
  cmd->add_option("--io", o.io, "full-int8: input/output type, int8 or uint8 (default int8)");
  cmd->add_flag("--per-tensor", o.per_tensor, "One scale per weight tensor instead of per channel");
  cmd->add_option("--calibrator", o.calibrator, "minmax | percentile | mse (default minmax)");
  cmd->add_option("--percentile", o.percentile, "percentile calibrator: central % kept (default 99.99)");
  cmd->add_option("--skip", o.skip, "Ops to keep in float: op name (SOFTMAX), index (#12) or output tensor name");
  cmd->add_option("--report", o.report, "Write the report (sizes, per-op actions, ranges, scales) as JSON");
  cmd->add_flag("--compare", o.compare, "Also compare the quantized model's outputs with the float model's");
  cmd->add_option("--threads", o.threads, "Threads for calibration and --compare")->check(CLI::PositiveNumber);
  cmd->add_option("--mean", o.mean, "Float inputs: (pixel - mean) / std (default 127.5)");
  cmd->add_option("--std", o.std, "Float inputs: (pixel - mean) / std (default 127.5)");
  cmd->add_option("--seed", o.seed, "Seed of the random calibration pixels");
  cmd->add_flag("--bias-correction", o.bias_correction,
                "int8 modes: subtract each conv channel's mean output shift (measured on the calibration data)");
  cmd->add_flag("--equalize", o.equalize,
                "int8 modes: cross-layer equalization of consecutive conv/depthwise/FC channel ranges first");
  cmd->add_flag("--letterbox", o.letterbox, "Pad calibration images to the input's aspect ratio before resizing");
  cmd->callback([] {
    Status s = RunQuantize(o);
    if (!s.ok()) {
      fmt::print(stderr, "error: {}\n", s.ToString());
      ExitCode() = 1;
    }
  });
}

}  // namespace edgepipe::tools
