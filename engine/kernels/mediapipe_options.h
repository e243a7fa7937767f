// Readers of MediaPipe custom-op option bytes (internal to engine/kernels): the
// raw little-endian C structs some ops store, and checked FlexBuffers maps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <flatbuffers/flexbuffers.h>

#include "core/status.h"

namespace edgepipe::engine::kernels::internal {

// Fills `fields` with the leading int32 fields of a raw C struct (`struct_name`
// for errors); fewer bytes than fields.size() * 4 is an error.
Status ReadRawInt32Fields(std::string_view op, std::string_view struct_name, const uint8_t* bytes, size_t size,
                          std::span<int32_t> fields);

// TfLitePadding: 1 SAME -> true, 2 VALID -> false; anything else is an error.
Result<bool> IsSamePadding(std::string_view op, int32_t tflite_padding);

// The root map of verified FlexBuffers bytes.
Result<flexbuffers::Map> FlexMap(std::string_view op, const uint8_t* bytes, size_t size);
// A required numeric entry of `map`.
Result<int32_t> FlexInt(std::string_view op, const flexbuffers::Map& map, const char* key);
Result<float> FlexFloat(std::string_view op, const flexbuffers::Map& map, const char* key);

}  // namespace edgepipe::engine::kernels::internal
