// 8-bit DEPTHWISE_CONV_2D (depth multiplier 1), in TFLite's two
// quantized forms: int8 activations with symmetric per-channel (or per-tensor)
// int8 weights, and uint8 activations with uint8 weights that have one zero
// point. Written by the engine work: Debian's 2022 XNNPACK runs these ops with
// a vpmulld kernel that took 40 % of tf2_mobilenet_v2_ptq's time once the convs
// moved to conv_q8.h.
//
// Variants (dwconv_q8.cc lists them; each packs the weights its own way):
// avx512 (below), avx2 (pairs of taps interleaved as int16 x - zero point,
// vpmaddwd, 16 channels at a time: exact, no saturation) and generic (plain
// C++, any CPU, the reference the others are tested against). All give the
// same bytes.
//
// avx512 method (dwconv_q8_impl.h has the layout): for one output row and 64
// channels, each input column the row needs is turned once into "column
// groups", the bytes of 4 kernel rows at that column interleaved per channel,
// which is the operand layout of vpdpbusd: one instruction then adds 4 taps of
// 16 channels. An output pixel is KW (x ceil(KH/4)) such dot products of 4
// vectors against weights packed the same way at load time. The columns are
// built once and read by every output pixel whose window covers them, so
// stride 1 interleaves each input byte once per output row instead of KW times.
//
// Requantization is XNNPACK's fp32 one (what LiteRT runs), as in
// conv_q8.h, so outputs are bit-identical to LiteRT's.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/cpu/cpu_features.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine::kernels {

// Whether the variant chosen under `cap` is faster than Debian's 2022 XNNPACK
// on this CPU (measured per variant; the generic one is not).
bool DepthwiseQ8AheadOfXnnpack(Isa cap = EnvIsaCap());

// Whether the variant chosen under `cap` is expected to beat Debian's XNNPACK
// on this shape (each variant has its rule; dwconv_q8.cc).
bool DepthwiseQ8Worthwhile(int32_t channels, int32_t stride_width, Isa cap = EnvIsaCap());

class DepthwiseConvQ8 {
 public:
  // input NHWC int8 or uint8 (per-tensor), filter [1, KH, KW, C] of the same
  // type, constant (int8: zero points 0; uint8: one zero point; scales per
  // channel along axis 3 or per tensor), bias int32 [C] or null, output NHWC
  // [N, OH, OW, C] of the same type (per-tensor). The work (output rows x
  // channel blocks) is split into `num_parts` parts that may run concurrently.
  // The variant is the best one the CPU runs at or under `cap`.
  static Result<std::unique_ptr<DepthwiseConvQ8>> Create(const TensorView& input, const TensorView& filter,
                                                         const TensorView* bias, const TensorView& output,
                                                         const ConvParams& params, int num_parts = 1,
                                                         Isa cap = EnvIsaCap());
  ~DepthwiseConvQ8();

  // The ISA of every variant this CPU runs (for tests: Create with each as cap).
  static std::vector<Isa> HostIsas();
  // "generic", "avx2" or "avx512".
  std::string_view variant() const;

  int num_parts() const { return num_parts_; }
  Status RunPart(const TensorView& input, const TensorView& output, int part);
  // Every part on the calling thread.
  Status Run(const TensorView& input, const TensorView& output);

  struct Impl;

 private:
  DepthwiseConvQ8() = default;
  std::unique_ptr<Impl> impl_;
  int num_parts_ = 1;
};

}  // namespace edgepipe::engine::kernels
