#include "engine/kernels/mediapipe_options.h"

namespace edgepipe::engine::kernels::internal {

Status ReadRawInt32Fields(std::string_view op, std::string_view struct_name, const uint8_t* bytes, size_t size,
                          std::span<int32_t> fields) {
  const size_t needed = fields.size() * 4;
  if (bytes == nullptr || size < needed) {
    return InvalidArgumentError("{}: custom options are {} bytes; a {} needs at least {}", op,
                                bytes == nullptr ? 0 : size, struct_name, needed);
  }
  // The struct was written by a little-endian host (every TFLite target); read
  // it byte by byte so the result does not depend on alignment or our host.
  for (size_t i = 0; i < fields.size(); ++i) {
    const uint8_t* p = bytes + 4 * i;
    fields[i] = static_cast<int32_t>(static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                                     static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24);
  }
  return OkStatus();
}

Result<bool> IsSamePadding(std::string_view op, int32_t tflite_padding) {
  if (tflite_padding == 1) return true;
  if (tflite_padding == 2) return false;
  return InvalidArgumentError("{}: padding {} is neither SAME (1) nor VALID (2)", op, tflite_padding);
}

Result<flexbuffers::Map> FlexMap(std::string_view op, const uint8_t* bytes, size_t size) {
  if (bytes == nullptr || size == 0) return InvalidArgumentError("{}: empty custom options", op);
  // Untrusted model bytes: verify before reading (TFLite and MediaPipe do not).
  if (!flexbuffers::VerifyBuffer(bytes, size)) {
    return InvalidArgumentError("{}: custom options are not a valid FlexBuffer", op);
  }
  const flexbuffers::Reference root = flexbuffers::GetRoot(bytes, size);
  if (!root.IsMap()) return InvalidArgumentError("{}: custom options are not a FlexBuffer map", op);
  return root.AsMap();
}

Result<int32_t> FlexInt(std::string_view op, const flexbuffers::Map& map, const char* key) {
  const flexbuffers::Reference r = map[key];
  if (r.IsNull() || !r.IsNumeric()) return InvalidArgumentError("{}: custom options lack numeric '{}'", op, key);
  if (r.IsFloat()) return InvalidArgumentError("{}: custom option '{}' must be an integer", op, key);
  const int64_t v = r.AsInt64();
  if (v < INT32_MIN || v > INT32_MAX) return InvalidArgumentError("{}: custom option '{}' = {} is out of range", op, key, v);
  return static_cast<int32_t>(v);
}

Result<float> FlexFloat(std::string_view op, const flexbuffers::Map& map, const char* key) {
  const flexbuffers::Reference r = map[key];
  if (r.IsNull() || !r.IsNumeric()) return InvalidArgumentError("{}: custom options lack numeric '{}'", op, key);
  return r.AsFloat();
}

}  // namespace edgepipe::engine::kernels::internal
