#include "tools/bench_inputs.h"

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "tools/image_input.h"

namespace edgepipe::tools {

using engine::DType;
using engine::TensorView;

Result<std::vector<std::string>> ListImages(const std::string& dir) {
  static const std::set<std::string> kExtensions = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm"};
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (entry.is_regular_file() && kExtensions.count(ext)) paths.push_back(entry.path().string());
  }
  if (ec) return NotFoundError("cannot list directory '{}': {}", dir, ec.message());
  std::sort(paths.begin(), paths.end());
  return paths;
}

Result<BenchInputs> BenchInputs::Load(const std::string& spec) {
  BenchInputs inputs;
  if (spec == "random") return inputs;
  if (std::filesystem::is_directory(spec)) {
    EP_ASSIGN_OR_RETURN(inputs.paths_, ListImages(spec));
    if (inputs.paths_.empty()) return NotFoundError("--input: directory '{}' holds no image files", spec);
  } else {
    inputs.paths_ = {spec};
  }
  for (const std::string& path : inputs.paths_) {
    cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
    if (image.empty()) return NotFoundError("--input: cannot read image '{}'", path);
    inputs.images_.push_back(std::move(image));
  }
  return inputs;
}

namespace {

Status FillAll(engine::Interpreter& interpreter, const cv::Mat* bgr) {
  std::mt19937 rng(1);
  for (size_t i = 0; i < interpreter.num_inputs(); ++i) {
    TensorView& t = interpreter.input(i);
    const bool pixel_dtype = t.dtype == DType::kUInt8 || t.dtype == DType::kInt8 || t.dtype == DType::kFloat32;
    if (bgr && IsImageInput(t) && pixel_dtype) {
      EP_RETURN_IF_ERROR(FillImageInput(*bgr, 127.5f, 127.5f, t));
      continue;
    }
    if (t.dtype == DType::kFloat32) {
      std::uniform_real_distribution<float> dist(-1.f, 1.f);
      for (size_t k = 0; k < t.num_elements(); ++k) t.as<float>()[k] = dist(rng);
    } else {
      auto* bytes = static_cast<uint8_t*>(t.data);
      for (size_t k = 0; k < t.num_bytes(); ++k) bytes[k] = static_cast<uint8_t>(rng());
    }
  }
  return OkStatus();
}

}  // namespace

Status FillWithImage(engine::Interpreter& interpreter, const cv::Mat& bgr) { return FillAll(interpreter, &bgr); }

Status BenchInputs::Fill(engine::Interpreter& interpreter, size_t run) const {
  return FillAll(interpreter, random() ? nullptr : &image(run));
}

}  // namespace edgepipe::tools
