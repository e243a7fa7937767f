#include "calculators/types/segmentation_mask.h"

#include <opencv2/imgproc.hpp>

namespace edgepipe {

namespace {
// Normalised bounding box of the non-zero pixels of `binary`, or null when there are none.
nlohmann::json NormalisedBox(const cv::Mat& binary) {
  const cv::Rect box = cv::boundingRect(binary);
  if (box.area() == 0) return nullptr;
  const double width = binary.cols, height = binary.rows;
  return nlohmann::json::array({box.x / width, box.y / height, box.width / width, box.height / height});
}
}  // namespace

const std::string& SegmentationMask::LabelName(int index) const {
  static const std::string kNone;
  return index >= 0 && index < static_cast<int>(labels.size()) ? labels[index] : kNone;
}

std::array<int64_t, 256> SegmentationMask::LabelPixelCounts() const {
  std::array<int64_t, 256> counts{};
  for (int y = 0; y < mask.rows; ++y) {
    const uint8_t* row = mask.ptr<uint8_t>(y);
    for (int x = 0; x < mask.cols; ++x) ++counts[row[x]];
  }
  return counts;
}

nlohmann::json SegmentationMaskToJson(const SegmentationMask& mask) {
  nlohmann::json json = {{"kind", mask.kind == SegmentationMask::Kind::kLabels ? "labels" : "probability"},
                         {"width", mask.width()},
                         {"height", mask.height()}};
  const double pixels = static_cast<double>(mask.mask.total());
  if (mask.mask.empty()) return json;
  if (mask.kind == SegmentationMask::Kind::kLabels) {
    const std::array<int64_t, 256> histogram = mask.LabelPixelCounts();
    json["classes"] = nlohmann::json::array();
    for (int label = 0; label < 256; ++label) {
      if (histogram[label] == 0) continue;
      cv::Mat binary = mask.mask == label;
      json["classes"].push_back({{"index", label},
                                 {"label", mask.LabelName(label)},
                                 {"fraction", static_cast<double>(histogram[label]) / pixels},
                                 {"box", NormalisedBox(binary)}});
    }
  } else {
    cv::Mat foreground = mask.mask >= kForegroundProbability;
    json["threshold"] = kForegroundProbability;
    json["foreground_fraction"] = cv::countNonZero(foreground) / pixels;
    json["mean_probability"] = cv::mean(mask.mask)[0];
    json["box"] = NormalisedBox(foreground);
  }
  return json;
}

}  // namespace edgepipe
