#include "calculators/vision/landmark_drawing.h"

#include <cmath>

#include <opencv2/imgproc.hpp>

namespace edgepipe {

void DrawLandmarks(cv::Mat& canvas, const LandmarkList& list, const LandmarkStyle& style) {
  const int count = static_cast<int>(list.landmarks.size());
  auto pixel = [&](const Landmark& landmark) {
    return cv::Point(static_cast<int>(std::lround(landmark.x * canvas.cols)),
                     static_cast<int>(std::lround(landmark.y * canvas.rows)));
  };
  auto shown = [&](int index) { return index >= 0 && index < count && list.landmarks[index].score >= style.min_score; };
  for (const auto& [a, b] : list.connections) {
    if (!shown(a) || !shown(b)) continue;
    cv::line(canvas, pixel(list.landmarks[a]), pixel(list.landmarks[b]), style.line_color, style.thickness, cv::LINE_AA);
  }
  if (style.radius <= 0) return;
  for (int i = 0; i < count; ++i) {
    if (!shown(i)) continue;
    cv::circle(canvas, pixel(list.landmarks[i]), style.radius, style.point_color, cv::FILLED, cv::LINE_AA);
  }
}

}  // namespace edgepipe
