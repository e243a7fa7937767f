// Tensor: the payload for model inputs and outputs.
//
// Its element type and quantization are the engine's own (engine/tensor_view.h),
// not copies of them, so the inference calculator wraps a Tensor as an engine
// TensorView (View()) and back without converting anything. The buffer is
// 64-byte aligned (what XNNPACK and SIMD loads like) and shared between copies:
// a Tensor in a packet is immutable, writers fill a Tensor before sending it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/tensor_view.h"

namespace edgepipe {

using TensorDType = engine::DType;
using TensorQuantization = engine::Quantization;

// Bytes per element (kept here so that the payload type needs no engine library).
constexpr size_t TensorElementSize(TensorDType dtype) {
  switch (dtype) {
    case TensorDType::kFloat32: return 4;
    case TensorDType::kFloat16: return 2;
    case TensorDType::kInt32: return 4;
    case TensorDType::kUInt8: return 1;
    case TensorDType::kInt8: return 1;
    case TensorDType::kInt64: return 8;
    case TensorDType::kInt16: return 2;
    case TensorDType::kBool: return 1;
  }
  return 0;
}
const char* TensorDTypeName(TensorDType dtype);  // "float32", "uint8", …

// The dtype of a C++ element type (float, int32_t, uint8_t, int8_t, int64_t, int16_t).
template <typename T> constexpr TensorDType TensorDTypeOf();
template <> constexpr TensorDType TensorDTypeOf<float>() { return TensorDType::kFloat32; }
template <> constexpr TensorDType TensorDTypeOf<int32_t>() { return TensorDType::kInt32; }
template <> constexpr TensorDType TensorDTypeOf<uint8_t>() { return TensorDType::kUInt8; }
template <> constexpr TensorDType TensorDTypeOf<int8_t>() { return TensorDType::kInt8; }
template <> constexpr TensorDType TensorDTypeOf<int64_t>() { return TensorDType::kInt64; }
template <> constexpr TensorDType TensorDTypeOf<int16_t>() { return TensorDType::kInt16; }

class Tensor {
 public:
  static constexpr size_t kAlignment = 64;

  Tensor() = default;
  // A zero-filled tensor; every dimension must be positive.
  static Result<Tensor> Create(TensorDType dtype, std::vector<int32_t> shape, TensorQuantization quantization = {},
                               std::string name = "");
  // Wraps memory owned elsewhere without copying (e.g. a numpy array, kept
  // alive by `buffer`'s deleter). The memory must be kAlignment-aligned and
  // hold the shape's bytes; an error otherwise.
  static Result<Tensor> Wrap(TensorDType dtype, std::vector<int32_t> shape, std::shared_ptr<std::byte[]> buffer,
                             TensorQuantization quantization = {}, std::string name = "");

  TensorDType dtype() const { return dtype_; }
  const std::vector<int32_t>& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  const TensorQuantization& quantization() const { return quantization_; }
  const std::string& name() const { return name_; }
  size_t num_elements() const;
  size_t num_bytes() const { return num_elements() * TensorElementSize(dtype_); }
  bool empty() const { return buffer_ == nullptr; }

  const void* raw_data() const { return buffer_.get(); }
  void* mutable_raw_data() { return buffer_.get(); }

  // Typed access; an error naming both types when T does not match dtype().
  template <typename T>
  Result<const T*> data() const {
    EP_RETURN_IF_ERROR(CheckType(TensorDTypeOf<T>()));
    return static_cast<const T*>(raw_data());
  }
  template <typename T>
  Result<T*> mutable_data() {
    EP_RETURN_IF_ERROR(CheckType(TensorDTypeOf<T>()));
    return static_cast<T*>(mutable_raw_data());
  }

  // The engine's view of this tensor (same memory, same dtype and quantization).
  engine::TensorView View() const;
  // A tensor owning a copy of an engine tensor's contents.
  static Result<Tensor> CopyFrom(const engine::TensorView& view);

  std::string DebugString() const;  // "float32[1,128,128,3]"

 private:
  Status CheckType(TensorDType requested) const;

  TensorDType dtype_ = TensorDType::kFloat32;
  std::vector<int32_t> shape_;
  TensorQuantization quantization_;
  std::string name_;
  std::shared_ptr<std::byte[]> buffer_;
};

}  // namespace edgepipe
