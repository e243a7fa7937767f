#include "calculators/types/tensor.h"

#include <cstring>

#include <fmt/ranges.h>

namespace edgepipe {

const char* TensorDTypeName(TensorDType dtype) {
  switch (dtype) {
    case TensorDType::kFloat32: return "float32";
    case TensorDType::kFloat16: return "float16";
    case TensorDType::kInt32: return "int32";
    case TensorDType::kUInt8: return "uint8";
    case TensorDType::kInt8: return "int8";
    case TensorDType::kInt64: return "int64";
    case TensorDType::kInt16: return "int16";
    case TensorDType::kBool: return "bool";
  }
  return "unknown";
}

Result<Tensor> Tensor::Create(TensorDType dtype, std::vector<int32_t> shape, TensorQuantization quantization,
                              std::string name) {
  size_t elements = 1;
  for (int32_t dim : shape) {
    if (dim <= 0) return InvalidArgumentError("tensor '{}' shape [{}] has a non-positive dimension", name, fmt::join(shape, ","));
    elements *= static_cast<size_t>(dim);
  }
  Tensor tensor;
  tensor.dtype_ = dtype;
  tensor.shape_ = std::move(shape);
  tensor.quantization_ = std::move(quantization);
  tensor.name_ = std::move(name);
  size_t bytes = std::max<size_t>(elements * TensorElementSize(dtype), 1);
  // Aligned storage released with the matching aligned delete.
  auto* memory = static_cast<std::byte*>(::operator new[](bytes, std::align_val_t(kAlignment)));
  std::memset(memory, 0, bytes);
  tensor.buffer_ = std::shared_ptr<std::byte[]>(
      memory, [](std::byte* p) { ::operator delete[](p, std::align_val_t(kAlignment)); });
  return tensor;
}

Result<Tensor> Tensor::Wrap(TensorDType dtype, std::vector<int32_t> shape, std::shared_ptr<std::byte[]> buffer,
                            TensorQuantization quantization, std::string name) {
  for (int32_t dim : shape) {
    if (dim <= 0) return InvalidArgumentError("tensor '{}' shape [{}] has a non-positive dimension", name, fmt::join(shape, ","));
  }
  if (buffer == nullptr) return InvalidArgumentError("tensor '{}': no buffer to wrap", name);
  if (reinterpret_cast<uintptr_t>(buffer.get()) % kAlignment != 0) {
    return InvalidArgumentError("tensor '{}': a wrapped buffer must be {}-byte aligned", name, kAlignment);
  }
  Tensor tensor;
  tensor.dtype_ = dtype;
  tensor.shape_ = std::move(shape);
  tensor.quantization_ = std::move(quantization);
  tensor.name_ = std::move(name);
  tensor.buffer_ = std::move(buffer);
  return tensor;
}

size_t Tensor::num_elements() const {
  if (buffer_ == nullptr) return 0;
  size_t elements = 1;
  for (int32_t dim : shape_) elements *= static_cast<size_t>(dim);
  return elements;
}

engine::TensorView Tensor::View() const {
  engine::TensorView view;
  view.dtype = dtype_;
  view.shape = shape_;
  view.data = buffer_.get();
  view.quant = quantization_;
  view.name = name_;
  return view;
}

Result<Tensor> Tensor::CopyFrom(const engine::TensorView& view) {
  EP_ASSIGN_OR_RETURN(Tensor tensor, Create(view.dtype, view.shape, view.quant, view.name));
  if (view.data != nullptr) std::memcpy(tensor.mutable_raw_data(), view.data, tensor.num_bytes());
  return tensor;
}

Status Tensor::CheckType(TensorDType requested) const {
  if (requested == dtype_) return OkStatus();
  return InvalidArgumentError("tensor '{}' holds {} elements, read as {}", name_, TensorDTypeName(dtype_),
                              TensorDTypeName(requested));
}

std::string Tensor::DebugString() const {
  return fmt::format("{}[{}]", TensorDTypeName(dtype_), fmt::join(shape_, ","));
}

}  // namespace edgepipe
