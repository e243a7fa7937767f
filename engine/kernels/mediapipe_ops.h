// MediaPipe's custom TFLite operators (mediapipe/util/tflite/operations/),
// float32 only, as MediaPipe's CPU kernels define them. Same conventions as
// kernels.h: outputs are pre-shaped by the planner, shapes and dtypes are checked
// on every call and a mismatch names the tensor, no heap on the hot path.
//
// Each op's custom_options are parsed once, at bind time, by its
// Parse...Options(bytes, size). MediaPipe stores them in one of two ways:
//  - a raw little-endian C struct (TFLite's TfLiteTransposeConvParams /
//    TfLitePoolParams, whose leading fields are int32 each, the TfLitePadding
//    enum being 1 = SAME, 2 = VALID);
//  - a FlexBuffers map (the "v2" face-mesh ops).
// Short or malformed bytes are an InvalidArgument error, never an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine::kernels {

// ---------------------------------------------------------------- Convolution2DTransposeBias
// custom_options: TfLiteTransposeConvParams {int32 padding; int32 stride_width;
// int32 stride_height; ...}; the fields after the first 12 bytes (activation in
// newer TFLite headers) are ignored, as MediaPipe's kernel ignores them.
struct TransposeConvBiasOptions {
  bool same_padding = false;
  int32_t stride_width = 1;
  int32_t stride_height = 1;
};
Result<TransposeConvBiasOptions> ParseTransposeConvBiasOptions(const uint8_t* bytes, size_t size);

// input [N, H, W, Cin], filter [Cout, KH, KW, Cin] (OHWI), bias [Cout], output
// [N, OH, OW, Cout] with OH = stride*(H-1) + KH - pad (pad = max(0, KH - (H-1) %
// stride - 1) for SAME, 0 for VALID; pad/2 is cut at the top/left), likewise OW.
// Each output is bias + the sum of every input*filter product that lands on it.
Status TransposeConvBias(const TransposeConvBiasOptions& options, const TensorView& input,
                         const TensorView& filter, const TensorView& bias, const TensorView& output);

// ---------------------------------------------------------------- MaxPoolingWithArgmax2D / MaxUnpooling2D
// custom_options: TfLitePoolParams {int32 padding; int32 stride_width; int32
// stride_height; int32 filter_width; int32 filter_height; int32 activation; ...}
// (the trailing computed-padding fields are ignored). Activation is TFLite's
// TfLiteFusedActivation: 0 none, 1 relu, 2 relu_n1_to_1, 3 relu6; others are rejected.
struct MediaPipePoolOptions {
  bool same_padding = false;
  int32_t stride_width = 1;
  int32_t stride_height = 1;
  int32_t filter_width = 1;
  int32_t filter_height = 1;
  FusedActivation activation = FusedActivation::kNone;
};
// `op` names the operator in errors.
Result<MediaPipePoolOptions> ParseMediaPipePoolOptions(const uint8_t* bytes, size_t size, const char* op);

// MaxPoolingWithArgmax2D: input [N, H, W, C]; output and indices [N, OH, OW, C]
// (OH = ceil(H / stride) for SAME, (H - filter + stride) / stride for VALID;
// TFLite's SAME padding at the top/left). Output is the window's max (the first
// one on ties) clamped by the activation; indices is float32 holding
// window_y * filter_width + window_x + 0.1 of that max, its position inside the
// (unclipped) window, as MediaPipe writes it.
Status MaxPoolWithArgmax(const MediaPipePoolOptions& options, const TensorView& input,
                         const TensorView& output, const TensorView& indices);

// MaxUnpooling2D: input and indices [N, H, W, C] (indices as MaxPoolWithArgmax
// writes them); output [N, H*filter_height, W*filter_width, C], zero except at
// each input's decoded window position. Positions outside the output are skipped.
Status MaxUnpooling(const MediaPipePoolOptions& options, const TensorView& input, const TensorView& indices,
                    const TensorView& output);

// ---------------------------------------------------------------- Landmarks2TransformMatrix (version 2)
// custom_options: FlexBuffers map with left_rotation_idx, right_rotation_idx,
// target_rotation_radians, output_height, output_width, scale_x, scale_y and
// subset_idxs (a vector of landmark indices).
struct LandmarksToTransformMatrixOptions {
  std::vector<int32_t> subset_idxs;  // landmarks whose rotated bounding box is the crop
  int32_t left_rotation_idx = 0;
  int32_t right_rotation_idx = 0;
  float target_rotation_radians = 0.0f;
  int32_t output_height = 0;
  int32_t output_width = 0;
  float scale_x = 1.0f;
  float scale_y = 1.0f;
  int32_t max_index = 0;  // largest landmark index the options read
};
Result<LandmarksToTransformMatrixOptions> ParseLandmarksToTransformMatrixOptions(const uint8_t* bytes,
                                                                                 size_t size);

// landmarks [1, L, 3] (x, y, z; z unused); output [1, 4, 4] row-major: the
// matrix mapping an output-crop pixel (x, y, 0, 1) to landmark coordinates.
// rotation r = target - atan2(y_right - y_left, x_right - x_left); the subset,
// rotated by r, gives the box (center c rotated back, width w, height h);
// M = Shift(c) * Rotate(-r) * Scale(scale_x*w/out_w, scale_y*h/out_h) * Shift(-out_w/2, -out_h/2).
Status LandmarksToTransformMatrix(const LandmarksToTransformMatrixOptions& options, const TensorView& landmarks,
                                  const TensorView& output);

// ---------------------------------------------------------------- TransformTensorBilinear (version 2)
// custom_options: FlexBuffers map with output_height and output_width.
struct TransformTensorBilinearOptions {
  int32_t output_height = 0;
  int32_t output_width = 0;
};
Result<TransformTensorBilinearOptions> ParseTransformTensorBilinearOptions(const uint8_t* bytes, size_t size);

// input [1, H, W, C]; matrix [1, 4, 4] (rows 0 and 1 used); output [1, OH, OW, C].
// The output pixel (x, y) samples the input at M * (x + 0.5, y + 0.5, 0, 1) - 0.5
// (pixel centers) bilinearly; samples outside [0, W-1] x [0, H-1] are 0.
Status TransformTensorBilinear(const TransformTensorBilinearOptions& options, const TensorView& input,
                               const TensorView& matrix, const TensorView& output);

// ---------------------------------------------------------------- TransformLandmarks (version 2)
// No options (version 2 ignores custom_options). landmarks [1, L, D] with D 2 or
// 3; matrix [1, 4, 4]; output like landmarks: (x, y) -> rows 0..1 of M times
// (x, y, 0, 1); z is copied.
Status TransformLandmarks(const TensorView& landmarks, const TensorView& matrix, const TensorView& output);

}  // namespace edgepipe::engine::kernels
