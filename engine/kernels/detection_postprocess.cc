// TFLite_Detection_PostProcess (custom op): decode SSD box encodings against
// anchors, then fast (class-agnostic) or regular (per-class) non-max
// suppression. Follows tensorflow/lite/kernels/detection_postprocess.cc step by
// step; differences are noted where they are deliberate.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <flatbuffers/flexbuffers.h>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/kernels.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "DetectionPostProcess";
constexpr int kNumCoordBox = 4;

struct BoxCorner {
  float ymin, xmin, ymax, xmax;
};
struct CenterSize {
  float y, x, h, w;
};

// Carves typed arrays out of the caller's scratch bytes (8-byte aligned each).
class ScratchArena {
 public:
  explicit ScratchArena(std::span<std::byte> memory) : memory_(memory) {}
  template <typename T>
  T* Take(size_t count) {
    const size_t aligned = (used_ + 7) & ~size_t{7};
    const size_t bytes = count * sizeof(T);
    if (memory_.data() == nullptr || aligned + bytes > memory_.size()) {
      failed_ = true;
      return nullptr;
    }
    used_ = aligned + bytes;
    return reinterpret_cast<T*>(memory_.data() + aligned);
  }
  bool failed() const { return failed_; }
  // Size a layout needs: same alignment rules, no memory.
  template <typename T>
  static void Count(size_t* total, size_t count) {
    *total = ((*total + 7) & ~size_t{7}) + count * sizeof(T);
  }

 private:
  std::span<std::byte> memory_;
  size_t used_ = 0;
  bool failed_ = false;
};

struct Workspace {
  BoxCorner* decoded_boxes = nullptr;  // [A]
  float* scores = nullptr;             // [A * C1], dequantized class predictions
  int* keep_indices = nullptr;         // [A]
  uint8_t* active = nullptr;           // [A]
  uint64_t* sort_keys = nullptr;       // [A]            score-order keys of kept boxes
  float* candidate_ymin = nullptr;     // [A]            kept boxes in score order (SoA)
  float* candidate_xmin = nullptr;     // [A]
  float* candidate_ymax = nullptr;     // [A]
  float* candidate_xmax = nullptr;     // [A]
  float* candidate_area = nullptr;     // [A]
  int* selected = nullptr;             // [A]
  float* max_scores = nullptr;         // [A]            fast NMS
  int* class_indices = nullptr;        // [A * C]        fast NMS
  float* class_scores = nullptr;       // [A]            regular NMS
  int* merged_indices = nullptr;       // [A + D]        regular NMS
  float* merged_scores = nullptr;      // [A + D]
  int* merged_order = nullptr;         // [A + D]
  float* top_values = nullptr;         // [D]
};

// The one layout both ScratchBytes() and the kernel use.
template <typename Visit>
void Layout(int num_anchors, int num_classes, int classes_with_background, int max_detections, Visit&& visit) {
  const size_t a = static_cast<size_t>(std::max(num_anchors, 0));
  const size_t d = static_cast<size_t>(std::max(max_detections, 0));
  visit(&Workspace::decoded_boxes, a);
  visit(&Workspace::scores, a * static_cast<size_t>(std::max(classes_with_background, 0)));
  visit(&Workspace::keep_indices, a);
  visit(&Workspace::active, a);
  visit(&Workspace::sort_keys, a);
  visit(&Workspace::candidate_ymin, a);
  visit(&Workspace::candidate_xmin, a);
  visit(&Workspace::candidate_ymax, a);
  visit(&Workspace::candidate_xmax, a);
  visit(&Workspace::candidate_area, a);
  visit(&Workspace::selected, a);
  visit(&Workspace::max_scores, a);
  visit(&Workspace::class_indices, a * static_cast<size_t>(std::max(num_classes, 0)));
  visit(&Workspace::class_scores, a);
  visit(&Workspace::merged_indices, a + d);
  visit(&Workspace::merged_scores, a + d);
  visit(&Workspace::merged_order, a + d);
  visit(&Workspace::top_values, d);
}

template <typename T>
struct MemberType;
template <typename T>
struct MemberType<T* Workspace::*> {
  using type = T;
};

size_t LayoutBytes(int num_anchors, int num_classes, int classes_with_background, int max_detections) {
  size_t total = 0;
  Layout(num_anchors, num_classes, classes_with_background, max_detections, [&](auto member, size_t count) {
    ScratchArena::Count<typename MemberType<decltype(member)>::type>(&total, count);
  });
  return total;
}

