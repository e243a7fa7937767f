// Internal interface between conv_int8_vnni.cc (portable: validation, packing)
// and conv_int8_vnni_avx512.cc (the only file compiled with AVX-512 flags).
// Plain data only: no inline functions or templates may be shared with the
// AVX-512 translation unit, or the linker could keep an AVX-512 copy of them.
#pragma once

#include <cstdint>

namespace edgepipe::engine::kernels::vnni {

inline constexpr int kChunkPixels = 96;  // output pixels per chunk (im2col'd together; multiple of kRows)
// Micro-tile: 8 pixels x 48 channels = 24 accumulators (+ 3 weight vectors and
// the broadcast activations: 28 of the 32 registers). Measured on Zen 5 for
// tf2_mobilenet / mobilenet_v2_quant's convs (1 thread, ms): 4x64 0.98/0.99,
// 6x64 0.94/0.95, 8x32 0.96/0.95, 8x48 0.94/0.93. The tile loops must stay
// fully unrolled (conv_int8_vnni_avx512.cc) or GCC keeps accumulators in memory.
inline constexpr int kRows = 8;
inline constexpr int kBlocksPerTile = 3;  // 16-channel blocks per micro-tile (48 channels)

// vpdpbusd multiplies unsigned by signed bytes. Activations are the unsigned
// operand. int8 ones are flipped in the micro-kernel (x ^ 0x80 = x + 128) and
// the weights kept: the +128 is a per-channel term, -128 * sum(w), folded into
// the bias. uint8 ones are used as they are against weights - 128; with the
// filter zero point that leaves a per-pixel term,
//   acc = dot + row_sum_mult * (sum of the pixel's K activation bytes) + bias,
// the byte sum computed once per pixel (before the micro-kernels run).
struct ConvArgs {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t k;          // k_h * k_w * in_c
  int32_t k_padded;   // k rounded up to a multiple of 4
  int32_t n_blocks;   // ceil(out_c / 16)
  bool u8;            // uint8 activations and outputs (else int8)
  bool direct;        // 1x1 stride 1 without padding, in_c % 4 == 0: rows read in place, no im2col
  const int8_t* packed_weights;  // [n_blocks][k_padded / 4][16][4]: w - 128 (uint8) or w (int8)
  const int32_t* bias;           // [n_blocks * 16]: see above
  const float* scale;            // [n_blocks * 16]: input_scale * filter_scale / output_scale
  int32_t row_sum_mult;          // 128 - filter zero point (uint8 only)
  int32_t output_zero_point, act_min, act_max;
  uint8_t pad_value;  // the input zero point's byte: padded taps then add nothing
};

// Computes output pixels [pixel_begin, pixel_end) (flattened N*OH*OW), channel
// blocks [block_begin, block_end) of them.
// scratch: kChunkPixels * k_padded + 64 bytes, 64-byte aligned (unused when direct);
// sums: kChunkPixels int32 (uint8 only).
void RunPixels(const ConvArgs& args, const uint8_t* input, uint8_t* output, int64_t pixel_begin, int64_t pixel_end,
               int block_begin, int block_end, uint8_t* scratch, int32_t* sums);

}  // namespace edgepipe::engine::kernels::vnni
