// Internal interface between conv_q8.cc (portable: validation, the variant
// table, weight packing) and the variants' hot loops: conv_q8_generic.cc and,
// in x86-64 builds only, conv_q8_{avx2,avxvnni,avx512}.cc (each the only file
// compiled with its ISA's flags). Plain data and declarations only: no inline
// functions or templates may be shared with an ISA translation unit, or the
// linker could keep that ISA's copy of them for every caller.
#pragma once

#include <cstdint>

namespace edgepipe::engine::kernels::q8conv {

// Per-variant tiling. chunk: output pixels im2col'd together (a multiple of
// rows); rows x blocks: the micro-tile (pixels x channel blocks).
namespace avx512 {
inline constexpr int kChunkPixels = 96;
// 8 pixels x 48 channels = 24 accumulators (+ 3 weight vectors and the
// broadcast activations: 28 of the 32 registers). Measured on Zen 5 for
// tf2_mobilenet / mobilenet_v2_quant's convs (1 thread, ms): 4x64 0.98/0.99,
// 6x64 0.94/0.95, 8x32 0.96/0.95, 8x48 0.94/0.93. The tile loops must stay
// fully unrolled (conv_q8_avx512.cc) or GCC keeps accumulators in memory.
inline constexpr int kRows = 8;
inline constexpr int kBlocksPerTile = 3;  // 16-channel blocks per micro-tile (48 channels)
}  // namespace avx512
namespace avxvnni {
inline constexpr int kChunkPixels = 96;
// 4 pixels x 16 channels: 8 accumulators, 2 weight vectors, the broadcast and
// the int8 flip constant: 12 of the 16 ymm registers, no spills. Per 4 K
// values 6 loads feed 8 vpdpbusd, so the loads do not limit it.
inline constexpr int kRows = 4;
inline constexpr int kBlocksPerTile = 2;  // 8-channel blocks
}  // namespace avxvnni
namespace avx2 {
inline constexpr int kChunkPixels = 48;  // int16 rows: twice the bytes of the u8 ones
// 4 pixels x 16 channels: 8 accumulators, 2 weight vectors, the broadcast pair
// and vpmaddwd's product (12 ymm registers); 6 loads per 8 vpmaddwd.
inline constexpr int kRows = 4;
inline constexpr int kBlocksPerTile = 2;  // 8-channel blocks
}  // namespace avx2
namespace generic {
inline constexpr int kChunkPixels = 32;
inline constexpr int kRows = 1;
inline constexpr int kBlocksPerTile = 8;  // 1-channel blocks
}  // namespace generic

// The vpdpbusd variants (avx512, avxvnni) multiply unsigned by signed bytes.
// Activations are the unsigned operand. int8 ones are flipped in the micro-
// kernel (x ^ 0x80 = x + 128) and the weights kept: the +128 is a per-channel
// term, -128 * sum(w), folded into the bias. uint8 ones are used as they are
// against weights - 128; with the filter zero point that leaves a per-pixel term,
//   acc = dot + row_sum_mult * (sum of the pixel's K activation bytes) + bias,
// the byte sum computed once per pixel (before the micro-kernels run).
// The int16 variants (avx2, generic) need none of this: rows hold x - input
// zero point, weights w - filter zero point, the bias is the model's.
struct ConvArgs {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t k;          // k_h * k_w * in_c
  int32_t k_padded;   // k rounded up to the variant's K group (4, 2 or 1)
  int32_t n_blocks;   // ceil(out_c / the variant's block channels)
  bool u8;            // uint8 activations and outputs (else int8)
  bool direct;        // vpdpbusd variants: 1x1 stride 1 without padding, in_c % 4 == 0: rows read in place
  const int8_t* packed_weights;  // the variant's layout (conv_q8.cc's packers)
  const int32_t* bias;           // [n_blocks * block channels]: see above
  const float* scale;            // [n_blocks * block channels]: input_scale * filter_scale / output_scale
  int32_t row_sum_mult;          // 128 - filter zero point (uint8, vpdpbusd variants only)
  int32_t input_zero_point, filter_zero_point;
  int32_t output_zero_point, act_min, act_max;
  uint8_t pad_value;  // the input zero point's byte: padded taps then add nothing
};

// Computes output pixels [pixel_begin, pixel_end) (flattened N*OH*OW), channel
// blocks [block_begin, block_end) of them. scratch: the variant's im2col rows
// (conv_q8.cc sizes them), 64-byte aligned, any content; sums: chunk int32.
using RunFn = void (*)(const ConvArgs& args, const uint8_t* input, uint8_t* output, int64_t pixel_begin,
                       int64_t pixel_end, int block_begin, int block_end, uint8_t* scratch, int32_t* sums);

void RunGeneric(const ConvArgs&, const uint8_t*, uint8_t*, int64_t, int64_t, int, int, uint8_t*, int32_t*);
#if defined(__x86_64__)
void RunAvx2(const ConvArgs&, const uint8_t*, uint8_t*, int64_t, int64_t, int, int, uint8_t*, int32_t*);
void RunAvxVnni(const ConvArgs&, const uint8_t*, uint8_t*, int64_t, int64_t, int, int, uint8_t*, int32_t*);
void RunAvx512(const ConvArgs&, const uint8_t*, uint8_t*, int64_t, int64_t, int, int, uint8_t*, int32_t*);
#endif

}  // namespace edgepipe::engine::kernels::q8conv
