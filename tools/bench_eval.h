// Accuracy next to speed for `edgepipe bench`: what a model answers on an
// image (top classes of a classifier, boxes of a detector), labelled image
// sets (a CSV file,label or one sub-folder per label), top-1/top-5 accuracy,
// and agreement with a reference model (same top-1; detections matched at
// IoU >= 0.5). Plain functions, tested on known predictions.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "calculators/types/detection.h"
#include "core/status.h"
#include "engine/interpreter.h"

namespace edgepipe::tools {

enum class OutputKind { kClassifier, kDetector };
const char* OutputKindName(OutputKind kind);

// A classifier has a scores output ([1,N] or [N], the first one counts); a
// detector the four outputs of TFLite_Detection_PostProcess first (boxes [1,N,4],
// classes [1,N], scores [1,N], count [1]). Anything else is an error naming `model`.
Result<OutputKind> KindOfOutputs(const engine::Interpreter& interpreter, const std::string& model);
// Number of classes of a classifier (its scores output's length).
size_t NumClasses(const engine::Interpreter& interpreter);

// One model's answer on one image.
struct Prediction {
  std::vector<size_t> top;            // classifier: the best 5 class indices, best first
  std::vector<Detection> detections;  // detector: boxes scoring at least the minimum score
};

// Reads the prediction from the outputs after an Invoke.
Prediction ReadPrediction(const engine::Interpreter& interpreter, OutputKind kind, float min_score);
// Runs the model on each image (FillWithImage) and reads its predictions.
Result<std::vector<Prediction>> PredictAll(engine::Interpreter& interpreter, const std::vector<cv::Mat>& images,
                                           OutputKind kind, float min_score);

struct LabelledImage {
  std::string path;
  std::string label;
};

// `source` is a CSV file (lines "file,label"; file relative to the CSV; an
// optional header "file,label"), a directory holding exactly one such CSV, or
// a directory with one sub-folder of images per label. A directory with
// neither is an error ("no labels"), as are missing images and an empty set.
Result<std::vector<LabelledImage>> LoadLabelledSet(const std::string& source);

// The class index a label names: an integer is an index; otherwise the label
// map line equal to it, ignoring case, or to one of its comma-separated names
// ("tench, Tinca tinca"). A map one line longer than the model's classes
// starts with a background line the model lacks; other lengths are an error.
Result<size_t> ClassIndexOfLabel(const std::string& label, const std::vector<std::string>& label_map,
                                 size_t num_classes);

struct Accuracy {
  size_t images = 0;
  double top1 = 0, top5 = 0;  // fractions in [0, 1]
};
// truth[i] is the class of predictions[i].
Accuracy TopKAccuracy(const std::vector<Prediction>& predictions, const std::vector<size_t>& truth);

// Fraction of images where the top-1 classes agree. `class_offset` maps a
// reference class r to the variant's r - offset (1 when only the reference has
// a background class).
double Top1Agreement(const std::vector<Prediction>& reference, const std::vector<Prediction>& variant,
                     int class_offset = 0);

struct DetectionAgreement {
  size_t reference_boxes = 0, variant_boxes = 0, matched = 0;
  // matched / (reference + variant - matched): 1 when both find the same boxes
  // (and when neither finds any), 0 when no box matches.
  double agreement = 0;
};
// Per image, each reference box (best score first) is matched to the unmatched
// variant box of the same class overlapping it most, if by IoU >= `min_iou`.
DetectionAgreement MatchDetections(const std::vector<Prediction>& reference, const std::vector<Prediction>& variant,
                                   float min_iou = 0.5f);

}  // namespace edgepipe::tools
