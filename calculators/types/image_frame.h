// ImageFrame: the image payload every image calculator passes around.
//
// An ImageFrame is a cv::Mat plus the pixel format OpenCV does not record (RGB
// and BGR are both CV_8UC3). It shares the cv::Mat's reference-counted buffer:
// wrapping a decoded frame, cropping (an ROI) or handing the frame back to
// OpenCV never copies pixels. Packets are immutable, so a calculator must never
// write into the pixels of an ImageFrame it received; it makes a new one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "core/status.h"

namespace edgepipe {

enum class ImageFormat : uint8_t {
  kGray8,  // 1 channel
  kRGB,    // 3 channels, R first
  kBGR,    // 3 channels, B first (OpenCV's decode order)
  kRGBA,   // 4 channels
};

// Queue limit of streams of full-size frames (PortSpec::QueueLimit on the outputs of
// sources and of calculators that make new frames): a few frames in memory per
// consumer instead of the graph's default of 100; sources wait (are throttled)
// while a consumer is that far behind.
constexpr int kFrameQueueLimit = 4;

const char* ImageFormatName(ImageFormat format);  // "GRAY8", "RGB", "BGR", "RGBA"
// Parses a name as printed by ImageFormatName (case-insensitive).
Result<ImageFormat> ParseImageFormat(std::string_view name);
int ImageFormatChannels(ImageFormat format);

class ImageFrame {
 public:
  ImageFrame() = default;

  // Wraps `mat` without copying. The mat must be 8-bit with the format's
  // channel count; any row stride (e.g. an ROI of a larger image) is fine.
  static Result<ImageFrame> FromMat(ImageFormat format, cv::Mat mat);
  // A new, uninitialised image with a tightly packed buffer.
  static Result<ImageFrame> Allocate(ImageFormat format, int width, int height);

  bool empty() const { return mat_.empty(); }
  ImageFormat format() const { return format_; }
  int width() const { return mat_.cols; }
  int height() const { return mat_.rows; }
  int channels() const { return ImageFormatChannels(format_); }
  // Bytes from the start of one row to the next.
  size_t stride() const { return mat_.step[0]; }
  const uint8_t* data() const { return mat_.data; }
  // The pixels as a cv::Mat header sharing this frame's buffer (no copy).
  const cv::Mat& mat() const { return mat_; }

  // This image in `target` format: shares the buffer when already in that
  // format, converts (one new buffer) otherwise.
  Result<ImageFrame> ConvertedTo(ImageFormat target) const;

  std::string DebugString() const;  // "BGR 768x576"

 private:
  ImageFrame(ImageFormat format, cv::Mat mat) : format_(format), mat_(std::move(mat)) {}
  ImageFormat format_ = ImageFormat::kBGR;
  cv::Mat mat_;
};

// The largest image side a calculator option may ask for: 16384 covers 8K
// video and keeps a frame under 1 GiB (OpenCV throws, or allocates tens of
// gigabytes, for a 100000 x 100000 request).
inline constexpr int kMaxImageSide = 16384;

// OK when 1 <= width, height <= kMaxImageSide; otherwise an error naming
// `what` (e.g. "ImageResizeCalculator output") and the size.
Status CheckImageSize(int64_t width, int64_t height, std::string_view what);

}  // namespace edgepipe
