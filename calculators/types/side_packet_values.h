// Reading the optional side packets sources and sinks take from `edgepipe run`
// (input_path, output_path, camera_index, max_frames). The CLI passes every
// value as a std::string; applications may pass numbers. These helpers accept
// either, so a calculator declares such side packets with TypeId::Any().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/calculator.h"

namespace edgepipe {

// An empty string counts as "not set": `edgepipe run` passes "" for a flag the
// user left out, and the calculator then uses its options.

// The side packet `tag` as a string, or nullopt when it is not connected or empty.
Result<std::optional<std::string>> StringSidePacket(const CalculatorContext& cc, std::string_view tag);
// The side packet `tag` as an integer (from an integer type or a decimal
// string), or nullopt when it is not connected or an empty string.
Result<std::optional<int64_t>> IntSidePacket(const CalculatorContext& cc, std::string_view tag);

// A source's frame limit: the MAX_FRAMES side packet, else `option` (the
// calculator's max_frames option); 0 means no limit. A negative limit is an
// error naming where it came from (it used to mean "no limit" silently, while
// `edgepipe run --max-frames -3` was refused).
Result<int64_t> MaxFramesSidePacket(const CalculatorContext& cc, int64_t option);

// Whether the node's config connects side packet `tag` (whatever its value).
// Writers use it for the ready-graph convention (docs/graphs.md): a connected
// OUTPUT_PATH left unset, with no path in the options, turns that output off
// instead of being an error.
bool SidePacketConnected(const CalculatorContext& cc, std::string_view tag);

}  // namespace edgepipe
