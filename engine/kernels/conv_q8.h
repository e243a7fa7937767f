// 8-bit CONV_2D, in TFLite's two quantized forms:
// int8 activations with symmetric per-channel (or per-tensor) int8 weights, and
// uint8 activations with uint8 weights that have a zero point (per-tensor
// asymmetric, the older quantization); int32 bias either way. Written by the
// engine work (not part of kernels.h): Debian's 2022 XNNPACK has no VNNI kernels.
//
// Variants (conv_q8.cc lists them; each packs the weights its own way):
//  - avx512, avxvnni: a u8 x s8 GEMM on `vpdpbusd` (zmm / ymm), weights packed
//    at load time as [Cout/16 or /8][K/4][16 or 8][4]. 1x1 stride-1 convs read
//    the NHWC input in place; others im2col a chunk of output pixels first
//    (padded taps hold the input zero point, so they add 0 as in TFLite).
//    vpdpbusd's unsigned/signed operands are handled without touching the
//    activations: conv_q8_impl.h (ConvArgs) gives the algebra, a per-pixel
//    byte sum times a constant plus a per-channel term folded into the bias.
//  - avx2: im2col into int16 (x - input zero point), weights int16 (w - filter
//    zero point) in pairs, `vpmaddwd`: exact, where vpmaddubsw's int16
//    saturation would not be.
//  - generic: the same int16 algebra in plain C++ (any CPU; the reference the
//    others are tested against).
// Every variant accumulates exactly in int32 and requantizes the same way, so
// all give the same bytes.
//
// Requantization is XNNPACK's fp32 one (what LiteRT runs, and what this
// engine's XNNPACK path did before): float(acc) * (input_scale * filter_scale
// / output_scale), min with act_max - zero point, round to nearest even, + zero
// point, clamp. TFLite's reference fixed-point rounding (MultiplyByQuantized-
// Multiplier) was tried first: bit-exact with TFLite's reference kernels, but
// 0.2 % of tf2_mobilenet's logits then differ from LiteRT by 2-4 steps, which
// fails tests/python/test_engine_vs_litert.py.
#pragma once

#include <cstddef>
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
bool ConvQ8AheadOfXnnpack(Isa cap = EnvIsaCap());

class ConvQ8 {
 public:
  // input NHWC int8 or uint8 (per-tensor), filter OHWI of the same type,
  // constant (int8: zero points 0; uint8: one zero point; scales per-channel
  // along axis 0 or per-tensor), bias int32 [Cout] or null, output NHWC of the
  // same type (per-tensor). Shapes are fixed from here on. The work is split
  // into `num_parts` independent parts. The variant is the best one the CPU
  // runs at or under `cap`.
  static Result<std::unique_ptr<ConvQ8>> Create(const TensorView& input, const TensorView& filter,
                                                const TensorView* bias, const TensorView& output,
                                                const ConvParams& params, int num_parts = 1, Isa cap = EnvIsaCap());
  ~ConvQ8();

  // The ISA of every variant this CPU runs (for tests: Create with each as cap).
  static std::vector<Isa> HostIsas();
  // "generic", "avx2", "avxvnni" or "avx512".
  std::string_view variant() const;

  int num_parts() const { return num_parts_; }
  // Working memory one part needs while it runs (64-byte aligned, any content).
  size_t scratch_bytes_per_part() const;
  // Runs part `part` in [0, num_parts); parts may run concurrently, each with
  // its own scratch.
  Status RunPart(const TensorView& input, const TensorView& output, int part, std::byte* scratch);
  // Runs every part on the calling thread, with scratch of its own (filled
  // with garbage, so that tests catch a kernel relying on zeroed scratch).
  Status Run(const TensorView& input, const TensorView& output);

  struct Impl;

 private:
  ConvQ8() = default;
  std::unique_ptr<Impl> impl_;
  int num_parts_ = 1;
};

}  // namespace edgepipe::engine::kernels
