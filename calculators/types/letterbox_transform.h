// LetterboxTransform: how LetterboxCalculator placed a source image inside its
// fixed-size output (uniform scale, then padding), so that results computed on
// the letterboxed image (detections, keypoints) can be projected back.
//
// Coordinates are continuous pixel coordinates: pixel (i, j) covers
// [i, i+1) × [j, j+1), its centre is (i + 0.5, j + 0.5). In these coordinates a
// resize is exactly x' = x * scale, so the mapping is affine and invertible.
#pragma once

#include <opencv2/core/types.hpp>

namespace edgepipe {

struct LetterboxTransform {
  int source_width = 0, source_height = 0;  // the input image
  int target_width = 0, target_height = 0;  // the letterboxed output
  // The resized content is (source * scale) rounded to whole pixels, so the two
  // axes may differ by a fraction of a pixel; each axis keeps its own scale.
  double scale_x = 1.0, scale_y = 1.0;
  double pad_left = 0.0, pad_top = 0.0;  // where the content starts in the output

  cv::Point2d SourceToTarget(cv::Point2d source) const {
    return {source.x * scale_x + pad_left, source.y * scale_y + pad_top};
  }
  cv::Point2d TargetToSource(cv::Point2d target) const {
    return {(target.x - pad_left) / scale_x, (target.y - pad_top) / scale_y};
  }
  // Normalised [0,1] coordinates of the letterboxed image → normalised
  // coordinates of the source image (what detection decoders produce and need).
  cv::Point2d NormalizedTargetToSource(cv::Point2d normalized) const {
    cv::Point2d source = TargetToSource({normalized.x * target_width, normalized.y * target_height});
    return {source.x / source_width, source.y / source_height};
  }
};

// The transform that fits a source_width × source_height image into
// target_width × target_height with a uniform scale, centred or top-left
// (defined with LetterboxCalculator).
LetterboxTransform ComputeLetterbox(int source_width, int source_height, int target_width, int target_height,
                                    bool center = true);

}  // namespace edgepipe
