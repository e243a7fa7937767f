// Landmarks2TransformMatrix version 2 (MediaPipe face mesh with attention): the
// 4x4 matrix that maps a crop around a landmark subset (rotated to level the
// left/right landmarks) back to landmark coordinates, as
// mediapipe/util/tflite/operations/landmarks_to_transform_matrix.cc (v2).
#include <algorithm>
#include <array>
#include <cmath>

#include "engine/kernels/kernel_util.h"
#include "engine/kernels/mediapipe_ops.h"
#include "engine/kernels/mediapipe_options.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "Landmarks2TransformMatrix";
constexpr size_t kMaxSubset = 1 << 16;

using Mat4 = std::array<float, 16>;  // row-major

// Float products summed from 0 in k order, as MediaPipe's Mat4 does.
Mat4 Multiply(const Mat4& a, const Mat4& b) {
  Mat4 r{};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      float sum = 0.0f;
      for (int k = 0; k < 4; ++k) sum += a[i * 4 + k] * b[k * 4 + j];
      r[i * 4 + j] = sum;
    }
  }
  return r;
}

// Rows 0 and 1 of the 3x3 rotation by `angle` applied to (x, y, 1), float sums from 0.
void Rotate(float cos_a, float sin_a, float x, float y, float* out_x, float* out_y) {
  float sx = 0.0f, sy = 0.0f;
  sx += cos_a * x;
  sx += -sin_a * y;
  sx += 0.0f * 1.0f;
  sy += sin_a * x;
  sy += cos_a * y;
  sy += 0.0f * 1.0f;
  *out_x = sx;
  *out_y = sy;
}

}  // namespace

Result<LandmarksToTransformMatrixOptions> ParseLandmarksToTransformMatrixOptions(const uint8_t* bytes, size_t size) {
  EP_ASSIGN_OR_RETURN(const flexbuffers::Map map, internal::FlexMap(kOp, bytes, size));
  LandmarksToTransformMatrixOptions o;
  EP_ASSIGN_OR_RETURN(o.left_rotation_idx, internal::FlexInt(kOp, map, "left_rotation_idx"));
  EP_ASSIGN_OR_RETURN(o.right_rotation_idx, internal::FlexInt(kOp, map, "right_rotation_idx"));
  EP_ASSIGN_OR_RETURN(o.output_height, internal::FlexInt(kOp, map, "output_height"));
  EP_ASSIGN_OR_RETURN(o.output_width, internal::FlexInt(kOp, map, "output_width"));
  EP_ASSIGN_OR_RETURN(o.scale_x, internal::FlexFloat(kOp, map, "scale_x"));
  EP_ASSIGN_OR_RETURN(o.scale_y, internal::FlexFloat(kOp, map, "scale_y"));
  // MediaPipe reads a missing rotation target as 0.
  if (!map["target_rotation_radians"].IsNull()) {
    EP_ASSIGN_OR_RETURN(o.target_rotation_radians, internal::FlexFloat(kOp, map, "target_rotation_radians"));
  }
  const flexbuffers::Reference subset = map["subset_idxs"];
  auto add_index = [&](const flexbuffers::Reference& r) -> Status {
    if (!r.IsInt() && !r.IsUInt()) return InvalidArgumentError("{}: subset_idxs holds a non-integer", kOp);
    const int64_t v = r.AsInt64();
    if (v < 0 || v > INT32_MAX) return InvalidArgumentError("{}: subset_idxs holds index {}", kOp, v);
    o.subset_idxs.push_back(static_cast<int32_t>(v));
    return OkStatus();
  };
  if (subset.IsTypedVector()) {
    const flexbuffers::TypedVector v = subset.AsTypedVector();
    if (v.size() > kMaxSubset) return InvalidArgumentError("{}: subset_idxs has {} entries", kOp, v.size());
    for (size_t i = 0; i < v.size(); ++i) EP_RETURN_IF_ERROR(add_index(v[i]));
  } else if (subset.IsVector()) {
    const flexbuffers::Vector v = subset.AsVector();
    if (v.size() > kMaxSubset) return InvalidArgumentError("{}: subset_idxs has {} entries", kOp, v.size());
    for (size_t i = 0; i < v.size(); ++i) EP_RETURN_IF_ERROR(add_index(v[i]));
  } else {
    return InvalidArgumentError("{}: custom options lack the vector 'subset_idxs'", kOp);
  }
  if (o.subset_idxs.empty()) return InvalidArgumentError("{}: subset_idxs is empty", kOp);
  if (o.left_rotation_idx < 0 || o.right_rotation_idx < 0) {
    return InvalidArgumentError("{}: rotation landmarks {} and {} must be non-negative", kOp, o.left_rotation_idx,
                                o.right_rotation_idx);
  }
  if (o.output_height <= 0 || o.output_width <= 0) {
    return InvalidArgumentError("{}: output size {}x{} must be positive", kOp, o.output_height, o.output_width);
  }
  if (!(o.scale_x > 0.0f) || !(o.scale_y > 0.0f) || !std::isfinite(o.scale_x) || !std::isfinite(o.scale_y)) {
    return InvalidArgumentError("{}: scale {}x{} must be positive", kOp, o.scale_x, o.scale_y);
  }
  // MediaPipe pairs the subset up; an odd count repeats the last index, which a
  // bounding box does not notice, so the flat list is kept as is.
  o.max_index = std::max({o.left_rotation_idx, o.right_rotation_idx,
                          *std::max_element(o.subset_idxs.begin(), o.subset_idxs.end())});
  return o;
}

