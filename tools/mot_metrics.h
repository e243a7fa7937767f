// Multi-object tracking metrics from MOT Challenge text files, computed as
// py-motmetrics does (compare_to_groundtruth with IoU, distth 0.5), so the
// figures are comparable with published ones:
//   * per frame, a ground-truth object and a hypothesis may match when their
//     IoU is at least min_iou; last frame's matches are kept while still
//     valid, the rest are assigned by the Hungarian method (most matches,
//     then least 1 − IoU); a match to a different hypothesis than the
//     object's previous one is an ID switch;
//   * MOTA = 1 − (misses + false positives + switches) / objects;
//     precision = matched / hypotheses; recall = matched / objects;
//   * IDF1: one global assignment of ground-truth IDs to hypothesis IDs
//     (Hungarian, minimising IDFN + IDFP over frames where both overlap),
//     IDF1 = 2·IDTP / (objects + hypotheses).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace edgepipe::tools {

struct MotBox {
  int frame = 0;
  int id = 0;
  double x = 0, y = 0, width = 0, height = 0;  // left, top, size (pixels)
  double score = 0;
};

// Reads "frame,id,x,y,w,h,score,…" lines (commas or spaces; blank lines skipped).
Result<std::vector<MotBox>> ReadMotFile(const std::string& path);

struct MotMetrics {
  int frames = 0;
  int objects = 0;     // ground-truth boxes
  int hypotheses = 0;  // predicted boxes
  int matches = 0;     // correspondences, switches included
  int misses = 0;
  int false_positives = 0;
  int id_switches = 0;
  int unique_objects = 0;
  int unique_hypotheses = 0;
  int idtp = 0, idfp = 0, idfn = 0;
  double mota = 0, motp = 0, idf1 = 0, precision = 0, recall = 0;  // motp: mean 1 − IoU of matches
};

MotMetrics EvaluateMot(const std::vector<MotBox>& ground_truth, const std::vector<MotBox>& hypotheses,
                       double min_iou = 0.5);

// Minimum-cost assignment of a square cost matrix (Hungarian method, O(n³));
// returns the column of each row.
std::vector<int> HungarianAssignment(const std::vector<std::vector<double>>& cost);

}  // namespace edgepipe::tools
