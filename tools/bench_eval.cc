#include "tools/bench_eval.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "calculators/vision/ssd_detection.h"
#include "tools/bench_inputs.h"
#include "tools/output_values.h"

namespace edgepipe::tools {

namespace fs = std::filesystem;
using engine::DType;
using engine::TensorView;

const char* OutputKindName(OutputKind kind) { return kind == OutputKind::kClassifier ? "classifier" : "detector"; }

namespace {

bool IsPostProcessedDetector(const engine::Interpreter& interpreter) {
  if (interpreter.num_outputs() < 4) return false;  // more: recurrent state (traffic_model's LSTM)
  const TensorView& boxes = interpreter.output(0);
  const TensorView& classes = interpreter.output(1);
  const TensorView& scores = interpreter.output(2);
  const TensorView& count = interpreter.output(3);
  const bool all_float = boxes.dtype == DType::kFloat32 && classes.dtype == DType::kFloat32 &&
                         scores.dtype == DType::kFloat32 && count.dtype == DType::kFloat32;
  return all_float && boxes.rank() == 3 && boxes.shape[2] == 4 && classes.rank() == 2 && scores.rank() == 2 &&
         classes.shape[1] == boxes.shape[1] && scores.shape[1] == boxes.shape[1] && count.num_elements() == 1;
}

int FirstScoresOutput(const engine::Interpreter& interpreter) {
  for (size_t i = 0; i < interpreter.num_outputs(); ++i)
    if (LooksLikeScores(interpreter.output(i))) return static_cast<int>(i);
  return -1;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\"");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\"") - begin + 1);
}

}  // namespace

Result<OutputKind> KindOfOutputs(const engine::Interpreter& interpreter, const std::string& model) {
  if (IsPostProcessedDetector(interpreter)) return OutputKind::kDetector;
  if (FirstScoresOutput(interpreter) >= 0) return OutputKind::kClassifier;
  return InvalidArgumentError(
      "model '{}' is neither a classifier (a [1,N] scores output) nor a detector with TFLite_Detection_PostProcess "
      "outputs (boxes, classes, scores, count); accuracy and agreement need one of them",
      model);
}

size_t NumClasses(const engine::Interpreter& interpreter) {
  const int i = FirstScoresOutput(interpreter);
  return i < 0 ? 0 : interpreter.output(static_cast<size_t>(i)).num_elements();
}

Prediction ReadPrediction(const engine::Interpreter& interpreter, OutputKind kind, float min_score) {
  Prediction p;
  if (kind == OutputKind::kClassifier) {
    p.top = TopIndices(RealValues(interpreter.output(static_cast<size_t>(FirstScoresOutput(interpreter)))), 5);
    return p;
  }
  const float* boxes = interpreter.output(0).as<float>();  // ymin, xmin, ymax, xmax per box
  const float* classes = interpreter.output(1).as<float>();
  const float* scores = interpreter.output(2).as<float>();
  const int n = std::clamp(static_cast<int>(interpreter.output(3).as<float>()[0]), 0,
                           static_cast<int>(interpreter.output(0).shape[1]));
  for (int i = 0; i < n; ++i) {
    if (scores[i] < min_score) continue;
    const float* b = boxes + 4 * i;
    p.detections.push_back(
        {.xmin = b[1], .ymin = b[0], .width = b[3] - b[1], .height = b[2] - b[0], .score = scores[i],
         .label_id = static_cast<int>(classes[i]), .label = {}, .track_id = -1, .keypoints = {}});
  }
  return p;
}

Result<std::vector<Prediction>> PredictAll(engine::Interpreter& interpreter, const std::vector<cv::Mat>& images,
                                           OutputKind kind, float min_score) {
  std::vector<Prediction> predictions;
  for (size_t i = 0; i < images.size(); ++i) {
    EP_RETURN_IF_ERROR(FillWithImage(interpreter, images[i]));
    EP_RETURN_IF_ERROR(interpreter.Invoke().WithContext(fmt::format("image {}", i)));
    predictions.push_back(ReadPrediction(interpreter, kind, min_score));
  }
  return predictions;
}

namespace {

Result<std::vector<LabelledImage>> ReadLabelCsv(const fs::path& csv) {
  std::ifstream in(csv);
  if (!in) return NotFoundError("--accuracy: cannot open '{}'", csv.string());
  std::vector<LabelledImage> set;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (Trim(line).empty()) continue;
    // The label is everything after the first comma (ImageNet names hold commas).
    const size_t comma = line.find(',');
    if (comma == std::string::npos)
      return InvalidArgumentError("--accuracy: {} line {}: expected file,label, got '{}'", csv.string(), line_number,
                                  line);
    const std::string file = Trim(line.substr(0, comma)), label = Trim(line.substr(comma + 1));
    if (line_number == 1 && Lower(file) == "file") continue;  // header
    const fs::path path = fs::path(file).is_absolute() ? fs::path(file) : csv.parent_path() / file;
    if (!fs::is_regular_file(path))
      return NotFoundError("--accuracy: {} line {}: image '{}' does not exist", csv.string(), line_number,
                           path.string());
    if (label.empty())
      return InvalidArgumentError("--accuracy: {} line {}: '{}' has no label", csv.string(), line_number, file);
    set.push_back({path.string(), label});
  }
  return set;
}

}  // namespace

