// edgepipe's own kernels: the TFLite operators Debian's XNNPACK (2022) has no
// node for. Each follows TFLite's reference semantics exactly (rounding rules are
// cited next to the code that implements them) so outputs match LiteRT bit for bit
// where TFLite itself is deterministic.
//
// Conventions shared by every kernel:
//  - Inputs are `const TensorView&` (or a span of pointers for variadic ops);
//    outputs are `const TensorView&` whose memory and static shape the caller
//    (the planner) has already set up. Kernels write only through output.data.
//  - Shapes and dtypes are validated on every call; a mismatch returns an
//    InvalidArgument Status naming the tensor (TensorView::name). Nothing aborts.
//  - No heap allocation on the hot path. Kernels that need working memory take a
//    caller-provided scratch span and publish a `...ScratchBytes()` helper.
//  - Negative axes count from the back, as in TFLite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/status.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine::kernels {

using TensorList = std::span<const TensorView* const>;

// Fused activation of TFLite's builtin options (ActivationFunctionType).
enum class FusedActivation : uint8_t { kNone, kRelu, kReluN1To1, kRelu6 };

// CONV_2D / DEPTHWISE_CONV_2D geometry, as TFLite gives it.
struct ConvParams {
  int32_t stride_height = 1;
  int32_t stride_width = 1;
  int32_t dilation_height = 1;
  int32_t dilation_width = 1;
  // TFLite SAME: pad_total = max(0, (out-1)*stride + eff_filter - in), half at
  // top/left; quantized kernels pad with the input zero point.
  bool same_padding = false;
  FusedActivation activation = FusedActivation::kNone;
};

// ---------------------------------------------------------------- 1. CONCATENATION
// float32, int32, int64, bool: byte copies. uint8/int8: inputs whose scale or
// zero point differ from the output's are requantized with TFLite's
// ConcatenationWithScaling rule (round half away from zero).
Status Concatenation(TensorList inputs, int axis, const TensorView& output);

// ---------------------------------------------------------------- 2. QUANTIZE / DEQUANTIZE
// float32 -> uint8/int8/int16 (per-tensor, or per-channel along quant.axis), and
// uint8/int8/int16 -> uint8/int8/int16 requantization (same-scale uint8<->int8
// with zero points 128 apart is a 0x80 flip).
Status Quantize(const TensorView& input, const TensorView& output);
// uint8/int8/int16/int32 (per-tensor or per-channel) and float16 -> float32.
Status Dequantize(const TensorView& input, const TensorView& output);

// ---------------------------------------------------------------- 3. SOFTMAX
// Over the last axis. float32 -> float32; uint8 -> uint8 (output scale 1/256,
// zero point 0); int8 -> int8 (output scale 1/256, zero point -128).
Status Softmax(const TensorView& input, float beta, const TensorView& output);

// ---------------------------------------------------------------- 4. SLICING / RESIZE
// SPLIT: input split into outputs.size() equal parts along `axis`.
Status Split(const TensorView& input, int axis, TensorList outputs);
// SPLIT_V: part sizes are taken from the outputs' shapes (the planner resolved
// size_splits, including a -1, at load time).
Status SplitV(const TensorView& input, int axis, TensorList outputs);

struct StridedSliceOptions {
  int32_t begin_mask = 0;
  int32_t end_mask = 0;
  int32_t ellipsis_mask = 0;
  int32_t new_axis_mask = 0;
  int32_t shrink_axis_mask = 0;
  bool offset = false;  // end = begin + end (TFLite StridedSliceOptions.offset)
};
// begin/end/strides have one entry per sliced dimension (the TFLite constant
// input tensors' contents). Any dtype (byte copies).
Status StridedSlice(const TensorView& input, std::span<const int32_t> begin,
                    std::span<const int32_t> end, std::span<const int32_t> strides,
                    const StridedSliceOptions& options, const TensorView& output);

// NHWC, any dtype; output H/W come from the output's shape.
Status ResizeNearestNeighbor(const TensorView& input, bool align_corners,
                             bool half_pixel_centers, const TensorView& output);

// ---------------------------------------------------------------- 5. SMALL OPS
// ARG_MAX / ARG_MIN over `axis` (removed in the output); input float32, int32,
// uint8, int8 (quantized values compare as integers, as TFLite does); output
// int32 or int64. Ties resolve to the lowest index.
Status ArgMax(const TensorView& input, int axis, const TensorView& output);
Status ArgMin(const TensorView& input, int axis, const TensorView& output);

// CAST between float32, int32, int64, uint8, int8, bool (C++ static_cast
// semantics as in TFLite: float->int truncates toward zero; x->bool is x != 0).
Status Cast(const TensorView& input, const TensorView& output);

