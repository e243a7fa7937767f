// Internal interface between dwconv_q8.cc (portable: validation, the variant
// table, each variant's packing) and the variants' hot loops:
// dwconv_q8_generic.cc and, in x86-64 builds, dwconv_q8_{avx2,avx512}.cc (each
// the only file compiled with its ISA's flags). Plain data and declarations
// only, for the reason given in conv_q8_impl.h.
#pragma once

#include <cstdint>

namespace edgepipe::engine::kernels::dwq8 {

// The avx512 variant (the rest of this comment and DwArgs' fields up to
// pad_value are its; the int16 variants' layout follows DwArgs).
inline constexpr int kBlock = 64;  // channels per block: one zmm of bytes
// Column groups of one segment of an output row live in a stack buffer of this
// size (half of Zen 5's 48 KiB L1D: the input rows and weights stay in too).
inline constexpr int kScratchBytes = 24576;
inline constexpr int kMaxKernelHeight = 32;
inline constexpr int kMaxInt16Taps = 1024;  // avx2: tap pointers per pixel, on the stack

// Layout, for a block of 64 channels: vpdpbusd works within 128-bit lanes, and
// unpacking 4 rows of bytes (epi8 then epi16 unpacks) leaves, in vector j of
// the 4 a column group is made of, lane l dword q = channel 16l + 4j + q, its
// 4 bytes the 4 kernel rows. Weights are packed in that order and the int32
// accumulators come out in it; packs_epi32 then packs_epi16 of the 4 vectors
// put the channels back in natural order, with no permute.
//
// Zero points: int8 activations are flipped (x ^ 0x80 = x + 128, unsigned) and
// the weights kept, so acc = dot + bias - (128 + input_zp) * sum(w). uint8
// weights enter as w - 128 (their spread around the zero point does not fit in
// int8: mobilenet_v2_quant's w - zp reaches -203 and 205), which leaves
// (128 - filter_zp) * (sum of the pixel's taps), per channel; each column's
// share is one vpdpbusd against bytes (filter_zp - 128), kept with the column
// and subtracted per pixel. Padded taps hold the input zero point and so add
// nothing, as in TFLite.
struct DwArgs {
  int32_t batches, in_h, in_w, channels, out_h, out_w;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t groups;     // ceil(k_h / 4): 4 kernel rows per vpdpbusd
  int32_t n_blocks;   // channel blocks per output row: ceil(channels / 64), 1 when flat
  int32_t phases;     // weight sets: n_blocks, or channels / gcd(channels, 64) when flat
  int32_t segment;    // output pixels whose columns are built together (fits kScratchBytes)
  int32_t column_bytes;  // one column (or flat chunk): groups * 256 (+ 256 for the uint8 sums)
  bool u8;
  // Flat rows (stride_w 1, channels a multiple of 16 that 64-channel blocks
  // would leave a fifth or more unused, up to 3/4 for 16): an
  // output row is cut into 64-byte chunks whatever pixels they span. Each 16-
  // byte lane is then one pixel's channels, and tap kx's input for a chunk is
  // the same bytes kx * dil_w * channels further on, so the interleaved rows are
  // kept as 4 planes (one per vector j) that any multiple of 16 bytes can be
  // loaded from. Chunk k uses weight set k % phases (from a segment start,
  // which is a multiple of 64 bytes).
  bool flat;
  const int8_t* weights;  // [phases][k_w][groups][256]: w (int8) or w - 128 (uint8)
  const int32_t* bias;    // [phases][64] in accumulator order, with the zero point terms
  const float* scale;     // [phases][64] in accumulator order: input_scale * filter_scale / output_scale
  const uint32_t* sum_weights;  // [groups]: bytes filter_zp - 128 for the group's real rows, 0 past k_h (uint8)
  int32_t output_zero_point, act_min, act_max;
  uint8_t pad_value;  // the input zero point's byte
  // The int16 variants (avx2, generic): acc = bias + sum over taps of
  // (x - input zero point) (w - filter zero point), exact in int32; padded
  // taps read pad_pixel (channels + 16 bytes of the input zero point), which
  // then adds 0. avx2 multiplies x itself, its bias holding the input zero
  // point's term, -zp * sum(w - filter zero point). avx2: weights int16 [ceil(C / 16)][ceil(taps / 2)][2][16],
  // taps 2t and 2t + 1 interleaved as vpunpck{l,h}wd leave them (vector 0:
  // channels 0-3 and 8-11, vector 1: 4-7 and 12-15), bias and scale
  // [ceil(C / 16)][16] in that accumulator order; generic: weights [taps][C],
  // bias and scale [C]. n_blocks is 1 (a unit is an output row).
  int32_t input_zero_point;
  const uint8_t* pad_pixel;
};

// Compute units [unit_begin, unit_end), unit u = (output row u / n_blocks of
// the flattened N*OH rows, channel block u % n_blocks).
using RunFn = void (*)(const DwArgs& args, const uint8_t* input, uint8_t* output, int64_t unit_begin,
                       int64_t unit_end);
void RunGeneric(const DwArgs&, const uint8_t*, uint8_t*, int64_t, int64_t);
#if defined(__x86_64__)
void RunAvx2(const DwArgs&, const uint8_t*, uint8_t*, int64_t, int64_t);
void RunAvx512(const DwArgs&, const uint8_t*, uint8_t*, int64_t, int64_t);
#endif

}  // namespace edgepipe::engine::kernels::dwq8
