#include "tools/mot_metrics.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace edgepipe::tools {

Result<std::vector<MotBox>> ReadMotFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return NotFoundError("cannot read MOT file '{}'", path);
  std::vector<MotBox> boxes;
  std::string line;
  int line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream fields(line);
    MotBox box;
    double frame = 0, id = 0;
    if (!(fields >> frame)) continue;  // blank line
    if (!(fields >> id >> box.x >> box.y >> box.width >> box.height)) {
      return InvalidArgumentError("{}:{}: expected frame,id,x,y,w,h[,score,…], got '{}'", path, line_number, line);
    }
    if (!(fields >> box.score)) box.score = 1;
    box.frame = static_cast<int>(frame);
    box.id = static_cast<int>(id);
    boxes.push_back(box);
  }
  return boxes;
}

std::vector<int> HungarianAssignment(const std::vector<std::vector<double>>& cost) {
  // Shortest augmenting paths with potentials (1-based arrays, column 0 is a sentinel).
  const int n = static_cast<int>(cost.size());
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<int> row_of_column(n + 1, 0), way(n + 1, 0);
  for (int row = 1; row <= n; ++row) {
    row_of_column[0] = row;
    int column = 0;
    std::vector<double> min_reduced(n + 1, inf);
    std::vector<bool> used(n + 1, false);
    do {
      used[column] = true;
      const int current_row = row_of_column[column];
      double delta = inf;
      int next_column = 0;
      for (int j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double reduced = cost[current_row - 1][j - 1] - u[current_row] - v[j];
        if (reduced < min_reduced[j]) {
          min_reduced[j] = reduced;
          way[j] = column;
        }
        if (min_reduced[j] < delta) {
          delta = min_reduced[j];
          next_column = j;
        }
      }
      for (int j = 0; j <= n; ++j) {
        if (used[j]) {
          u[row_of_column[j]] += delta;
          v[j] -= delta;
        } else {
          min_reduced[j] -= delta;
        }
      }
      column = next_column;
    } while (row_of_column[column] != 0);
    do {
      const int previous = way[column];
      row_of_column[column] = row_of_column[previous];
      column = previous;
    } while (column != 0);
  }
  std::vector<int> column_of_row(n, -1);
  for (int j = 1; j <= n; ++j) {
    if (row_of_column[j] > 0) column_of_row[row_of_column[j] - 1] = j - 1;
  }
  return column_of_row;
}

namespace {
double Iou(const MotBox& a, const MotBox& b) {
  const double w = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
  const double h = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const double intersection = w * h;
  return intersection / (a.width * a.height + b.width * b.height - intersection);
}

// Assigns rows to columns where allowed[i][j], most pairs first, then least cost.
std::vector<std::pair<int, int>> AssignAllowed(const std::vector<std::vector<double>>& distance, size_t rows,
                                               size_t columns) {
  const size_t n = std::max(rows, columns);
  if (n == 0) return {};
  // An infeasible pair costs more than any feasible assignment can (distances ≤ 1).
  const double infeasible = 2.0 * static_cast<double>(n) + 1;
  std::vector<std::vector<double>> cost(n, std::vector<double>(n, infeasible));
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < columns; ++j) {
      if (distance[i][j] >= 0) cost[i][j] = distance[i][j];
    }
  }
  std::vector<std::pair<int, int>> pairs;
  const std::vector<int> assignment = HungarianAssignment(cost);
  for (size_t i = 0; i < rows; ++i) {
    const int j = assignment[i];
    if (j >= 0 && static_cast<size_t>(j) < columns && distance[i][static_cast<size_t>(j)] >= 0) {
      pairs.emplace_back(static_cast<int>(i), j);
    }
  }
  return pairs;
}
}  // namespace

