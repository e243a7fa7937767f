// Passing stream headers through calculators, so that a sink at the end of a
// chain (e.g. the video writer wanting the frame rate) still sees the source's
// VideoHeader. Call from Open.
#pragma once

#include <functional>
#include <string_view>

#include "calculators/types/video_header.h"
#include "core/calculator.h"

namespace edgepipe {

// Copies input `input_tag`'s header (if any) to output `output_tag` (if
// connected); a VideoHeader is first passed through `adjust` (e.g. to set the
// new frame size).
inline Status ForwardHeader(CalculatorContext* cc, std::string_view input_tag, int input_index,
                            std::string_view output_tag, int output_index,
                            const std::function<void(VideoHeader&)>& adjust = nullptr) {
  if (cc->Inputs().NumEntries(input_tag) <= input_index || cc->Outputs().NumEntries(output_tag) <= output_index) {
    return OkStatus();
  }
  const Packet& header = cc->Inputs().Get(input_tag, input_index).Header();
  if (header.IsEmpty()) return OkStatus();
  OutputStreamHandle& output = cc->Outputs().Get(output_tag, output_index);
  if (!output.IsConnected()) return OkStatus();
  const auto* video_header = header.TryGet<VideoHeader>();
  if (video_header == nullptr || !adjust) return output.SetHeader(header);
  VideoHeader adjusted = *video_header;
  adjust(adjusted);
  return output.SetHeader(MakePacket<VideoHeader>(std::move(adjusted)).At(header.timestamp()));
}

}  // namespace edgepipe