// Dequantization of a box/anchor coordinate, as TFLite's Dequantizer:
// (float(q) - zero_point) * scale.
struct Reader {
  DType dtype = DType::kFloat32;
  const void* data = nullptr;
  float scale = 1.0f;
  float zero_point = 0.0f;
  float operator()(int64_t i) const {
    switch (dtype) {
      case DType::kUInt8: return (static_cast<float>(static_cast<const uint8_t*>(data)[i]) - zero_point) * scale;
      case DType::kInt8: return (static_cast<float>(static_cast<const int8_t*>(data)[i]) - zero_point) * scale;
      default: return static_cast<const float*>(data)[i];
    }
  }
};

Result<Reader> MakeReader(const TensorView& tensor) {
  Reader reader;
  reader.dtype = tensor.dtype;
  reader.data = tensor.data;
  if (tensor.dtype == DType::kFloat32) return reader;
  if (!internal::IsQuantized8(tensor.dtype)) {
    return InvalidArgumentError("{}: tensor {} must be float32 or uint8/int8 quantized", kOp, Describe(tensor));
  }
  EP_ASSIGN_OR_RETURN(const internal::QuantParams q, internal::PerTensorQuant(kOp, tensor));
  reader.scale = q.scale;
  reader.zero_point = static_cast<float>(q.zero_point);
  return reader;
}

void DecreasingPartialArgSort(const float* values, int count, int num_to_sort, int* indices) {
  if (num_to_sort == 1) {
    int best = 0;
    for (int i = 1; i < count; ++i) {
      if (values[i] > values[best]) best = i;
    }
    indices[0] = best;
    return;
  }
  std::iota(indices, indices + count, 0);
  std::partial_sort(indices, indices + num_to_sort, indices + count, [values](int i, int j) {
    return values[i] > values[j] || (values[i] == values[j] && i < j);
  });
}