Result<std::vector<LabelledImage>> LoadLabelledSet(const std::string& source) {
  std::vector<LabelledImage> set;
  if (fs::is_regular_file(source)) {
    EP_ASSIGN_OR_RETURN(set, ReadLabelCsv(source));
  } else if (fs::is_directory(source)) {
    std::vector<fs::path> csvs, folders;
    for (const auto& entry : fs::directory_iterator(source)) {
      if (entry.is_directory()) folders.push_back(entry.path());
      if (entry.is_regular_file() && Lower(entry.path().extension().string()) == ".csv") csvs.push_back(entry.path());
    }
    if (csvs.size() > 1)
      return InvalidArgumentError("--accuracy: '{}' holds {} CSV files; name the one to use", source, csvs.size());
    if (csvs.size() == 1) {
      EP_ASSIGN_OR_RETURN(set, ReadLabelCsv(csvs[0]));
    } else {
      std::sort(folders.begin(), folders.end());
      for (const fs::path& folder : folders) {
        EP_ASSIGN_OR_RETURN(std::vector<std::string> images, ListImages(folder.string()));
        for (const std::string& image : images) set.push_back({image, folder.filename().string()});
      }
      if (folders.empty())
        return InvalidArgumentError(
            "--accuracy: '{}' has no labels: it needs a CSV file (lines file,label) or one sub-folder of images per "
            "label",
            source);
    }
  } else {
    return NotFoundError("--accuracy: '{}' does not exist", source);
  }
  if (set.empty()) return InvalidArgumentError("--accuracy: '{}' holds no labelled images", source);
  return set;
}

Result<size_t> ClassIndexOfLabel(const std::string& label, const std::vector<std::string>& label_map,
                                 size_t num_classes) {
  size_t index = 0;
  const auto [end, error] = std::from_chars(label.data(), label.data() + label.size(), index);
  if (error == std::errc() && end == label.data() + label.size()) {
    if (index >= num_classes)
      return InvalidArgumentError("label {} is not a class index of a model with {} classes", label, num_classes);
    return index;
  }
  if (label_map.empty())
    return InvalidArgumentError(
        "label '{}' is not a class index, and the model carries no label map: give one with --labels FILE", label);
  if (label_map.size() != num_classes && label_map.size() != num_classes + 1)
    return InvalidArgumentError("the label map has {} labels but the model has {} classes", label_map.size(),
                                num_classes);
  const size_t offset = label_map.size() - num_classes;
  const std::string wanted = Lower(label);
  for (size_t line = offset; line < label_map.size(); ++line) {
    const std::string names = Lower(label_map[line]);
    bool match = Trim(names) == wanted;
    for (size_t start = 0; !match && start <= names.size();) {
      const size_t comma = std::min(names.find(',', start), names.size());
      match = Trim(names.substr(start, comma - start)) == wanted;
      start = comma + 1;
    }
    if (match) return line - offset;
  }
  return NotFoundError("label '{}' is not in the label map", label);
}

Accuracy TopKAccuracy(const std::vector<Prediction>& predictions, const std::vector<size_t>& truth) {
  Accuracy a;
  size_t top1 = 0, top5 = 0;
  for (size_t i = 0; i < predictions.size() && i < truth.size(); ++i) {
    const std::vector<size_t>& top = predictions[i].top;
    ++a.images;
    if (!top.empty() && top[0] == truth[i]) ++top1;
    if (std::find(top.begin(), top.begin() + static_cast<long>(std::min<size_t>(5, top.size())), truth[i]) != top.end())
      ++top5;
  }
  if (a.images > 0) {
    a.top1 = static_cast<double>(top1) / static_cast<double>(a.images);
    a.top5 = static_cast<double>(top5) / static_cast<double>(a.images);
  }
  return a;
}

double Top1Agreement(const std::vector<Prediction>& reference, const std::vector<Prediction>& variant,
                     int class_offset) {
  const size_t n = std::min(reference.size(), variant.size());
  if (n == 0) return 0;
  size_t same = 0;
  for (size_t i = 0; i < n; ++i)
    if (!reference[i].top.empty() && !variant[i].top.empty() &&
        static_cast<long>(reference[i].top[0]) - class_offset == static_cast<long>(variant[i].top[0]))
      ++same;
  return static_cast<double>(same) / static_cast<double>(n);
}

DetectionAgreement MatchDetections(const std::vector<Prediction>& reference, const std::vector<Prediction>& variant,
                                   float min_iou) {
  DetectionAgreement a;
  for (size_t i = 0; i < reference.size() && i < variant.size(); ++i) {
    std::vector<Detection> ref = reference[i].detections;
    const std::vector<Detection>& var = variant[i].detections;
    std::sort(ref.begin(), ref.end(), [](const Detection& x, const Detection& y) { return x.score > y.score; });
    std::vector<bool> taken(var.size(), false);
    for (const Detection& r : ref) {
      int best = -1;
      float best_iou = min_iou;
      for (size_t v = 0; v < var.size(); ++v) {
        if (taken[v] || var[v].label_id != r.label_id) continue;
        const float iou = BoxOverlap(r, var[v], NonMaxSuppressionCalculatorOptions::INTERSECTION_OVER_UNION);
        if (iou >= best_iou) best = static_cast<int>(v), best_iou = iou;
      }
      if (best >= 0) taken[static_cast<size_t>(best)] = true, ++a.matched;
    }
    a.reference_boxes += ref.size();
    a.variant_boxes += var.size();
  }
  const size_t union_boxes = a.reference_boxes + a.variant_boxes - a.matched;
  a.agreement = union_boxes == 0 ? 1.0 : static_cast<double>(a.matched) / static_cast<double>(union_boxes);
  return a;
}

}  // namespace edgepipe::tools
