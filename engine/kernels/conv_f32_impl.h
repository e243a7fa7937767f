// Internal interface between conv_f32.cc (portable: validation, geometry,
// the variant table) and the variants' hot loops: conv_f32_generic.cc
// (portable C++), conv_f32_avx2.cc and conv_f32_avx512.cc (the only files
// compiled with those ISA flags). Plain data and declarations only: no inline
// functions or templates may be shared with an ISA translation unit, or the
// linker could keep its wider-instruction copy of them.
#pragma once

#include <cstdint>

namespace edgepipe::engine::kernels::f32conv {

// Each variant's weight layout: output channels in blocks of kLanes (one
// vector), kTileChannels of them per packed GEMM weight tile. The packing in
// conv_f32.cc and the variant's loops both read these.
namespace generic {
inline constexpr int kLanes = 8;
inline constexpr int kTileChannels = 16;
}  // namespace generic
namespace avx2 {
inline constexpr int kLanes = 8;
inline constexpr int kTileChannels = 16;  // 6x16 micro-tile: 12 accumulators of 16 ymm
}  // namespace avx2
namespace avx512 {
inline constexpr int kLanes = 16;
inline constexpr int kTileChannels = 64;  // 6x64 micro-tile: 24 accumulators of 32 zmm
}  // namespace avx512

// Geometry shared by both kernels (NHWC, dilation only in the generic paths).
struct Geometry {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
};

struct DepthwiseArgs {
  Geometry g;
  int32_t c_blocks;      // ceil(channels / lanes)
  int32_t padded_w;      // SIMD ring row width: pad_left + in_w + right padding
  // SIMD variants: [c_blocks][k_h * k_w][lanes], zero past the last channel;
  // generic: [k_h * k_w][channels] (TFLite's layout).
  const float* weights;
  const float* bias;     // [c_blocks * lanes]
  const float* zero_row; // c_blocks * padded_w * lanes zeros: kernel rows above or below the image
  float act_min, act_max;
};

struct GemmArgs {
  Geometry g;
  int32_t k;              // k_h * k_w * in_c: the GEMM depth
  bool pointwise;         // 1x1, stride 1, no padding: the input rows are the GEMM rows
  int32_t chunk_pixels;   // pixels per chunk (pointwise) or per im2col batch; multiple of 24
  // Per tile t of the variant's kTileChannels: [k][width_t], width_t =
  // min(kTileChannels, channels left rounded up to kLanes); zero past out_c.
  const float* weights;
  const float* bias;         // [ceil(out_c / lanes) * lanes]
  const float* prelu_alpha;  // [ceil(out_c / lanes) * lanes] or null: fused PRELU
  float act_min, act_max;    // applied after the residual
};

// Each variant defines, in its own namespace:
//
// Depthwise: output rows [row_begin, row_end) of the flattened N*OH rows.
// scratch: DepthwiseScratchFloats(args) floats, 64-byte aligned, any content.
//   void DepthwiseRows(const DepthwiseArgs&, const float* input, float* output,
//                      int64_t row_begin, int64_t row_end, float* scratch);
//
// GEMM: output pixels [pixel_begin, pixel_end) of the flattened N*OH*OW;
// ranges not starting on an output row are fine. residual: null, or a tensor
// of the output's shape added before the activation (a fused ADD).
// scratch: chunk_pixels * k floats (unused when pointwise), 64-byte aligned.
//   void GemmPixels(const GemmArgs&, const float* input, float* output,
//                   const float* residual, int64_t pixel_begin, int64_t pixel_end,
//                   float* scratch);
#define EDGEPIPE_F32CONV_DECLARE_VARIANT(ns)                                                                         \
  namespace ns {                                                                                                     \
  void DepthwiseRows(const DepthwiseArgs& args, const float* input, float* output, int64_t row_begin,              \
                     int64_t row_end, float* scratch);                                                              \
  void GemmPixels(const GemmArgs& args, const float* input, float* output, const float* residual,                  \
                  int64_t pixel_begin, int64_t pixel_end, float* scratch);                                          \
  }

EDGEPIPE_F32CONV_DECLARE_VARIANT(generic)
#if defined(__x86_64__)
EDGEPIPE_F32CONV_DECLARE_VARIANT(avx2)
EDGEPIPE_F32CONV_DECLARE_VARIANT(avx512)
#endif
#undef EDGEPIPE_F32CONV_DECLARE_VARIANT

}  // namespace edgepipe::engine::kernels::f32conv
