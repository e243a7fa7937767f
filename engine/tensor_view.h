// The engine's view of a tensor: element type, static shape, quantization and a
// pointer to memory the engine owns (an arena slot or a constant buffer).
// Own kernels (engine/kernels/) take and return these; they never allocate in
// their hot path and never know where the memory came from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace edgepipe::engine {

enum class DType : uint8_t {
  kFloat32,
  kFloat16,
  kInt32,
  kUInt8,
  kInt8,
  kInt64,
  kInt16,
  kBool,
};

const char* DTypeName(DType dtype);
size_t DTypeSize(DType dtype);

// Affine quantization: real = scale * (q - zero_point). Per-tensor when scale
// has one entry, per-channel along `axis` otherwise.
struct Quantization {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int32_t axis = 0;

  bool empty() const { return scale.empty(); }
  bool per_channel() const { return scale.size() > 1; }
};

struct TensorView {
  DType dtype = DType::kFloat32;
  std::vector<int32_t> shape;
  void* data = nullptr;
  Quantization quant;
  std::string name;  // for error messages

  size_t num_elements() const {
    size_t n = 1;
    for (int32_t d : shape) n *= static_cast<size_t>(d);
    return n;
  }
  size_t num_bytes() const { return num_elements() * DTypeSize(dtype); }
  int rank() const { return static_cast<int>(shape.size()); }
  template <typename T>
  T* as() const { return static_cast<T*>(data); }
};

}  // namespace edgepipe::engine
