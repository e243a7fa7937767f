// VideoHeader: the stream header a video, camera or image source sets on its
// output (in Open), read by sinks (the writer takes its frame rate from it) and
// passed on by calculators that keep frames one-to-one.
#pragma once

#include <cstdint>
#include <string>

#include "calculators/types/frame_rate.h"
#include "calculators/types/image_frame.h"

namespace edgepipe {

struct VideoHeader {
  int width = 0;
  int height = 0;
  // Nominal frame rate; `rate` is its exact rational form (23.976 = 2997/125).
  FrameRate rate;
  double fps() const { return rate.ToDouble(); }
  // Frames in the file, or -1 when unknown (cameras).
  int64_t frame_count = -1;
  ImageFormat format = ImageFormat::kBGR;
  // What produced the stream: a file path, "camera 0", a glob pattern.
  std::string source;
};

}  // namespace edgepipe
