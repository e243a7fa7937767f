#include "calculators/vision/vision_result_drawing.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

namespace edgepipe {

cv::Scalar RgbInFormat(cv::Vec3b rgb, ImageFormat format) {
  const double r = rgb[0], g = rgb[1], b = rgb[2];
  switch (format) {
    case ImageFormat::kGray8: return cv::Scalar(0.299 * r + 0.587 * g + 0.114 * b);
    case ImageFormat::kRGB: return cv::Scalar(r, g, b);
    case ImageFormat::kBGR: return cv::Scalar(b, g, r);
    case ImageFormat::kRGBA: return cv::Scalar(r, g, b, 255);
  }
  return cv::Scalar(r, g, b);
}

cv::Vec3b TrackColor(int track_id) {
  // OpenCV's 8-bit hue runs 0..179; 0.618… of a turn per ID keeps neighbours apart.
  const double turns = std::fmod(0.61803398875 * std::max(track_id, 0), 1.0);
  cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(turns * 180.0, 220, 255)), rgb;
  cv::cvtColor(hsv, rgb, cv::COLOR_HSV2RGB);
  return rgb.at<cv::Vec3b>(0, 0);
}

namespace {

// A 1×256 lookup table of the label colours in the frame's format and channel count.
cv::Mat Palette(ImageFormat format, int channels) {
  cv::Mat palette(1, 256, CV_8UC(channels));
  for (int label = 0; label < 256; ++label) {
    const cv::Scalar color = RgbInFormat(LabelColor(label), format);
    uint8_t* entry = palette.ptr<uint8_t>(0) + label * channels;
    for (int c = 0; c < channels; ++c) entry[c] = cv::saturate_cast<uint8_t>(color[c]);
  }
  return palette;
}

// Text on a dark band, so that it reads on any background.
void Label(cv::Mat& canvas, const std::string& text, cv::Point origin, double font_scale, ImageFormat format) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font_scale, 1, &baseline);
  cv::rectangle(canvas, origin + cv::Point(-2, baseline), origin + cv::Point(size.width + 2, -size.height - 2),
                RgbInFormat({0, 0, 0}, format), cv::FILLED);
  cv::putText(canvas, text, origin, cv::FONT_HERSHEY_SIMPLEX, font_scale, RgbInFormat({255, 255, 255}, format), 1,
              cv::LINE_AA);
}

int LineHeight(double font_scale) {
  int baseline = 0;
  return cv::getTextSize("Ag", cv::FONT_HERSHEY_SIMPLEX, font_scale, 1, &baseline).height + baseline + 6;
}

void DrawLegend(cv::Mat& canvas, ImageFormat format, const SegmentationMask& mask, double font_scale) {
  const std::array<int64_t, 256> histogram = mask.LabelPixelCounts();
  const int line_height = LineHeight(font_scale);
  const int swatch = line_height - 6;
  int y = line_height;
  for (int label = 1; label < 256; ++label) {
    if (histogram[label] == 0) continue;
    const std::string& name = mask.LabelName(label);
    const std::string text = name.empty() ? std::to_string(label) : name;
    int baseline = 0;
    const int width = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font_scale, 1, &baseline).width;
    const int x = canvas.cols - width - swatch - 10;
    cv::rectangle(canvas, {x, y - swatch}, {x + swatch, y}, RgbInFormat(LabelColor(label), format), cv::FILLED);
    Label(canvas, text, {x + swatch + 6, y}, font_scale, format);
    y += line_height;
  }
}
}  // namespace

cv::Vec3b LabelColor(int index) {
  // PASCAL VOC's colour map: the bits of the index spread over the high bits of R, G and B.
  int r = 0, g = 0, b = 0;
  for (int shift = 7, value = index; value > 0 && shift >= 0; --shift, value >>= 3) {
    r |= (value & 1) << shift;
    g |= ((value >> 1) & 1) << shift;
    b |= ((value >> 2) & 1) << shift;
  }
  return {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
}

Status DrawSegmentationMask(cv::Mat& canvas, ImageFormat format, const SegmentationMask& mask, double alpha,
                            cv::Vec3b probability_rgb, double font_scale) {
  if (mask.mask.size() != canvas.size()) {
    return InvalidArgumentError("the segmentation mask is {}x{}, the frame {}x{} (project the mask onto the frame)",
                                mask.width(), mask.height(), canvas.cols, canvas.rows);
  }
  const int channels = canvas.channels();
  if (mask.kind == SegmentationMask::Kind::kLabels) {
    cv::Mat labels_per_channel, colored, blended;
    cv::merge(std::vector<cv::Mat>(channels, mask.mask), labels_per_channel);
    cv::LUT(labels_per_channel, Palette(format, channels), colored);
    cv::addWeighted(canvas, 1.0 - alpha, colored, alpha, 0.0, blended);
    blended.copyTo(canvas, mask.mask != 0);  // background stays as it was
    DrawLegend(canvas, format, mask, font_scale);
    return OkStatus();
  }
  cv::Mat color(canvas.size(), canvas.type(), RgbInFormat(probability_rgb, format));
  cv::Mat weight = mask.mask * alpha, keep = 1.0 - weight, blended;
  cv::blendLinear(canvas, color, keep, weight, blended);
  canvas = blended;
  return OkStatus();
}

void DrawClassifications(cv::Mat& canvas, ImageFormat format, const std::vector<Classification>& classifications,
                         double font_scale) {
  const int line_height = LineHeight(font_scale);
  const int swatch = line_height - 6;
  int y = line_height;
  for (const Classification& classification : classifications) {
    const std::string name = classification.label.empty() ? fmt::format("class {}", classification.index)
                                                          : classification.label;
    cv::rectangle(canvas, {6, y - swatch}, {6 + swatch, y}, RgbInFormat(LabelColor(classification.index), format),
                  cv::FILLED);
    Label(canvas, fmt::format("{} {:.2f}", name, classification.score), {12 + swatch, y}, font_scale, format);
    y += line_height;
  }
}

}  // namespace edgepipe
