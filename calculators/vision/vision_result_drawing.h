// Drawing classifications and segmentation masks onto a frame, for
// AnnotationOverlayCalculator (kept apart from its detection drawing).
//
// Colours are stable per label: label i always gets the same colour (the
// PASCAL VOC colour map, bit-interleaved from i), in every frame and graph.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "calculators/types/classification.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/segmentation_mask.h"

namespace edgepipe {

// An RGB colour as a cv::Scalar in `format`'s channel order (grey: luma).
cv::Scalar RgbInFormat(cv::Vec3b rgb, ImageFormat format);

// The RGB colour of label `index` (0 → black: background).
cv::Vec3b LabelColor(int index);

// The RGB colour of track `track_id`: saturated, bright, and far apart for
// consecutive IDs (hues stepped by the golden angle).
cv::Vec3b TrackColor(int track_id);

// Label masks: pixels of every label but 0 are blended with the label's
// colour (weight `alpha`) and a legend of the labels present is drawn at the
// top right. Probability masks: each pixel is blended with `probability_rgb`
// with weight alpha × probability. The mask must have the canvas' size.
Status DrawSegmentationMask(cv::Mat& canvas, ImageFormat format, const SegmentationMask& mask, double alpha,
                            cv::Vec3b probability_rgb, double font_scale);

// One line per class at the top left, "label 0.87" (index when unlabelled),
// on a dark band, with a swatch in the label's colour.
void DrawClassifications(cv::Mat& canvas, ImageFormat format, const std::vector<Classification>& classifications,
                         double font_scale);

}  // namespace edgepipe
