// `edgepipe infer MODEL (--input IMAGE | --input-raw FILE...) [--output-raw DIR]
//                       [--threads N] [--top K] [--labels FILE] [--json]`:
// run a model once on an image, or on tensors given as raw bytes, and print its
// outputs (top-K labels for classifiers), optionally also writing each output's
// raw bytes (how scripts/test-arm64.sh compares an arm64 build with LiteRT).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/file_access.h"
#include "engine/interpreter.h"
#include "engine/model.h"
#include "tools/commands.h"
#include "tools/engine_options.h"
#include "tools/image_input.h"
#include "tools/output_values.h"

namespace edgepipe::tools {
namespace {

using engine::DType;
using engine::TensorView;

struct InferOptions {
  std::string model;
  std::string input;
  std::vector<std::string> input_raw;  // one file per model input, in order
  std::string output_raw;              // directory for output_<i>.bin
  std::string labels;
  int threads = 1;
  EngineCliOptions engine;
  int top = 5;
  float mean = 127.5f;  // float inputs: (pixel - mean) / std
  float std = 127.5f;
  bool json = false;
};

// Other inputs (recurrent state, ...) start at real zero.
void FillZero(TensorView& t) {
  const bool q8 = (t.dtype == DType::kUInt8 || t.dtype == DType::kInt8) && !t.quant.zero_point.empty();
  std::memset(t.data, q8 ? static_cast<int>(t.quant.zero_point[0] & 0xff) : 0, t.num_bytes());
}

// An input from a file holding exactly its bytes (little-endian, row-major;
// NumPy's arr.tobytes()).
Status FillRaw(const std::string& path, TensorView& t) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open raw input file '{}' for input '{}'", path, t.name);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (bytes.size() != t.num_bytes())
    return InvalidArgumentError("raw input file '{}' has {} bytes; input '{}' ({}[{}]) needs {}", path, bytes.size(),
                                t.name, engine::DTypeName(t.dtype), fmt::join(t.shape, ","), t.num_bytes());
  std::memcpy(t.data, bytes.data(), bytes.size());
  return OkStatus();
}

Result<std::string> WriteRaw(const std::string& dir, size_t index, const TensorView& t) {
  const std::string path = (std::filesystem::path(dir) / fmt::format("output_{}.bin", index)).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(t.data), static_cast<std::streamsize>(t.num_bytes()));
  if (!out) return InternalError("cannot write output '{}' to '{}'", t.name, path);
  return path;
}

Status FillInputs(const InferOptions& o, engine::Interpreter& interpreter) {
  if (!o.input_raw.empty()) {
    if (o.input_raw.size() != interpreter.num_inputs())
      return InvalidArgumentError("model '{}' has {} inputs but {} --input-raw files were given", o.model,
                                  interpreter.num_inputs(), o.input_raw.size());
    for (size_t i = 0; i < interpreter.num_inputs(); ++i) EP_RETURN_IF_ERROR(FillRaw(o.input_raw[i], interpreter.input(i)));
    return OkStatus();
  }
  cv::Mat image = cv::imread(o.input, cv::IMREAD_COLOR);
  if (image.empty()) return NotFoundError("cannot read image '{}'", o.input);
  bool filled_image = false;
  for (size_t i = 0; i < interpreter.num_inputs(); ++i) {
    TensorView& t = interpreter.input(i);
    if (IsImageInput(t)) {
      EP_RETURN_IF_ERROR(FillImageInput(image, o.mean, o.std, t));
      filled_image = true;
    } else {
      FillZero(t);
    }
  }
  if (!filled_image) return InvalidArgumentError("model '{}' has no [1,H,W,3] image input", o.model);
  return OkStatus();
}

Result<std::vector<std::string>> ReadLabels(const std::string& path) {
  EP_RETURN_IF_ERROR(CheckReadableFile(path, "labels file"));  // a directory opens as an empty stream
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open labels file '{}'", path);
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  return labels;
}

