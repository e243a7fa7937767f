// The inputs `edgepipe bench` feeds a model: random values, one image, or a
// folder of images taken in turn (run i gets image i mod N), each decoded once.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/status.h"
#include "engine/interpreter.h"

namespace edgepipe::tools {

// The image files directly in `dir` that OpenCV can decode (by extension), sorted by name.
Result<std::vector<std::string>> ListImages(const std::string& dir);

class BenchInputs {
 public:
  // "random", an image file or a directory of images (--input).
  static Result<BenchInputs> Load(const std::string& spec);

  bool random() const { return images_.empty(); }
  size_t num_images() const { return images_.size(); }
  const std::vector<std::string>& paths() const { return paths_; }
  const cv::Mat& image(size_t i) const { return images_[i % images_.size()]; }

  // Fills every input of `interpreter` for run `run`: [1,H,W,3] inputs get
  // image `run` mod N (float as (pixel - 127.5) / 127.5, as `infer` does);
  // other inputs, and all of them for "random", get seeded random bytes
  // (quantized) or values in [-1, 1] (float).
  Status Fill(engine::Interpreter& interpreter, size_t run) const;

 private:
  std::vector<std::string> paths_;
  std::vector<cv::Mat> images_;
};

// Fills every [1,H,W,3] input with `bgr` and the others with seeded random values.
Status FillWithImage(engine::Interpreter& interpreter, const cv::Mat& bgr);

}  // namespace edgepipe::tools
