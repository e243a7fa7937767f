// Test tensors for the kernel tests: owned, aligned storage behind a TensorView.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/kernels/kernels.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine::kernels::testing {

inline Quantization PerTensor(float scale, int64_t zero_point) {
  Quantization q;
  q.scale = {scale};
  q.zero_point = {zero_point};
  return q;
}

class TestTensor {
 public:
  TestTensor(DType dtype, std::vector<int32_t> shape, std::string name, Quantization quant = {}) {
    view.dtype = dtype;
    view.shape = std::move(shape);
    view.name = std::move(name);
    view.quant = std::move(quant);
    storage_.assign((view.num_bytes() + 7) / 8 + 1, 0);
    view.data = storage_.data();
  }
  TestTensor(const TestTensor&) = delete;
  TestTensor& operator=(const TestTensor&) = delete;
  TestTensor(TestTensor&& other) noexcept : view(std::move(other.view)), storage_(std::move(other.storage_)) {
    view.data = storage_.data();
  }

  template <typename T>
  TestTensor& Fill(const std::vector<T>& values) {
    EXPECT_EQ(values.size() * sizeof(T), view.num_bytes()) << "fill size of " << view.name;
    std::memcpy(view.data, values.data(), std::min(values.size() * sizeof(T), view.num_bytes()));
    return *this;
  }
  template <typename T>
  std::vector<T> Values() const {
    std::vector<T> values(view.num_bytes() / sizeof(T));
    std::memcpy(values.data(), view.data, values.size() * sizeof(T));
    return values;
  }
  operator const TensorView&() const { return view; }  // NOLINT

  TensorView view;

 private:
  std::vector<uint64_t> storage_;
};

template <typename T>
TestTensor Make(DType dtype, std::vector<int32_t> shape, const std::vector<T>& values, std::string name = "input",
                Quantization quant = {}) {
  TestTensor t(dtype, std::move(shape), std::move(name), std::move(quant));
  t.Fill(values);
  return t;
}

inline TestTensor Output(DType dtype, std::vector<int32_t> shape, std::string name = "output", Quantization quant = {}) {
  return TestTensor(dtype, std::move(shape), std::move(name), std::move(quant));
}

// An error Status of kind InvalidArgument whose message names `tensor_name`.
MATCHER_P(IsErrorNaming, tensor_name, "") {
  if (arg.ok()) {
    *result_listener << "status is OK";
    return false;
  }
  *result_listener << "status: " << arg.ToString();
  return arg.code() == StatusCode::kInvalidArgument && arg.message().find(tensor_name) != std::string::npos;
}

MATCHER(IsOk, "") {
  *result_listener << arg.ToString();
  return arg.ok();
}

// TFLite's convolution window arithmetic, written out here rather than taken
// from the kernels (internal::CheckConvGeometry), so that the tests check it.
inline int ReferenceConvOutputSize(int in, int kernel, int stride, int dilation, bool same) {
  const int effective = (kernel - 1) * dilation + 1;
  return same ? (in + stride - 1) / stride : (in - effective + stride) / stride;
}
struct ReferencePadding {
  int top = 0, left = 0;
};
inline ReferencePadding ReferenceConvPadding(const TensorView& in, int kernel_h, int kernel_w, const ConvParams& p,
                                             const TensorView& out) {
  if (!p.same_padding) return {};
  const int eff_h = (kernel_h - 1) * p.dilation_height + 1, eff_w = (kernel_w - 1) * p.dilation_width + 1;
  return {std::max(0, (out.shape[1] - 1) * p.stride_height + eff_h - in.shape[1]) / 2,
          std::max(0, (out.shape[2] - 1) * p.stride_width + eff_w - in.shape[2]) / 2};
}

// XNNPACK's "fp32" requantization of an int32 accumulator, what LiteRT runs:
// float multiply, min with (act_max - zero point), round to nearest even,
// + zero point, clamp to the activation range.
inline int32_t ReferenceRequantizeFp32(int32_t acc, float scale, int32_t out_zero_point, int32_t act_min,
                                       int32_t act_max) {
  const float scaled = std::min(static_cast<float>(acc) * scale, static_cast<float>(act_max - out_zero_point));
  const int64_t q = std::lrintf(scaled) + out_zero_point;
  return static_cast<int32_t>(std::clamp<int64_t>(q, act_min, act_max));
}

// int32 fields as little-endian bytes: a raw C struct of custom options, as
// MediaPipe's custom ops keep theirs.
inline std::vector<uint8_t> RawInts(std::vector<int32_t> fields) {
  std::vector<uint8_t> bytes;
  for (int32_t f : fields)
    for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<uint8_t>(static_cast<uint32_t>(f) >> (8 * b)));
  return bytes;
}

}  // namespace edgepipe::engine::kernels::testing