Status RunInfer(const InferOptions& o) {
  EP_ASSIGN_OR_RETURN(auto model, engine::Model::Load(o.model));
  engine::InterpreterOptions options{.num_threads = o.threads};
  EP_RETURN_IF_ERROR(ApplyEngineOptions(o.engine, options));
  EP_ASSIGN_OR_RETURN(auto interpreter, engine::Interpreter::Create(model, options));
  EP_RETURN_IF_ERROR(FillInputs(o, *interpreter));
  std::vector<std::string> labels;
  if (!o.labels.empty()) {
    EP_ASSIGN_OR_RETURN(labels, ReadLabels(o.labels));
  }

  auto start = std::chrono::steady_clock::now();
  EP_RETURN_IF_ERROR(interpreter->Invoke());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  nlohmann::json j;
  j["model"] = o.model;
  if (o.input_raw.empty()) {
    j["input"] = o.input;
  } else {
    j["input_raw"] = o.input_raw;
  }
  j["threads"] = o.threads;
  j["invoke_ms"] = ms;
  if (!o.json)
    fmt::print("model: {}\ninput: {}\ninvoke: {:.2f} ms ({} threads)\n", o.model,
               o.input_raw.empty() ? o.input : fmt::format("{}", fmt::join(o.input_raw, " ")), ms, o.threads);
  if (!o.output_raw.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.output_raw, ec);
    if (ec) return InternalError("cannot create the --output-raw directory '{}': {}", o.output_raw, ec.message());
  }
  for (size_t i = 0; i < interpreter->num_outputs(); ++i) {
    const TensorView& t = interpreter->output(i);
    std::vector<double> values = RealValues(t);
    nlohmann::json out = {{"name", t.name}, {"dtype", engine::DTypeName(t.dtype)}, {"shape", t.shape}};
    if (!o.output_raw.empty()) {
      EP_ASSIGN_OR_RETURN(out["raw_file"], WriteRaw(o.output_raw, i, t));
    }
    if (LooksLikeScores(t) && o.top > 0) {
      const std::vector<size_t> order = TopIndices(values, static_cast<size_t>(o.top));
      const size_t k = order.size();
      if (!o.json) fmt::print("output {} '{}' {}[{}] top-{}:\n", i, t.name, engine::DTypeName(t.dtype),
                              fmt::join(t.shape, ","), k);
      for (size_t r = 0; r < k; ++r) {
        const size_t c = order[r];
        const std::string label = c < labels.size() ? labels[c] : "";
        out["top"].push_back({{"index", c}, {"score", values[c]}, {"label", label}});
        if (!o.json) fmt::print("  {:>5}  {:.5f}  {}\n", c, values[c], label);
      }
    } else {
      const size_t shown = std::min<size_t>(values.size(), 16);
      out["values"] = std::vector<double>(values.begin(), values.begin() + static_cast<long>(shown));
      out["num_values"] = values.size();
      if (!o.json)
        fmt::print("output {} '{}' {}[{}]: {:.5g}{}\n", i, t.name, engine::DTypeName(t.dtype),
                   fmt::join(t.shape, ","), fmt::join(out["values"].get<std::vector<double>>(), " "),
                   values.size() > shown ? fmt::format(" ... ({} values)", values.size()) : "");
    }
    j["outputs"].push_back(out);
  }
  if (o.json) fmt::print("{}\n", j.dump(2));
  return OkStatus();
}

}  // namespace

void AddInferCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("infer", "Run a .tflite model once on an image and print its outputs");
  static InferOptions o;
  cmd->add_option("model", o.model, "Path to a .tflite file")->required();
  auto* image = cmd->add_option("--input", o.input, "Image file (resized to the model input)");
  auto* raw = cmd->add_option("--input-raw", o.input_raw,
                              "Raw input files instead of an image: one per model input, in order, each exactly "
                              "the input's bytes (NumPy tobytes())");
  image->excludes(raw);
  raw->excludes(image);
  cmd->add_option("--output-raw", o.output_raw, "Also write each output's raw bytes to DIR/output_<i>.bin");
  cmd->add_option("--threads", o.threads, "Inference threads")->check(AtLeast(1));
  AddEngineOptions(cmd, o.engine);
  cmd->add_option("--top", o.top, "How many top scores to print for classifier outputs")->check(AtLeast(1));
  cmd->add_option("--labels", o.labels, "Label file, one label per line (line i = class i)");
  cmd->add_option("--mean", o.mean, "Float inputs: (pixel - mean) / std (default 127.5)");
  cmd->add_option("--std", o.std, "Float inputs: (pixel - mean) / std (default 127.5)");
  cmd->add_flag("--json", o.json, "Print JSON instead of text");
  cmd->callback([image, raw] {
    Status s = image->count() + raw->count() == 0 ? InvalidArgumentError("infer needs --input IMAGE or --input-raw FILE...")
                                                  : RunInfer(o);
    if (!s.ok()) {
      fmt::print(stderr, "error: {}\n", s.ToString());
      ExitCode() = 1;
    }
  });
}

}  // namespace edgepipe::tools
