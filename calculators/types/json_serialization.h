// Turning packet payloads into JSON, for JsonLinesWriterCalculator and tools.
//
// Payloads are type-erased, so serializers are looked up by payload type in a
// registry. The built-in payloads (numbers, strings, vectors of them, ImageFrame
// and Tensor metadata, VideoHeader, LetterboxTransform, Detection,
// std::vector<Detection>, std::vector<Classification> and SegmentationMask
// (a summary: segmentation_mask.h)) are registered
// already; another payload type is added once, at start-up or in its
// calculator's Open, with
//   RegisterJsonSerializer<MyPayload>();   // uses nlohmann's to_json(json&, const MyPayload&)
// or with an explicit function.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/packet.h"
#include "core/status.h"

namespace edgepipe {

class JsonSerializerRegistry {
 public:
  using Serializer = std::function<Result<nlohmann::json>(const Packet&)>;

  static JsonSerializerRegistry& Global();

  // Replaces any serializer registered for the same type.
  void Register(TypeId type, Serializer serializer);
  bool Has(TypeId type) const;
  // The packet's payload as JSON; an error naming the type when no serializer is registered.
  Result<nlohmann::json> Serialize(const Packet& packet) const;

 private:
  JsonSerializerRegistry();
  mutable std::mutex mutex_;
  // Few types, looked up by TypeId equality (packets expose no std::type_index).
  std::vector<std::pair<TypeId, Serializer>> serializers_;
};

// Registers T, serialized with nlohmann's conversion (a to_json found by ADL).
template <typename T>
void RegisterJsonSerializer() {
  JsonSerializerRegistry::Global().Register(TypeId::Of<T>(), [](const Packet& packet) -> Result<nlohmann::json> {
    EP_ASSIGN_OR_RETURN(const T* value, packet.Get<T>());
    return nlohmann::json(*value);
  });
}

}  // namespace edgepipe
