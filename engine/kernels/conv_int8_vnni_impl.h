// Internal interface between conv_int8_vnni.cc (portable: validation, packing)
// and conv_int8_vnni_avx512.cc (the only file compiled with AVX-512 flags).
// Plain data only: no inline functions or templates may be shared with the
// AVX-512 translation unit, or the linker could keep an AVX-512 copy of them.
#pragma once

#include <cstdint>

namespace edgepipe::engine::kernels::vnni {

inline constexpr int kChunkPixels = 96;  // output pixels im2col'd per chunk (multiple of kRows)
// Output pixels per micro-tile: 4 x 64 channels = 16 accumulators. With 6 rows
// (24 accumulators + 4 weight vectors) GCC 12 shuffles and spills registers in
// the inner loop and tf2_mobilenet's convs take 1.80 ms instead of 1.27 ms.
inline constexpr int kRows = 4;
inline constexpr int kBlocksPerTile = 4;  // 16-channel blocks per micro-tile (64 channels)

struct ConvArgs {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t k;         // k_h * k_w * in_c
  int32_t k_padded;  // k rounded up to a multiple of 4
  int32_t n_blocks;  // ceil(out_c / 16)
  const int8_t* packed_weights;  // [n_blocks][k_padded / 4][16][4]
  const int32_t* bias;           // [n_blocks * 16]: bias - (128 + input_zp) * sum(w)
  const float* scale;            // [n_blocks * 16]: input_scale * filter_scale / output_scale
  int32_t output_zero_point, act_min, act_max;
  uint8_t pad_value;  // input zero point + 128
};

// Computes output pixels [pixel_begin, pixel_end) (flattened N*OH*OW).
// scratch: kChunkPixels * k_padded bytes, 64-byte aligned.
void RunPixels(const ConvArgs& args, const int8_t* input, int8_t* output, int64_t pixel_begin, int64_t pixel_end,
               uint8_t* scratch);

}  // namespace edgepipe::engine::kernels::vnni
