// Internal interface between conv_f32.cc (portable: validation, packing) and
// conv_f32_avx512.cc (the only file compiled with AVX-512 flags). Plain data
// only: no inline functions or templates may be shared with the AVX-512
// translation unit, or the linker could keep an AVX-512 copy of them.
#pragma once

#include <cstdint>

namespace edgepipe::engine::kernels::f32conv {

// Output channels per packed weight tile of the GEMM: four 16-lane blocks.
inline constexpr int kTileChannels = 64;

// Geometry shared by both kernels (NHWC, dilation only in the generic paths).
struct Geometry {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
};

struct DepthwiseArgs {
  Geometry g;
  int32_t c_blocks;      // ceil(channels / 16)
  int32_t padded_w;      // ring row width: pad_left + in_w + right padding (conv_f32_avx512.cc)
  const float* weights;  // [c_blocks][k_h * k_w][16], zero past the last channel
  const float* bias;     // [c_blocks * 16]
  const float* zero_row; // c_blocks * padded_w * 16 zeros: kernel rows above or below the image
  float act_min, act_max;
};

// Computes output rows [row_begin, row_end) of the flattened N*OH rows.
// scratch: k_h * c_blocks * padded_w * 16 floats, 64-byte aligned, any content.
void DepthwiseRows(const DepthwiseArgs& args, const float* input, float* output, int64_t row_begin, int64_t row_end,
                   float* scratch);

struct GemmArgs {
  Geometry g;
  int32_t k;              // k_h * k_w * in_c: the GEMM depth
  bool pointwise;         // 1x1, stride 1, no padding: the input rows are the GEMM rows
  int32_t chunk_pixels;   // pixels per chunk (pointwise) or per im2col batch; multiple of 24
  const float* weights;   // per 64-channel tile t: [k][width_t], width_t = min(64, 16 * blocks left)
  const float* bias;      // [ceil(out_c / 16) * 16]
  const float* prelu_alpha;  // [ceil(out_c / 16) * 16] or null: fused PRELU
  float act_min, act_max;    // applied after the residual
};

// Computes output pixels [pixel_begin, pixel_end) of the flattened N*OH*OW;
// ranges not starting on an output row are fine. residual: null, or a tensor
// of the output's shape added before the activation (a fused ADD).
// scratch: chunk_pixels * k floats (unused when pointwise), 64-byte aligned.
void GemmPixels(const GemmArgs& args, const float* input, float* output, const float* residual, int64_t pixel_begin,
                int64_t pixel_end, float* scratch);

}  // namespace edgepipe::engine::kernels::f32conv
