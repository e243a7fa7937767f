#include "engine/tensor_view.h"

namespace edgepipe::engine {

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kFloat16: return "float16";
    case DType::kInt32: return "int32";
    case DType::kUInt8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kInt64: return "int64";
    case DType::kInt16: return "int16";
    case DType::kBool: return "bool";
  }
  return "unknown";
}

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 4;
    case DType::kFloat16: return 2;
    case DType::kInt32: return 4;
    case DType::kUInt8: return 1;
    case DType::kInt8: return 1;
    case DType::kInt64: return 8;
    case DType::kInt16: return 2;
    case DType::kBool: return 1;
  }
  return 0;
}

}  // namespace edgepipe::engine