enum class BinaryOp : uint8_t { kAdd, kSub, kMul, kDiv, kFloorDiv };
// Elementwise with NumPy broadcasting (rank <= 6), TFLite semantics:
//  - float32: add/sub/mul/div/floor_div (floor_div = floor(a / b));
//  - int32: add/sub/mul (wrapping is undefined in TFLite; we use 32-bit math),
//    div (truncating; division by zero -> error), floor_div (rounds toward
//    -infinity; division by zero -> error);
//  - uint8/int8: add/sub/mul with TFLite's fixed-point requantization
//    (reference kernels' multipliers and shifts).
// `activation` is clamped in the output's domain (quantized: in quantized units).
Status ElementwiseBinary(BinaryOp op, const TensorView& a, const TensorView& b,
                         FusedActivation activation, const TensorView& output);
inline Status Add(const TensorView& a, const TensorView& b, FusedActivation activation,
                  const TensorView& output) {
  return ElementwiseBinary(BinaryOp::kAdd, a, b, activation, output);
}
inline Status Sub(const TensorView& a, const TensorView& b, FusedActivation activation,
                  const TensorView& output) {
  return ElementwiseBinary(BinaryOp::kSub, a, b, activation, output);
}
inline Status Mul(const TensorView& a, const TensorView& b, FusedActivation activation,
                  const TensorView& output) {
  return ElementwiseBinary(BinaryOp::kMul, a, b, activation, output);
}
inline Status Div(const TensorView& a, const TensorView& b, FusedActivation activation,
                  const TensorView& output) {
  return ElementwiseBinary(BinaryOp::kDiv, a, b, activation, output);
}
inline Status FloorDiv(const TensorView& a, const TensorView& b, const TensorView& output) {
  return ElementwiseBinary(BinaryOp::kFloorDiv, a, b, FusedActivation::kNone, output);
}

// PACK: inputs (same shape and dtype) stacked along a new `axis` of the output.
Status Pack(TensorList inputs, int axis, const TensorView& output);
// UNPACK: input sliced along `axis` into outputs.size() tensors without that axis.
Status Unpack(const TensorView& input, int axis, TensorList outputs);

// GATHER_ND: params any dtype, indices int32/int64 [..., K]; out-of-range
// indices are an error (TFLite returns kTfLiteError).
Status GatherNd(const TensorView& params, const TensorView& indices, const TensorView& output);

// RESHAPE (and any same-size copy): byte copy; only element counts and dtypes
// must agree. A no-op when input and output share memory.
Status Reshape(const TensorView& input, const TensorView& output);

// LOGISTIC: float32, and uint8/int8 (output scale 1/256, zero point 0 / -128)
// computed as TFLite's optimized path does: a 256-entry table of
// quantize(sigmoid(dequantize(q))).
Status Logistic(const TensorView& input, const TensorView& output);

// ---------------------------------------------------------------- 6. DETECTION POSTPROCESS
// TFLite_Detection_PostProcess custom op.
struct DetectionPostProcessOptions {
  int32_t max_detections = 0;
  int32_t max_classes_per_detection = 1;
  int32_t detections_per_class = 100;
  float nms_score_threshold = 0.0f;
  float nms_iou_threshold = 0.0f;
  int32_t num_classes = 0;
  float y_scale = 0.0f;
  float x_scale = 0.0f;
  float h_scale = 0.0f;
  float w_scale = 0.0f;
  bool use_regular_nms = false;
};
// Parses the op's custom_options (a FlexBuffers map), with TFLite's defaults for
// absent keys (detections_per_class 100, max_classes_per_detection 1,
// use_regular_nms false). Validates value ranges.
Result<DetectionPostProcessOptions> ParseDetectionPostProcessOptions(const uint8_t* flexbuffer,
                                                                     size_t size);

// Bytes of scratch memory DetectionPostProcess needs for `num_anchors` anchors.
size_t DetectionPostProcessScratchBytes(const DetectionPostProcessOptions& options,
                                        int num_anchors);
// inputs: box_encodings [1, A, >=4] (float32 or uint8/int8 quantized),
//         class_predictions [1, A, num_classes + 1] (float32 or uint8/int8; class 0
//         is background and is skipped), anchors [A, 4] (ycenter, xcenter, h, w;
//         float32 or quantized).
// outputs: boxes [1, max_detections, 4] float32 (ymin, xmin, ymax, xmax),
//          classes [1, max_detections] float32, scores [1, max_detections] float32,
//          num_detections [1] float32.
// scratch: at least DetectionPostProcessScratchBytes(options, A) bytes.
Status DetectionPostProcess(const DetectionPostProcessOptions& options,
                            const TensorView& box_encodings,
                            const TensorView& class_predictions, const TensorView& anchors,
                            TensorList outputs, std::span<std::byte> scratch);

}  // namespace edgepipe::engine::kernels
