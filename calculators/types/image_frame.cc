#include "calculators/types/image_frame.h"

#include <algorithm>
#include <cctype>

#include <opencv2/imgproc.hpp>

namespace edgepipe {

const char* ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kGray8: return "GRAY8";
    case ImageFormat::kRGB: return "RGB";
    case ImageFormat::kBGR: return "BGR";
    case ImageFormat::kRGBA: return "RGBA";
  }
  return "unknown";
}

Result<ImageFormat> ParseImageFormat(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  for (ImageFormat format : {ImageFormat::kGray8, ImageFormat::kRGB, ImageFormat::kBGR, ImageFormat::kRGBA}) {
    if (upper == ImageFormatName(format)) return format;
  }
  if (upper == "GRAY") return ImageFormat::kGray8;
  return InvalidArgumentError("unknown image format '{}' (expected GRAY8, RGB, BGR or RGBA)", name);
}

int ImageFormatChannels(ImageFormat format) {
  switch (format) {
    case ImageFormat::kGray8: return 1;
    case ImageFormat::kRGB:
    case ImageFormat::kBGR: return 3;
    case ImageFormat::kRGBA: return 4;
  }
  return 0;
}

Result<ImageFrame> ImageFrame::FromMat(ImageFormat format, cv::Mat mat) {
  if (mat.empty()) return InvalidArgumentError("cannot make a {} ImageFrame from an empty cv::Mat", ImageFormatName(format));
  if (mat.depth() != CV_8U || mat.channels() != ImageFormatChannels(format) || mat.dims != 2) {
    return InvalidArgumentError("a {} ImageFrame needs an 8-bit {}-channel 2-D cv::Mat, got depth {} with {} channels",
                                ImageFormatName(format), ImageFormatChannels(format), mat.depth(), mat.channels());
  }
  return ImageFrame(format, std::move(mat));
}

Result<ImageFrame> ImageFrame::Allocate(ImageFormat format, int width, int height) {
  if (width <= 0 || height <= 0) {
    return InvalidArgumentError("image size must be positive, got {}x{}", width, height);
  }
  return ImageFrame(format, cv::Mat(height, width, CV_8UC(ImageFormatChannels(format))));
}

namespace {
// OpenCV conversion code from `from` to `to`, or -1 when they are the same.
int ConversionCode(ImageFormat from, ImageFormat to) {
  using F = ImageFormat;
  if (from == to) return -1;
  switch (from) {
    case F::kGray8: return to == F::kRGBA ? cv::COLOR_GRAY2RGBA : (to == F::kRGB ? cv::COLOR_GRAY2RGB : cv::COLOR_GRAY2BGR);
    case F::kRGB: return to == F::kGray8 ? cv::COLOR_RGB2GRAY : (to == F::kBGR ? cv::COLOR_RGB2BGR : cv::COLOR_RGB2RGBA);
    case F::kBGR: return to == F::kGray8 ? cv::COLOR_BGR2GRAY : (to == F::kRGB ? cv::COLOR_BGR2RGB : cv::COLOR_BGR2RGBA);
    case F::kRGBA: return to == F::kGray8 ? cv::COLOR_RGBA2GRAY : (to == F::kRGB ? cv::COLOR_RGBA2RGB : cv::COLOR_RGBA2BGR);
  }
  return -1;
}
}  // namespace

Result<ImageFrame> ImageFrame::ConvertedTo(ImageFormat target) const {
  if (empty()) return InvalidArgumentError("cannot convert an empty ImageFrame to {}", ImageFormatName(target));
  int code = ConversionCode(format_, target);
  if (code < 0) return *this;
  cv::Mat converted;
  cv::cvtColor(mat_, converted, code);
  return ImageFrame(target, std::move(converted));
}

std::string ImageFrame::DebugString() const {
  return fmt::format("{} {}x{}", ImageFormatName(format_), width(), height());
}

Status CheckImageSize(int64_t width, int64_t height, std::string_view what) {
  if (width < 1 || height < 1 || width > kMaxImageSide || height > kMaxImageSide) {
    return InvalidArgumentError("{} size {}x{} is outside 1..{} pixels per side", what, width, height, kMaxImageSide);
  }
  return OkStatus();
}

}  // namespace edgepipe
