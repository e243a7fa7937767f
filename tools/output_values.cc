#include "tools/output_values.h"

#include <algorithm>
#include <numeric>

namespace edgepipe::tools {

using engine::DType;
using engine::TensorView;

std::vector<double> RealValues(const TensorView& t) {
  std::vector<double> v(t.num_elements());
  const double scale = t.quant.scale.size() == 1 ? t.quant.scale[0] : 1.0;
  const double zp = t.quant.zero_point.size() == 1 ? static_cast<double>(t.quant.zero_point[0]) : 0.0;
  for (size_t i = 0; i < v.size(); ++i) {
    switch (t.dtype) {
      case DType::kFloat32: v[i] = t.as<float>()[i]; break;
      case DType::kUInt8: v[i] = (t.as<uint8_t>()[i] - zp) * scale; break;
      case DType::kInt8: v[i] = (t.as<int8_t>()[i] - zp) * scale; break;
      case DType::kInt32: v[i] = t.as<int32_t>()[i]; break;
      case DType::kInt64: v[i] = static_cast<double>(t.as<int64_t>()[i]); break;
      case DType::kInt16: v[i] = (t.as<int16_t>()[i] - zp) * scale; break;
      case DType::kBool: v[i] = t.as<bool>()[i] ? 1 : 0; break;
      case DType::kFloat16: v[i] = 0; break;
    }
  }
  return v;
}

bool LooksLikeScores(const TensorView& t) {
  const bool shape_ok = (t.rank() == 2 && t.shape[0] == 1 && t.shape[1] > 1) || (t.rank() == 1 && t.shape[0] > 1);
  return shape_ok && t.dtype != DType::kInt64 && t.dtype != DType::kInt32;
}

std::vector<size_t> TopIndices(const std::vector<double>& values, size_t k) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  k = std::min(k, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<long>(k), order.end(),
                    [&](size_t a, size_t b) { return values[a] > values[b] || (values[a] == values[b] && a < b); });
  order.resize(k);
  return order;
}

}  // namespace edgepipe::tools
