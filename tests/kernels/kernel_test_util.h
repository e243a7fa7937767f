// Test tensors for the kernel tests: owned, aligned storage behind a TensorView.
#pragma once

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

}  // namespace edgepipe::engine::kernels::testing