// NonMaxSuppressionSingleClassHelper: keep scores >= score threshold, sort them
// decreasing, greedily select while suppressing later boxes with IoU > iou
// threshold. Writes up to max_detections anchor indices to ws.selected.
// Key whose ascending order is TFLite's DecreasingArgSort order: decreasing
// score, ties by increasing index. Scores map to an order-preserving unsigned
// integer (sign-magnitude to offset binary), complemented so larger scores sort
// first; -0 is folded into +0 first because the comparator treats them as equal.
// Sorting plain 64-bit keys avoids the indirect comparator's cache misses.
uint64_t DecreasingScoreKey(float score, int index) {
  const float folded = score + 0.0f;  // -0 + 0 = +0
  uint32_t bits;
  std::memcpy(&bits, &folded, sizeof(bits));
  const uint32_t ordered = (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
  return (uint64_t{~ordered} << 32) | static_cast<uint32_t>(index);
}

// TFLite NonMaxSuppressionSingleClassHelper: keep boxes scoring at least the
// threshold, visit them by decreasing score, select a box and suppress every
// later box overlapping it by more than the IoU threshold. The kept boxes are
// copied in score order into separate coordinate arrays so that suppression is
// one branch-free pass the compiler vectorises; the IoU arithmetic is TFLite's,
// operation for operation, so the selection is identical.
// An AVX2 clone (chosen at load time when the CPU has it) doubles the width of
// the suppression loop; "avx2" does not enable FMA, so no multiply-add is fused
// and the IoU rounds exactly as in the baseline build. (x86-64 only; other
// architectures build the baseline alone.)
#if defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
int NonMaxSuppressionSingleClass(const DetectionPostProcessOptions& options, const Workspace& ws, int num_boxes,
                                 const float* scores, int max_detections) {
  int num_kept = 0;
  for (int i = 0; i < num_boxes; ++i) {
    if (scores[i] >= options.nms_score_threshold) ws.sort_keys[num_kept++] = DecreasingScoreKey(scores[i], i);
  }
  std::sort(ws.sort_keys, ws.sort_keys + num_kept);
  const int output_size = std::min(num_kept, max_detections);
  if (output_size <= 0) return 0;
  float* __restrict ymin = ws.candidate_ymin;
  float* __restrict xmin = ws.candidate_xmin;
  float* __restrict ymax = ws.candidate_ymax;
  float* __restrict xmax = ws.candidate_xmax;
  float* __restrict area = ws.candidate_area;
  uint8_t* __restrict active = ws.active;
  for (int k = 0; k < num_kept; ++k) {
    const int box_index = static_cast<int>(static_cast<uint32_t>(ws.sort_keys[k]));
    ws.keep_indices[k] = box_index;
    const BoxCorner& box = ws.decoded_boxes[box_index];
    ymin[k] = box.ymin;
    xmin[k] = box.xmin;
    ymax[k] = box.ymax;
    xmax[k] = box.xmax;
    area[k] = (box.ymax - box.ymin) * (box.xmax - box.xmin);
    active[k] = 1;
  }
  const float iou_threshold = options.nms_iou_threshold;
  int num_selected = 0;
  for (int i = 0; i < num_kept && num_selected < output_size; ++i) {
    if (active[i] == 0) continue;
    ws.selected[num_selected++] = ws.keep_indices[i];
    // A box without area has IoU 0 with everything (threshold > 0): it suppresses nothing.
    const float area_i = area[i];
    if (!(area_i > 0.0f)) continue;
    const float ymin_i = ymin[i], xmin_i = xmin[i], ymax_i = ymax[i], xmax_i = xmax[i];
    for (int j = i + 1; j < num_kept; ++j) {
      const float inter_ymin = std::max(ymin_i, ymin[j]);
      const float inter_xmin = std::max(xmin_i, xmin[j]);
      const float inter_ymax = std::min(ymax_i, ymax[j]);
      const float inter_xmax = std::min(xmax_i, xmax[j]);
      const float intersection =
          std::max(inter_ymax - inter_ymin, 0.0f) * std::max(inter_xmax - inter_xmin, 0.0f);
      const float iou = intersection / (area_i + area[j] - intersection);
      const bool suppressed = (area[j] > 0.0f) & (iou > iou_threshold);  // no short circuit: keeps the loop branch-free
      active[j] = static_cast<uint8_t>(active[j] & static_cast<uint8_t>(!suppressed));
    }
  }
  return num_selected;
}

struct Outputs {
  BoxCorner* boxes;
  float* classes;
  float* scores;
  float* num_detections;
  int capacity;  // entries in classes/scores
};

void MultiClassFast(const DetectionPostProcessOptions& options, const Workspace& ws, int num_boxes,
                    int classes_with_background, const Outputs& out) {
  const int num_classes = options.num_classes;
  const int label_offset = classes_with_background - num_classes;
  const int per_anchor = std::min(options.max_classes_per_detection, num_classes);
  for (int row = 0; row < num_boxes; ++row) {
    const float* box_scores = ws.scores + static_cast<int64_t>(row) * classes_with_background + label_offset;
    int* class_indices = ws.class_indices + static_cast<int64_t>(row) * num_classes;
    DecreasingPartialArgSort(box_scores, num_classes, per_anchor, class_indices);
    ws.max_scores[row] = box_scores[class_indices[0]];
  }
  const int num_selected = NonMaxSuppressionSingleClass(options, ws, num_boxes, ws.max_scores, options.max_detections);
  for (int s = 0; s < num_selected; ++s) {
    const int anchor = ws.selected[s];
    const float* box_scores = ws.scores + static_cast<int64_t>(anchor) * classes_with_background + label_offset;
    const int* class_indices = ws.class_indices + static_cast<int64_t>(anchor) * num_classes;
    for (int c = 0; c < per_anchor; ++c) {
      const int slot = options.max_classes_per_detection * s + c;
      out.boxes[slot] = ws.decoded_boxes[anchor];
      out.classes[slot] = static_cast<float>(class_indices[c]);
      out.scores[slot] = box_scores[class_indices[c]];
    }
  }
  out.num_detections[0] = static_cast<float>(num_selected);
}

void MultiClassRegular(const DetectionPostProcessOptions& options, const Workspace& ws, int num_boxes,
                       int classes_with_background, const Outputs& out) {
  const int num_classes = options.num_classes;
  const int label_offset = classes_with_background - num_classes;
  const int max_detections = options.max_detections;
  int num_merged = 0;  // size_of_sorted_indices in TFLite
  for (int col = 0; col < num_classes; ++col) {
    for (int row = 0; row < num_boxes; ++row) {
      ws.class_scores[row] = ws.scores[static_cast<int64_t>(row) * classes_with_background + col + label_offset];
    }
    const int num_selected =
        NonMaxSuppressionSingleClass(options, ws, num_boxes, ws.class_scores, options.detections_per_class);
    // Append this class's survivors to the running top list, then keep the
    // best max_detections of the union.
    int output_index = num_merged;
    for (int s = 0; s < num_selected; ++s) {
      const int anchor = ws.selected[s];
      ws.merged_indices[output_index] = anchor * classes_with_background + col + label_offset;
      ws.merged_scores[output_index] = ws.class_scores[anchor];
      ++output_index;
    }
    const int num_to_sort = std::min(output_index, max_detections);
    if (num_to_sort > 0) DecreasingPartialArgSort(ws.merged_scores, output_index, num_to_sort, ws.merged_order);
    for (int row = 0; row < num_to_sort; ++row) {
      const int from = ws.merged_order[row];
      ws.merged_order[row] = ws.merged_indices[from];
      ws.top_values[row] = ws.merged_scores[from];
    }
    for (int row = 0; row < num_to_sort; ++row) {
      ws.merged_indices[row] = ws.merged_order[row];
      ws.merged_scores[row] = ws.top_values[row];
    }
    num_merged = num_to_sort;
  }
  for (int slot = 0; slot < max_detections; ++slot) {
    if (slot < num_merged) {
      const int anchor = ws.merged_indices[slot] / classes_with_background;
      const int class_index = ws.merged_indices[slot] - anchor * classes_with_background - label_offset;
      out.boxes[slot] = ws.decoded_boxes[anchor];
      out.classes[slot] = static_cast<float>(class_index);
      out.scores[slot] = ws.merged_scores[slot];
    } else {
      out.boxes[slot] = {0.0f, 0.0f, 0.0f, 0.0f};
      out.classes[slot] = 0.0f;
      out.scores[slot] = 0.0f;
    }
  }
  out.num_detections[0] = static_cast<float>(num_merged);
}

Status CheckOutput(const TensorView* tensor, std::span<const int32_t> shape, const char* role) {
  if (tensor == nullptr) return InvalidArgumentError("{}: missing {} output", kOp, role);
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *tensor));
  EP_RETURN_IF_ERROR(internal::CheckDType(kOp, *tensor, DType::kFloat32));
  if (!std::equal(shape.begin(), shape.end(), tensor->shape.begin(), tensor->shape.end())) {
    return InvalidArgumentError("{}: {} output {} must have shape {}", kOp, role, Describe(*tensor),
                                internal::ShapeString(shape));
  }
  return OkStatus();
}

}  // namespace

