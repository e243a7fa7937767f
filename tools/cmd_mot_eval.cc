// `edgepipe mot-eval GT PRED [--iou 0.5] [--json]`: multi-object tracking
// metrics (MOTA, IDF1, ID switches, precision, recall, …) of a MOT Challenge
// tracks file against ground truth, computed as py-motmetrics does
// (tools/mot_metrics.h). graphs/object_detection_tracking.pbtxt writes PRED
// with --side tracks_path=FILE.
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/commands.h"
#include "tools/mot_metrics.h"

namespace edgepipe::tools {
namespace {

struct MotEvalOptions {
  std::string ground_truth;
  std::string predictions;
  double min_iou = 0.5;
  bool json = false;
};

nlohmann::json MetricsJson(const MotMetrics& m) {
  return {{"frames", m.frames},           {"objects", m.objects},
          {"hypotheses", m.hypotheses},   {"unique_objects", m.unique_objects},
          {"unique_ids", m.unique_hypotheses}, {"matches", m.matches},
          {"misses", m.misses},           {"false_positives", m.false_positives},
          {"id_switches", m.id_switches}, {"mota", m.mota},
          {"motp", m.motp},               {"idf1", m.idf1},
          {"idtp", m.idtp},               {"idfp", m.idfp},
          {"idfn", m.idfn},               {"precision", m.precision},
          {"recall", m.recall}};
}

Status RunMotEval(const MotEvalOptions& options) {
  EP_ASSIGN_OR_RETURN(std::vector<MotBox> ground_truth, ReadMotFile(options.ground_truth));
  EP_ASSIGN_OR_RETURN(std::vector<MotBox> predictions, ReadMotFile(options.predictions));
  const MotMetrics m = EvaluateMot(ground_truth, predictions, options.min_iou);
  if (options.json) {
    fmt::print("{}\n", MetricsJson(m).dump(2));
    return OkStatus();
  }
  fmt::print("frames {}  objects {} ({} IDs)  hypotheses {} ({} IDs)\n", m.frames, m.objects, m.unique_objects,
             m.hypotheses, m.unique_hypotheses);
  fmt::print("MOTA {:.4f}  IDF1 {:.4f}  MOTP {:.4f}  precision {:.4f}  recall {:.4f}\n", m.mota, m.idf1, m.motp,
             m.precision, m.recall);
  fmt::print("ID switches {}  false positives {}  misses {}  IDTP {} IDFP {} IDFN {}\n", m.id_switches,
             m.false_positives, m.misses, m.idtp, m.idfp, m.idfn);
  return OkStatus();
}

}  // namespace

void AddMotEvalCommand(CLI::App& app) {
  auto options = std::make_shared<MotEvalOptions>();
  CLI::App* command = app.add_subcommand(
      "mot-eval", "Tracking metrics (MOTA, IDF1, ID switches, precision, recall) of MOT-format tracks vs ground truth");
  command->add_option("ground_truth", options->ground_truth, "ground truth, MOT text (frame,id,x,y,w,h,…)")->required();
  command->add_option("predictions", options->predictions, "tracks, MOT text (frame,id,x,y,w,h,score,…)")->required();
  command->add_option("--iou", options->min_iou, "minimum IoU for a match")->check(CLI::Range(0.0, 1.0));
  command->add_flag("--json", options->json, "print the metrics as JSON");
  command->callback([options] {
    const Status status = RunMotEval(*options);
    if (!status.ok()) {
      fmt::print(stderr, "edgepipe mot-eval: {}\n", status.ToString());
      ExitCode() = 1;
    }
  });
}

}  // namespace edgepipe::tools
