#include "calculators/types/side_packet_values.h"

#include <charconv>

namespace edgepipe {

namespace {
const Packet* ConnectedSidePacket(const CalculatorContext& cc, std::string_view tag) {
  if (!cc.InputSidePackets().HasTag(tag)) return nullptr;
  const Packet& packet = cc.InputSidePackets().Tag(tag);
  return packet.IsEmpty() ? nullptr : &packet;
}
}  // namespace

Result<std::optional<std::string>> StringSidePacket(const CalculatorContext& cc, std::string_view tag) {
  const Packet* packet = ConnectedSidePacket(cc, tag);
  if (packet == nullptr) return std::optional<std::string>();
  if (const auto* text = packet->TryGet<std::string>()) {
    return text->empty() ? std::optional<std::string>() : std::optional<std::string>(*text);
  }
  if (const auto* number = packet->TryGet<int>()) return std::optional<std::string>(std::to_string(*number));
  if (const auto* number = packet->TryGet<int64_t>()) return std::optional<std::string>(std::to_string(*number));
  return InvalidArgumentError("side packet {} must be a string, got {}", tag, packet->TypeName());
}

Result<std::optional<int64_t>> IntSidePacket(const CalculatorContext& cc, std::string_view tag) {
  const Packet* packet = ConnectedSidePacket(cc, tag);
  if (packet == nullptr) return std::optional<int64_t>();
  if (const auto* number = packet->TryGet<int>()) return std::optional<int64_t>(*number);
  if (const auto* number = packet->TryGet<int64_t>()) return std::optional<int64_t>(*number);
  if (const auto* text = packet->TryGet<std::string>()) {
    if (text->empty()) return std::optional<int64_t>();
    int64_t value = 0;
    auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (error != std::errc() || end != text->data() + text->size()) {
      return InvalidArgumentError("side packet {} must be an integer, got '{}'", tag, *text);
    }
    return std::optional<int64_t>(value);
  }
  return InvalidArgumentError("side packet {} must be an integer or a string, got {}", tag, packet->TypeName());
}

Result<int64_t> MaxFramesSidePacket(const CalculatorContext& cc, int64_t option) {
  EP_ASSIGN_OR_RETURN(std::optional<int64_t> side, IntSidePacket(cc, "MAX_FRAMES"));
  const int64_t max_frames = side.value_or(option);
  if (max_frames < 0) {
    return InvalidArgumentError("max_frames (from {}) must be 0 (no limit) or positive, got {}",
                                side ? "side packet MAX_FRAMES, e.g. edgepipe run --side max_frames=N" : "the options",
                                max_frames);
  }
  return max_frames;
}

bool SidePacketConnected(const CalculatorContext& cc, std::string_view tag) { return cc.InputSidePackets().HasTag(tag); }

}  // namespace edgepipe
