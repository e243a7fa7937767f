// Drawing landmark lists (points and skeleton lines) on a frame, for
// AnnotationOverlayCalculator's LANDMARKS input; kept apart from the
// detection drawing so that each overlay element lives in its own file.
#pragma once

#include <opencv2/core.hpp>

#include "calculators/types/landmarks.h"

namespace edgepipe {

struct LandmarkStyle {
  cv::Scalar point_color;
  cv::Scalar line_color;
  int radius = 3;
  int thickness = 2;
  float min_score = 0.0f;  // points (and lines touching them) below this score are not drawn
};

// Draws `list` (normalised to `canvas`) onto `canvas`: connections first, then points.
void DrawLandmarks(cv::Mat& canvas, const LandmarkList& list, const LandmarkStyle& style);

}  // namespace edgepipe
