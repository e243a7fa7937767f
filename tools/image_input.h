// Putting a picture into a model's image input, shared by the sub-commands
// that run models on images (`infer`, `bench`).
#pragma once

#include <opencv2/core.hpp>

#include "core/status.h"
#include "engine/tensor_view.h"

namespace edgepipe::tools {

// An input shaped [1, H, W, 3] (RGB) or [1, H, W, 1] (grey).
bool IsImageInput(const engine::TensorView& t);

// Resizes `bgr` to the input's H x W (bilinear), converts to RGB (or grey for a
// 1-channel input) and writes it
// in the input's dtype: uint8 as is, int8 as pixel - 128, float32 as
// (pixel - mean) / std. Other dtypes are an error naming the input.
Status FillImageInput(const cv::Mat& bgr, float mean, float std, engine::TensorView& t);

}  // namespace edgepipe::tools