Status LandmarksToTransformMatrix(const LandmarksToTransformMatrixOptions& o, const TensorView& landmarks,
                                  const TensorView& output) {
  for (const TensorView* t : {&landmarks, &output}) {
    EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *t));
    EP_RETURN_IF_ERROR(internal::CheckDType(kOp, *t, DType::kFloat32));
  }
  if (landmarks.rank() != 3 || landmarks.shape[0] != 1 || landmarks.shape[2] != 3) {
    return InvalidArgumentError("{}: landmarks {} must be [1, L, 3]", kOp, Describe(landmarks));
  }
  if (o.max_index >= landmarks.shape[1]) {
    return InvalidArgumentError("{}: the options read landmark {} but {} has {}", kOp, o.max_index,
                                Describe(landmarks), landmarks.shape[1]);
  }
  if (output.rank() != 3 || output.shape[0] != 1 || output.shape[1] != 4 || output.shape[2] != 4) {
    return InvalidArgumentError("{}: output {} must be [1,4,4]", kOp, Describe(output));
  }
  if (o.subset_idxs.empty()) return InvalidArgumentError("{}: empty landmark subset", kOp);
  const float* lm = landmarks.as<const float>();

  const float* left = lm + 3 * int64_t{o.left_rotation_idx};
  const float* right = lm + 3 * int64_t{o.right_rotation_idx};
  const float rotation = o.target_rotation_radians - std::atan2(right[1] - left[1], right[0] - left[0]);
  const float cos_r = std::cos(rotation), sin_r = std::sin(rotation);

  float min_x = 0.0f, min_y = 0.0f, max_x = 0.0f, max_y = 0.0f;
  for (size_t i = 0; i < o.subset_idxs.size(); ++i) {
    const float* p = lm + 3 * int64_t{o.subset_idxs[i]};
    float x, y;
    Rotate(cos_r, sin_r, p[0], p[1], &x, &y);
    if (i == 0) {
      min_x = max_x = x;
      min_y = max_y = y;
      continue;
    }
    max_x = std::max(max_x, x), max_y = std::max(max_y, y);
    min_x = std::min(min_x, x), min_y = std::min(min_y, y);
  }
  const float crop_w = max_x - min_x, crop_h = max_y - min_y;
  float center_x, center_y;
  Rotate(std::cos(-rotation), std::sin(-rotation), (min_x + max_x) / 2, (min_y + max_y) / 2, &center_x, &center_y);

  const float r = -rotation;
  const float sx = o.scale_x * crop_w / static_cast<float>(o.output_width);
  const float sy = o.scale_y * crop_h / static_cast<float>(o.output_height);
  const float shift_x = static_cast<float>(-1.0 * (o.output_width / 2.0));
  const float shift_y = static_cast<float>(-1.0 * (o.output_height / 2.0));
  // clang-format off
  const Mat4 to_center = {1, 0, 0, center_x,
                          0, 1, 0, center_y,
                          0, 0, 1, 0,
                          0, 0, 0, 1};
  const Mat4 rotate = {std::cos(r), -std::sin(r), 0, 0,
                       std::sin(r),  std::cos(r), 0, 0,
                       0,            0,           1, 0,
                       0,            0,           0, 1};
  const Mat4 scale = {sx, 0,  0, 0,
                      0,  sy, 0, 0,
                      0,  0,  1, 0,
                      0,  0,  0, 1};
  const Mat4 from_crop_center = {1, 0, 0, shift_x,
                                 0, 1, 0, shift_y,
                                 0, 0, 1, 0,
                                 0, 0, 0, 1};
  // clang-format on
  const Mat4 m = Multiply(Multiply(Multiply(to_center, rotate), scale), from_crop_center);
  std::copy(m.begin(), m.end(), output.as<float>());
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
