// FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D in the forms TensorFlow's
// converter and litert-quantizer write that Debian's 2022 XNNPACK cannot run:
//  - hybrid (dynamic-range quantization): float input and output, int8
//    constant weights (per-tensor or per-channel), float bias. As TFLite does,
//    the input is quantized to int8 on the fly (FULLY_CONNECTED per batch row,
//    symmetric or, with asymmetric_quantize_inputs, with a zero point; the
//    convolutions per batch image: asymmetric when the filter has per-channel
//    scales, else symmetric), the dot products are int8 x int8 in int32
//    (q8_gemm.h), and each sum is scaled back to float with input scale x
//    weight scale before the bias and the activation;
//  - int8 FULLY_CONNECTED with per-channel weights: the int8 1x1 convolution
//    of conv_q8.h over [rows, 1, 1, K], whose requantization is XNNPACK's fp32
//    one (what LiteRT runs).
//
// Common shape: Create validates and packs (shapes fixed from then on; working
// memory is the kernel's own, allocated here), Prepare(input) runs once per
// invoke before the parts (the input's quantization), RunPart(part) for part
// in [0, num_parts) may run concurrently. The variant is chosen under `cap`.
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

class Int8Gemm;
class ConvQ8;

// Float bounds of a fused activation (TFLite CalculateActivationRange).
struct FloatRange {
  float min, max;
};
FloatRange FloatActivationRange(FusedActivation activation);

class HybridFullyConnected {
 public:
  // input float [..., K] (rows = elements / K), filter int8 [N, K] (zero
  // points 0; one scale or N along axis 0), bias float [N] or null, output
  // float with rows x N elements.
  static Result<std::unique_ptr<HybridFullyConnected>> Create(const TensorView& input, const TensorView& filter,
                                                              const TensorView* bias, const TensorView& output,
                                                              FusedActivation activation, bool asymmetric_inputs,
                                                              int num_parts, Isa cap);
  ~HybridFullyConnected();
  std::string_view variant() const;
  int num_parts() const { return num_parts_; }
  Status Prepare(const TensorView& input);
  Status RunPart(const TensorView& output, int part);
  // Prepare + every part on the calling thread.
  Status Run(const TensorView& input, const TensorView& output);

 private:
  HybridFullyConnected() = default;
  std::unique_ptr<Int8Gemm> gemm_;
  int rows_ = 0, n_ = 0, k_ = 0, num_parts_ = 1;
  bool asymmetric_ = false;
  FloatRange range_{};
  std::vector<float> filter_scale_, bias_;
  std::vector<int8_t> quantized_;     // rows x k_padded
  std::vector<float> row_scale_;      // per row
  std::vector<int32_t> row_zero_;     // per row
  std::vector<int32_t> acc_;          // rows x N
  size_t input_elements_ = 0, output_elements_ = 0;
};

class HybridConv {
 public:
  // input float NHWC, filter int8 OHWI (zero points 0; one scale or one per
  // output channel along axis 0), bias float [O] or null, output float NHWC.
  static Result<std::unique_ptr<HybridConv>> Create(const TensorView& input, const TensorView& filter,
                                                    const TensorView* bias, const TensorView& output,
                                                    const ConvParams& params, int num_parts, Isa cap);
  ~HybridConv();
  std::string_view variant() const;
  int num_parts() const { return num_parts_; }
  Status Prepare(const TensorView& input);
  Status RunPart(const TensorView& output, int part);
  Status Run(const TensorView& input, const TensorView& output);

  struct Geometry {
    int n, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  };

 private:
  HybridConv() = default;
  std::unique_ptr<Int8Gemm> gemm_;
  Geometry g_{};
  int num_parts_ = 1;
  bool asymmetric_ = false;
  FloatRange range_{};
  std::vector<float> filter_scale_, bias_;
  std::vector<int8_t> quantized_;   // the quantized input, N x H x W x C
  std::vector<float> batch_scale_;
  std::vector<int32_t> batch_zero_;
  std::vector<int8_t> rows_;        // per part: kChunk im2col rows of k_padded
  std::vector<int32_t> acc_;        // per part: kChunk x out_c
  std::vector<int32_t> input_shape_, output_shape_;
};

class HybridDepthwiseConv {
 public:
  // input float NHWC [N, H, W, C], filter int8 [1, KH, KW, C * multiplier]
  // (zero points 0; one scale or one per output channel along axis 3), bias
  // float or null, output float NHWC. Generic C++ only: the channel loops are
  // contiguous and GCC vectorises them at -O3.
  static Result<std::unique_ptr<HybridDepthwiseConv>> Create(const TensorView& input, const TensorView& filter,
                                                             const TensorView* bias, const TensorView& output,
                                                             const ConvParams& params, int depth_multiplier,
                                                             int num_parts);
  ~HybridDepthwiseConv();
  std::string_view variant() const { return "generic"; }
  int num_parts() const { return num_parts_; }
  Status Prepare(const TensorView& input);
  Status RunPart(const TensorView& output, int part);
  Status Run(const TensorView& input, const TensorView& output);

 private:
  HybridDepthwiseConv() = default;
  HybridConv::Geometry g_{};
  int multiplier_ = 1, num_parts_ = 1;
  FloatRange range_{};
  std::vector<int8_t> filter_;
  std::vector<float> filter_scale_, bias_;
  std::vector<int8_t> quantized_;
  std::vector<float> batch_scale_;
  std::vector<int32_t> batch_zero_;
  std::vector<int32_t> acc_;  // per part: out_c
  std::vector<int32_t> input_shape_, output_shape_;
};

class FullyConnectedQ8 {
 public:
  // input int8 [..., K] per-tensor, filter int8 [N, K] symmetric (one scale or
  // N along axis 0), bias int32 [N] or null, output int8 per-tensor.
  static Result<std::unique_ptr<FullyConnectedQ8>> Create(const TensorView& input, const TensorView& filter,
                                                          const TensorView* bias, const TensorView& output,
                                                          FusedActivation activation, int num_parts, Isa cap);
  ~FullyConnectedQ8();
  std::string_view variant() const;
  int num_parts() const;
  Status Prepare(const TensorView&) { return OkStatus(); }
  Status RunPart(const TensorView& input, const TensorView& output, int part);
  Status Run(const TensorView& input, const TensorView& output);

 private:
  FullyConnectedQ8() = default;
  std::unique_ptr<ConvQ8> conv_;
  TensorView input_as_conv_, output_as_conv_;  // [rows, 1, 1, K] / [rows, 1, 1, N]
  std::unique_ptr<uint8_t[], void (*)(void*)> scratch_{nullptr, nullptr};  // 64-byte aligned
  size_t scratch_per_part_ = 0;
  size_t input_elements_ = 0, output_elements_ = 0;
};

namespace internal {
// Shared by the hybrid ops: constant int8 weights, symmetric, with one scale or
// one per output channel along `axis` (-> `scales`, one per channel); a float
// constant bias of `channels` values or none (-> `bias_values`, zeros).
Status CheckHybridWeights(std::string_view op, const TensorView& filter, const TensorView* bias, int channels,
                          int axis, std::vector<float>& scales, std::vector<float>& bias_values);
}  // namespace internal

}  // namespace edgepipe::engine::kernels
