// fp32 CONV_2D and DEPTHWISE_CONV_2D (NHWC, constant fp32 weights and bias)
// on our kernels. Written by the engine work (not part of kernels.h):
// Debian's 2022 XNNPACK runs them on load-bound 7x16 GEMM and unrolled
// depthwise kernels that take up to 2x LiteRT's time (docs/benchmarks.md).
//
// Variants, chosen at Create under an ISA cap (engine/cpu/cpu_features.h):
// "avx512" (16 lanes, 6x64 GEMM tile), "avx2" (AVX2 + FMA, 8 lanes, 6x16)
// and "generic" (portable C++, what other CPUs run and the reference the
// others are tested against). Each packs the weights in its own layout; all
// sum in the same order (below), so their outputs differ by rounding only.
// What follows describes the SIMD variants.
//
// Depthwise (depth multiplier 1): direct, 16 channels x up to 8 output pixels
// of a row in registers; each loaded input pixel feeds every tap that reads
// it. 3x3 and 5x5 at stride 1 or 2 are unrolled; other sizes and dilations
// take a per-pixel loop.
// Convolution: GEMM of output pixels x output channels with weights packed at
// load time in 64-channel tiles; 1x1 stride-1 convs read the input rows
// directly, others im2col a chunk of pixels first.
// Accumulation starts from the bias and runs over taps (and input channels)
// in TFLite's order, one fused multiply-add each. A CONV_2D may take over the
// ADD and PRELU that follow it (ConvF32Epilogue): the output is then written
// once instead of being read and written twice more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/status.h"
#include "engine/cpu/cpu_features.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine::kernels {

// Whether the variant chosen under `cap` beats Debian's XNNPACK (the SIMD
// ones; generic does not), so the engine should try it first.
bool ConvF32AheadOfXnnpack(Isa cap);

// Ops fused after a CONV_2D: output = prelu(act(conv + bias + residual)),
// where act is ConvParams::activation.
struct ConvF32Epilogue {
  // A tensor of the output's shape (an ADD's other operand), passed to Run.
  const TensorView* residual = nullptr;
  // PRELU slopes: float32 constant, one per output channel (shape [..., C]
  // with ones before) or a single one.
  const TensorView* prelu_alpha = nullptr;
};

class ConvF32 {
 public:
  // CONV_2D: input NHWC float32, filter OHWI float32 constant with I equal to
  // the input channels (no groups), bias float32 [O] or null, output NHWC.
  static Result<std::unique_ptr<ConvF32>> Create(const TensorView& input, const TensorView& filter,
                                                 const TensorView* bias, const TensorView& output,
                                                 const ConvParams& params, int num_parts = 1,
                                                 const ConvF32Epilogue& epilogue = {}, Isa cap = EnvIsaCap());
  // DEPTHWISE_CONV_2D with depth multiplier 1: filter [1, KH, KW, C].
  static Result<std::unique_ptr<ConvF32>> CreateDepthwise(const TensorView& input, const TensorView& filter,
                                                          const TensorView* bias, const TensorView& output,
                                                          const ConvParams& params, int num_parts = 1,
                                                          Isa cap = EnvIsaCap());
  ~ConvF32();

  // The chosen variant: "generic", "avx2" or "avx512".
  std::string_view variant() const;

  // The work is split into num_parts independent parts; parts may run
  // concurrently, each with its own scratch of scratch_bytes_per_part() bytes
  // (64-byte aligned, any content: the kernel does not rely on it).
  int num_parts() const { return num_parts_; }
  size_t scratch_bytes_per_part() const;
  // residual: required exactly when the epilogue has one.
  Status RunPart(const TensorView& input, const TensorView& output, int part, std::byte* scratch,
                 const TensorView* residual = nullptr);
  // Runs every part on the calling thread, with scratch of its own (filled
  // with NaN bytes, so that tests catch a kernel relying on zeroed scratch).
  Status Run(const TensorView& input, const TensorView& output, const TensorView* residual = nullptr);

  struct Impl;

 private:
  ConvF32() = default;
  std::unique_ptr<Impl> impl_;
  int num_parts_ = 1;
};

}  // namespace edgepipe::engine::kernels