Result<DetectionPostProcessOptions> ParseDetectionPostProcessOptions(const uint8_t* flexbuffer, size_t size) {
  if (flexbuffer == nullptr || size == 0) return InvalidArgumentError("{}: empty custom options", kOp);
  // Untrusted model bytes: verify before reading (TFLite does not).
  if (!flexbuffers::VerifyBuffer(flexbuffer, size)) {
    return InvalidArgumentError("{}: custom options are not a valid FlexBuffer", kOp);
  }
  const flexbuffers::Reference root = flexbuffers::GetRoot(flexbuffer, size);
  if (!root.IsMap()) return InvalidArgumentError("{}: custom options are not a FlexBuffer map", kOp);
  const flexbuffers::Map map = root.AsMap();
  DetectionPostProcessOptions o;
  auto required_int = [&](const char* key, int32_t* value) -> Status {
    const flexbuffers::Reference r = map[key];
    if (r.IsNull() || !(r.IsNumeric() || r.IsBool())) {
      return InvalidArgumentError("{}: custom options lack numeric '{}'", kOp, key);
    }
    *value = r.AsInt32();
    return OkStatus();
  };
  auto required_float = [&](const char* key, float* value) -> Status {
    const flexbuffers::Reference r = map[key];
    if (r.IsNull() || !r.IsNumeric()) return InvalidArgumentError("{}: custom options lack numeric '{}'", kOp, key);
    *value = r.AsFloat();
    return OkStatus();
  };
  EP_RETURN_IF_ERROR(required_int("max_detections", &o.max_detections));
  EP_RETURN_IF_ERROR(required_int("max_classes_per_detection", &o.max_classes_per_detection));
  if (const flexbuffers::Reference r = map["detections_per_class"]; !r.IsNull()) o.detections_per_class = r.AsInt32();
  if (const flexbuffers::Reference r = map["use_regular_nms"]; !r.IsNull()) o.use_regular_nms = r.AsBool();
  EP_RETURN_IF_ERROR(required_float("nms_score_threshold", &o.nms_score_threshold));
  EP_RETURN_IF_ERROR(required_float("nms_iou_threshold", &o.nms_iou_threshold));
  EP_RETURN_IF_ERROR(required_int("num_classes", &o.num_classes));
  EP_RETURN_IF_ERROR(required_float("y_scale", &o.y_scale));
  EP_RETURN_IF_ERROR(required_float("x_scale", &o.x_scale));
  EP_RETURN_IF_ERROR(required_float("h_scale", &o.h_scale));
  EP_RETURN_IF_ERROR(required_float("w_scale", &o.w_scale));

  if (o.max_detections < 0 || o.max_detections > (1 << 20)) {
    return InvalidArgumentError("{}: max_detections {} out of range", kOp, o.max_detections);
  }
  if (o.max_classes_per_detection <= 0 || o.max_classes_per_detection > (1 << 16)) {
    return InvalidArgumentError("{}: max_classes_per_detection {} must be positive", kOp, o.max_classes_per_detection);
  }
  if (o.detections_per_class <= 0) {
    return InvalidArgumentError("{}: detections_per_class {} must be positive", kOp, o.detections_per_class);
  }
  if (o.num_classes <= 0 || o.num_classes > (1 << 16)) {
    return InvalidArgumentError("{}: num_classes {} out of range", kOp, o.num_classes);
  }
  if (!(o.nms_iou_threshold > 0.0f && o.nms_iou_threshold <= 1.0f)) {
    return InvalidArgumentError("{}: nms_iou_threshold {} must be in (0, 1]", kOp, o.nms_iou_threshold);
  }
  return o;
}