MotMetrics EvaluateMot(const std::vector<MotBox>& ground_truth, const std::vector<MotBox>& hypotheses,
                       double min_iou) {
  std::map<int, std::vector<const MotBox*>> gt_by_frame, hyp_by_frame;
  std::set<int> frames;
  for (const MotBox& box : ground_truth) {
    gt_by_frame[box.frame].push_back(&box);
    frames.insert(box.frame);
  }
  for (const MotBox& box : hypotheses) {
    hyp_by_frame[box.frame].push_back(&box);
    frames.insert(box.frame);
  }
  MotMetrics m;
  m.frames = static_cast<int>(frames.size());
  std::map<int, int> last_match;                          // object ID → hypothesis ID it was last matched to
  std::map<std::pair<int, int>, int> overlapping_frames;  // (object, hypothesis) → frames with IoU ≥ min_iou
  std::map<int, int> object_frames, hypothesis_frames;
  double distance_sum = 0;
  static const std::vector<const MotBox*> kNone;
  for (int frame : frames) {
    const auto gt_it = gt_by_frame.find(frame);
    const auto hyp_it = hyp_by_frame.find(frame);
    const std::vector<const MotBox*>& gt = gt_it == gt_by_frame.end() ? kNone : gt_it->second;
    const std::vector<const MotBox*>& hyp = hyp_it == hyp_by_frame.end() ? kNone : hyp_it->second;
    // Distance 1 − IoU where IoU ≥ min_iou, else −1 (not allowed).
    std::vector<std::vector<double>> distance(gt.size(), std::vector<double>(hyp.size(), -1));
    for (size_t i = 0; i < gt.size(); ++i) {
      for (size_t j = 0; j < hyp.size(); ++j) {
        const double iou = Iou(*gt[i], *hyp[j]);
        if (iou >= min_iou) {
          distance[i][j] = 1 - iou;
          ++overlapping_frames[{gt[i]->id, hyp[j]->id}];
        }
      }
    }
    for (const MotBox* box : gt) ++object_frames[box->id];
    for (const MotBox* box : hyp) ++hypothesis_frames[box->id];
    std::vector<bool> gt_done(gt.size(), false), hyp_done(hyp.size(), false);
    int frame_matches = 0;
    auto record = [&](size_t i, size_t j) {
      gt_done[i] = hyp_done[j] = true;
      distance_sum += distance[i][j];
      ++frame_matches;
      last_match[gt[i]->id] = hyp[j]->id;
    };
    // 1. Matches carried over from earlier frames, while still valid.
    for (size_t i = 0; i < gt.size(); ++i) {
      const auto previous = last_match.find(gt[i]->id);
      if (previous == last_match.end()) continue;
      for (size_t j = 0; j < hyp.size(); ++j) {
        if (!hyp_done[j] && hyp[j]->id == previous->second && distance[i][j] >= 0) {
          record(i, j);
          break;
        }
      }
    }
    // 2. The rest by the Hungarian method.
    std::vector<size_t> rows, columns;
    for (size_t i = 0; i < gt.size(); ++i) if (!gt_done[i]) rows.push_back(i);
    for (size_t j = 0; j < hyp.size(); ++j) if (!hyp_done[j]) columns.push_back(j);
    std::vector<std::vector<double>> remaining(rows.size(), std::vector<double>(columns.size(), -1));
    for (size_t r = 0; r < rows.size(); ++r) {
      for (size_t c = 0; c < columns.size(); ++c) remaining[r][c] = distance[rows[r]][columns[c]];
    }
    for (const auto& [r, c] : AssignAllowed(remaining, rows.size(), columns.size())) {
      const size_t i = rows[static_cast<size_t>(r)], j = columns[static_cast<size_t>(c)];
      const auto previous = last_match.find(gt[i]->id);
      if (previous != last_match.end() && previous->second != hyp[j]->id) ++m.id_switches;
      record(i, j);
    }
    m.objects += static_cast<int>(gt.size());
    m.hypotheses += static_cast<int>(hyp.size());
    m.matches += frame_matches;
    m.misses += static_cast<int>(gt.size()) - frame_matches;
    m.false_positives += static_cast<int>(hyp.size()) - frame_matches;
  }
  m.unique_objects = static_cast<int>(object_frames.size());
  m.unique_hypotheses = static_cast<int>(hypothesis_frames.size());
  if (m.objects > 0) {
    m.mota = 1.0 - static_cast<double>(m.misses + m.false_positives + m.id_switches) / m.objects;
    m.recall = static_cast<double>(m.matches) / m.objects;
  }
  if (m.hypotheses > 0) m.precision = static_cast<double>(m.matches) / m.hypotheses;
  if (m.matches > 0) m.motp = distance_sum / m.matches;

  // IDF1: rows are objects then one dummy per hypothesis, columns hypotheses then one dummy per object.
  std::vector<int> object_ids, hypothesis_ids;
  for (const auto& [id, count] : object_frames) object_ids.push_back(id);
  for (const auto& [id, count] : hypothesis_frames) hypothesis_ids.push_back(id);
  const size_t no = object_ids.size(), nh = hypothesis_ids.size(), n = no + nh;
  if (n > 0) {
    const double forbidden = 2.0 * (m.objects + m.hypotheses) + 1;
    std::vector<std::vector<double>> cost(n, std::vector<double>(n, forbidden));
    for (size_t o = 0; o < no; ++o) {
      const int gt_frames = object_frames[object_ids[o]];
      for (size_t h = 0; h < nh; ++h) {
        const auto it = overlapping_frames.find({object_ids[o], hypothesis_ids[h]});
        const int overlap = it == overlapping_frames.end() ? 0 : it->second;
        cost[o][h] = gt_frames + hypothesis_frames[hypothesis_ids[h]] - 2.0 * overlap;  // IDFN + IDFP of the pair
      }
      cost[o][nh + o] = gt_frames;  // unmatched object: all its frames are IDFN
    }
    for (size_t h = 0; h < nh; ++h) {
      cost[no + h][h] = hypothesis_frames[hypothesis_ids[h]];  // unmatched hypothesis: all IDFP
      for (size_t o = 0; o < no; ++o) cost[no + h][nh + o] = 0;
    }
    const std::vector<int> assignment = HungarianAssignment(cost);
    int idtp = 0;
    for (size_t o = 0; o < no; ++o) {
      const int h = assignment[o];
      if (h >= 0 && static_cast<size_t>(h) < nh) {
        const auto it = overlapping_frames.find({object_ids[o], hypothesis_ids[static_cast<size_t>(h)]});
        if (it != overlapping_frames.end()) idtp += it->second;
      }
    }
    m.idtp = idtp;
    m.idfn = m.objects - idtp;
    m.idfp = m.hypotheses - idtp;
    if (m.objects + m.hypotheses > 0) m.idf1 = 2.0 * idtp / (m.objects + m.hypotheses);
  }
  return m;
}

}  // namespace edgepipe::tools
