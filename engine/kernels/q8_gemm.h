// The int8 x int8 -> int32 dot products under the hybrid ops (float
// activations, int8 weights: FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D as
// TFLite's dynamic-range quantization writes them) and TFLite's on-the-fly
// quantization of their float inputs. Written by the engine work (not part of
// kernels.h): Debian's 2022 XNNPACK has no dynamically quantized operators.
//
// Variants (q8_gemm.cc lists them; all take the same packed weights, rows of
// k_padded bytes, and give the same int32 sums):
//  - avx512: `vpdpbusd` on zmm (AVX-512 VNNI). It multiplies unsigned by
//    signed bytes: the activation rows are flipped (x ^ 0x80 = x + 128) in the
//    loop and 128 * sum(w) taken off per channel.
//  - avx2: both operands widened to int16, `vpmaddwd` (exact).
//  - generic: plain C++ (any CPU; the reference the others are tested against).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/cpu/cpu_features.h"

namespace edgepipe::engine::kernels {

class Int8Gemm {
 public:
  // weights: n rows of k int8 values (output channel major, as TFLite stores
  // FULLY_CONNECTED and OHWI CONV_2D filters). The variant is the best the CPU
  // runs at or under `cap`.
  static Result<std::unique_ptr<Int8Gemm>> Create(const int8_t* weights, int n, int k, Isa cap);
  ~Int8Gemm();

  // The ISA of every variant this CPU runs (tests: Create with each as cap).
  static std::vector<Isa> HostIsas();
  std::string_view variant() const;

  int n() const { return n_; }
  int k() const { return k_; }
  // Stride of the activation rows Run reads; bytes past k may hold anything.
  int k_padded() const { return k_padded_; }
  // sum over k of w[c][k], per channel (for the asymmetric inputs' zero point).
  const int32_t* weight_sums() const { return sums_.data(); }

  // acc[r * acc_stride + (c - c_begin)] = sum_k rows[r * k_padded + k] * w[c][k]
  // for r in [0, num_rows), c in [c_begin, c_end).
  void Run(const int8_t* rows, int num_rows, int c_begin, int c_end, int32_t* acc, int64_t acc_stride) const;

  struct Variant;

 private:
  Int8Gemm() = default;
  const Variant* variant_ = nullptr;
  int n_ = 0, k_ = 0, k_padded_ = 0;
  std::unique_ptr<int8_t[], void (*)(void*)> weights_{nullptr, nullptr};
  std::vector<int32_t> sums_;
};

// TFLite's tensor_utils::SymmetricQuantizeFloats: scale = max|x| / 127, q =
// round_half_away(x * 127 / max|x|) clamped to +-127 (all zeros: scale 1).
void SymmetricQuantizeFloats(const float* values, int64_t size, int8_t* quantized, float* scale);
// TFLite's tensor_utils::AsymmetricQuantizeFloats: the range [min(0, min x),
// max(0, max x)] onto [-128, 127] with the zero point nudged to an integer
// (in double from the float scale, as LiteRT does); q = round_half_away(zp + x / scale).
void AsymmetricQuantizeFloats(const float* values, int64_t size, int8_t* quantized, float* scale,
                              int32_t* zero_point);

}  // namespace edgepipe::engine::kernels