size_t DetectionPostProcessScratchBytes(const DetectionPostProcessOptions& options, int num_anchors) {
  return LayoutBytes(num_anchors, options.num_classes, options.num_classes + 1, options.max_detections);
}

Status DetectionPostProcess(const DetectionPostProcessOptions& options, const TensorView& box_encodings,
                            const TensorView& class_predictions, const TensorView& anchors, TensorList outputs,
                            std::span<std::byte> scratch) {
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, box_encodings));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, class_predictions));
  EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, anchors));
  if (options.num_classes <= 0 || options.max_detections < 0 || options.max_classes_per_detection <= 0 ||
      options.detections_per_class <= 0) {
    return InvalidArgumentError("{}: invalid options (num_classes {}, max_detections {}, max_classes_per_detection {})",
                                kOp, options.num_classes, options.max_detections, options.max_classes_per_detection);
  }
  // TFLite NonMaxSuppressionSingleClassHelper: 0 < iou_threshold <= 1.
  if (!(options.nms_iou_threshold > 0.0f && options.nms_iou_threshold <= 1.0f)) {
    return InvalidArgumentError("{}: nms_iou_threshold {} must be in (0, 1]", kOp, options.nms_iou_threshold);
  }
  if (box_encodings.rank() != 3 || box_encodings.shape[0] != 1 || box_encodings.shape[2] < kNumCoordBox) {
    return InvalidArgumentError("{}: box_encodings {} must be [1, anchors, >=4]", kOp, Describe(box_encodings));
  }
  const int num_boxes = box_encodings.shape[1];
  if (class_predictions.rank() != 3 || class_predictions.shape[0] != 1 || class_predictions.shape[1] != num_boxes) {
    return InvalidArgumentError("{}: class_predictions {} must be [1, {}, classes]", kOp, Describe(class_predictions),
                                num_boxes);
  }
  const int classes_with_background = class_predictions.shape[2];
  const int label_offset = classes_with_background - options.num_classes;
  if (label_offset < 0 || label_offset > 1) {
    return InvalidArgumentError("{}: class_predictions {} must have num_classes ({}) or num_classes + 1 classes", kOp,
                                Describe(class_predictions), options.num_classes);
  }
  if (anchors.rank() != 2 || anchors.shape[0] != num_boxes || anchors.shape[1] != kNumCoordBox) {
    return InvalidArgumentError("{}: anchors {} must be [{}, 4]", kOp, Describe(anchors), num_boxes);
  }
  if (outputs.size() != 4) return InvalidArgumentError("{}: expects 4 outputs, got {}", kOp, outputs.size());
  const int32_t num_detected = options.max_detections * options.max_classes_per_detection;
  const std::array<int32_t, 3> boxes_shape{1, num_detected, kNumCoordBox};
  const std::array<int32_t, 2> per_detection_shape{1, num_detected};
  const std::array<int32_t, 1> count_shape{1};
  EP_RETURN_IF_ERROR(CheckOutput(outputs[0], boxes_shape, "boxes"));
  EP_RETURN_IF_ERROR(CheckOutput(outputs[1], per_detection_shape, "classes"));
  EP_RETURN_IF_ERROR(CheckOutput(outputs[2], per_detection_shape, "scores"));
  EP_RETURN_IF_ERROR(CheckOutput(outputs[3], count_shape, "num_detections"));

  EP_ASSIGN_OR_RETURN(const Reader box_reader, MakeReader(box_encodings));
  EP_ASSIGN_OR_RETURN(const Reader anchor_reader, MakeReader(anchors));
  EP_ASSIGN_OR_RETURN(const Reader score_reader, MakeReader(class_predictions));

  const size_t needed = LayoutBytes(num_boxes, options.num_classes, classes_with_background, options.max_detections);
  if (scratch.size() < needed) {
    return InvalidArgumentError("{}: scratch has {} bytes, needs {} (DetectionPostProcessScratchBytes)", kOp,
                                scratch.size(), needed);
  }
  ScratchArena arena(scratch);
  Workspace ws;
  Layout(num_boxes, options.num_classes, classes_with_background, options.max_detections,
         [&](auto member, size_t count) {
           ws.*member = arena.Take<typename MemberType<decltype(member)>::type>(count);
         });
  if (arena.failed()) return InternalError("{}: scratch layout does not fit", kOp);

  // DecodeCenterSizeBoxes, in double exactly as TFLite:
  //   ycenter = y / y_scale * anchor.h + anchor.y;  half_h = 0.5 * exp(h / h_scale) * anchor.h
  const int64_t encoding_length = box_encodings.shape[2];
  for (int idx = 0; idx < num_boxes; ++idx) {
    const int64_t b = idx * encoding_length;
    const CenterSize box{box_reader(b), box_reader(b + 1), box_reader(b + 2), box_reader(b + 3)};
    const int64_t a = int64_t{idx} * kNumCoordBox;
    const CenterSize anchor{anchor_reader(a), anchor_reader(a + 1), anchor_reader(a + 2), anchor_reader(a + 3)};
    const float ycenter = static_cast<float>(static_cast<double>(box.y) / static_cast<double>(options.y_scale) *
                                                 static_cast<double>(anchor.h) +
                                             static_cast<double>(anchor.y));
    const float xcenter = static_cast<float>(static_cast<double>(box.x) / static_cast<double>(options.x_scale) *
                                                 static_cast<double>(anchor.w) +
                                             static_cast<double>(anchor.x));
    const float half_h = static_cast<float>(
        0.5 * std::exp(static_cast<double>(box.h) / static_cast<double>(options.h_scale)) * static_cast<double>(anchor.h));
    const float half_w = static_cast<float>(
        0.5 * std::exp(static_cast<double>(box.w) / static_cast<double>(options.w_scale)) * static_cast<double>(anchor.w));
    ws.decoded_boxes[idx] = {ycenter - half_h, xcenter - half_w, ycenter + half_h, xcenter + half_w};
  }
  // TFLite ValidateBoxes: inverted boxes (negative anchor sizes) fail the op.
  // `!(a <= b)` also rejects NaN coordinates.
  for (int i = 0; i < num_boxes; ++i) {
    const BoxCorner& box = ws.decoded_boxes[i];
    if (!(box.ymin <= box.ymax) || !(box.xmin <= box.xmax)) {
      return InvalidArgumentError("{}: decoded box {} is inverted or NaN (anchors {})", kOp, i, Describe(anchors));
    }
  }

  const int64_t num_scores = int64_t{num_boxes} * classes_with_background;
  if (class_predictions.dtype == DType::kFloat32) {
    std::memcpy(ws.scores, class_predictions.data, static_cast<size_t>(num_scores) * sizeof(float));
  } else {
    for (int64_t i = 0; i < num_scores; ++i) ws.scores[i] = score_reader(i);
  }

  Outputs out{outputs[0]->as<BoxCorner>(), outputs[1]->as<float>(), outputs[2]->as<float>(), outputs[3]->as<float>(),
              num_detected};
  // TFLite's fast path leaves unused slots untouched; we zero them so results
  // are deterministic.
  if (num_detected > 0) {
    std::fill(out.boxes, out.boxes + num_detected, BoxCorner{0.0f, 0.0f, 0.0f, 0.0f});
    std::fill(out.classes, out.classes + num_detected, 0.0f);
    std::fill(out.scores, out.scores + num_detected, 0.0f);
  }
  if (options.use_regular_nms) {
    MultiClassRegular(options, ws, num_boxes, classes_with_background, out);
  } else {
    MultiClassFast(options, ws, num_boxes, classes_with_background, out);
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
