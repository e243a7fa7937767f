#include "calculators/types/json_serialization.h"

#include <cstdint>
#include <vector>

#include "calculators/types/classification.h"
#include "calculators/types/detection.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/landmarks.h"
#include "calculators/types/letterbox_transform.h"
#include "calculators/types/normalized_rect.h"
#include "calculators/types/segmentation_mask.h"
#include "calculators/types/tensor.h"
#include "calculators/types/video_header.h"

namespace edgepipe {

namespace {
template <typename T>
void RegisterWith(JsonSerializerRegistry& registry, std::function<nlohmann::json(const T&)> convert) {
  registry.Register(TypeId::Of<T>(), [convert](const Packet& packet) -> Result<nlohmann::json> {
    EP_ASSIGN_OR_RETURN(const T* value, packet.Get<T>());
    return convert(*value);
  });
}
template <typename T>
void RegisterPlain(JsonSerializerRegistry& registry) {
  RegisterWith<T>(registry, [](const T& value) { return nlohmann::json(value); });
}

// Tensors up to this many elements are written with their values; larger ones
// (images, feature maps) only with their shape, so lines stay readable.
constexpr size_t kMaxTensorValuesInJson = 1024;

template <typename T>
nlohmann::json TensorValues(const Tensor& tensor) {
  const T* data = static_cast<const T*>(tensor.raw_data());
  return nlohmann::json(std::vector<T>(data, data + tensor.num_elements()));
}

nlohmann::json TensorToJson(const Tensor& tensor) {
  nlohmann::json json = {{"dtype", TensorDTypeName(tensor.dtype())}, {"shape", tensor.shape()}};
  if (!tensor.quantization().empty()) {
    json["scale"] = tensor.quantization().scale;
    json["zero_point"] = tensor.quantization().zero_point;
  }
  if (tensor.num_elements() <= kMaxTensorValuesInJson && !tensor.empty()) {
    switch (tensor.dtype()) {
      case TensorDType::kFloat32: json["values"] = TensorValues<float>(tensor); break;
      case TensorDType::kInt32: json["values"] = TensorValues<int32_t>(tensor); break;
      case TensorDType::kUInt8: json["values"] = TensorValues<uint8_t>(tensor); break;
      case TensorDType::kInt8: json["values"] = TensorValues<int8_t>(tensor); break;
      case TensorDType::kInt64: json["values"] = TensorValues<int64_t>(tensor); break;
      case TensorDType::kInt16: json["values"] = TensorValues<int16_t>(tensor); break;
      default: break;  // float16 / bool: shape only
    }
  }
  return json;
}
}  // namespace

JsonSerializerRegistry::JsonSerializerRegistry() {
  RegisterPlain<bool>(*this);
  RegisterPlain<int>(*this);
  RegisterPlain<int64_t>(*this);
  RegisterPlain<uint64_t>(*this);
  RegisterPlain<float>(*this);
  RegisterPlain<double>(*this);
  RegisterPlain<std::string>(*this);
  RegisterPlain<std::vector<float>>(*this);
  RegisterPlain<std::vector<int>>(*this);
  RegisterPlain<std::vector<int64_t>>(*this);
  RegisterPlain<std::vector<std::string>>(*this);
  RegisterPlain<Detection>(*this);
  RegisterPlain<std::vector<Detection>>(*this);
  RegisterPlain<NormalizedRect>(*this);
  RegisterPlain<LandmarkList>(*this);
  RegisterPlain<std::vector<LandmarkList>>(*this);
  RegisterPlain<Rect>(*this);
  RegisterPlain<std::vector<Classification>>(*this);
  RegisterWith<SegmentationMask>(*this, SegmentationMaskToJson);
  RegisterWith<ImageFrame>(*this, [](const ImageFrame& image) {
    return nlohmann::json{{"format", ImageFormatName(image.format())}, {"width", image.width()}, {"height", image.height()}};
  });
  RegisterWith<Tensor>(*this, TensorToJson);
  RegisterWith<VideoHeader>(*this, [](const VideoHeader& header) {
    return nlohmann::json{{"width", header.width},
                          {"height", header.height},
                          {"fps", header.fps()},
                          {"frame_rate", {header.rate.numerator, header.rate.denominator}},
                          {"frame_count", header.frame_count},
                          {"format", ImageFormatName(header.format)},
                          {"source", header.source}};
  });
  RegisterWith<LetterboxTransform>(*this, [](const LetterboxTransform& t) {
    return nlohmann::json{{"source_size", {t.source_width, t.source_height}},
                          {"target_size", {t.target_width, t.target_height}},
                          {"scale", {t.scale_x, t.scale_y}},
                          {"padding", {t.pad_left, t.pad_top}}};
  });
}

JsonSerializerRegistry& JsonSerializerRegistry::Global() {
  static JsonSerializerRegistry* registry = new JsonSerializerRegistry();
  return *registry;
}

void JsonSerializerRegistry::Register(TypeId type, Serializer serializer) {
  std::lock_guard lock(mutex_);
  for (auto& [known, existing] : serializers_) {
    if (known == type) {
      existing = std::move(serializer);
      return;
    }
  }
  serializers_.emplace_back(type, std::move(serializer));
}

bool JsonSerializerRegistry::Has(TypeId type) const {
  std::lock_guard lock(mutex_);
  for (const auto& entry : serializers_) {
    if (entry.first == type) return true;
  }
  return false;
}

Result<nlohmann::json> JsonSerializerRegistry::Serialize(const Packet& packet) const {
  if (packet.IsEmpty()) return nlohmann::json(nullptr);
  Serializer serializer;
  {
    std::lock_guard lock(mutex_);
    const TypeId type = packet.type();
    for (const auto& entry : serializers_) {
      if (entry.first == type) serializer = entry.second;
    }
  }
  if (!serializer) {
    return UnimplementedError("no JSON serializer for {} (register one with RegisterJsonSerializer<T>())",
                              packet.TypeName());
  }
  return serializer(packet);
}

}  // namespace edgepipe
