// AVERAGE_POOL_2D for uint8/int8 with TFLite's integer rounding. Written by the
// engine work (not part of kernels.h, which the kernels work owns): XNNPACK's
// quantized average pooling of this snapshot rounds differently from TFLite,
// which shifts classifier logits by one step on a few percent of channels.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine::kernels {

struct Pool2DParams {
  int32_t filter_height = 1;
  int32_t filter_width = 1;
  int32_t stride_height = 1;
  int32_t stride_width = 1;
  bool same_padding = false;  // TFLite SAME (pad = max(0, ((out-1)*stride + filter - in) / 2) at top/left)
  FusedActivation activation = FusedActivation::kNone;
};

// NHWC input and output; both must share one per-tensor quantization (TFLite
// requires it). Each output is the mean of the window's valid (unpadded)
// elements: (sum + count/2) / count for uint8; for int8 rounded half away from
// zero. The fused activation clamps in quantized units.
Status AveragePool2DQuantized(const TensorView& input, const Pool2DParams& params, const TensorView& output);

}  // namespace edgepipe::engine::kernels
