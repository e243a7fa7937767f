// TransformLandmarks version 2 (MediaPipe face mesh with attention): maps
// landmarks through rows 0..1 of a 4x4 affine matrix, as
// mediapipe/util/tflite/operations/transform_landmarks.cc (v2). Version 2 has
// no options: the landmark dimension comes from the tensor's last axis.
#include "engine/kernels/kernel_util.h"
#include "engine/kernels/mediapipe_ops.h"

namespace edgepipe::engine::kernels {
namespace {

using internal::Describe;

constexpr std::string_view kOp = "TransformLandmarks";

}  // namespace

Status TransformLandmarks(const TensorView& landmarks, const TensorView& matrix, const TensorView& output) {
  for (const TensorView* t : {&landmarks, &matrix, &output}) {
    EP_RETURN_IF_ERROR(internal::CheckTensor(kOp, *t));
    EP_RETURN_IF_ERROR(internal::CheckDType(kOp, *t, DType::kFloat32));
  }
  if (landmarks.rank() != 3 || landmarks.shape[0] != 1 || (landmarks.shape[2] != 2 && landmarks.shape[2] != 3)) {
    return InvalidArgumentError("{}: landmarks {} must be [1, L, 2] or [1, L, 3]", kOp, Describe(landmarks));
  }
  if (matrix.num_elements() != 16 || matrix.rank() != 3 || matrix.shape[0] != 1) {
    return InvalidArgumentError("{}: matrix {} must be [1,4,4]", kOp, Describe(matrix));
  }
  EP_RETURN_IF_ERROR(internal::CheckSameShape(kOp, output, landmarks));
  const float* m = matrix.as<const float>();
  const float* in = landmarks.as<const float>();
  float* out = output.as<float>();
  const int32_t count = landmarks.shape[1], dims = landmarks.shape[2];
  for (int32_t i = 0; i < count; ++i) {
    const float* p = in + int64_t{i} * dims;
    float* q = out + int64_t{i} * dims;
    // Dot products with (x, y, 0, 1) summed left to right; read before writing
    // so the op may run in place.
    const float x = p[0], y = p[1];
    const float z = dims == 3 ? p[2] : 0.0f;
    q[0] = m[0] * x + m[1] * y + m[2] * 0.0f + m[3] * 1.0f;
    q[1] = m[4] * x + m[5] * y + m[6] * 0.0f + m[7] * 1.0f;
    if (dims == 3) q[2] = z;
  }
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
