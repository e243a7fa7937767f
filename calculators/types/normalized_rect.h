// NormalizedRect: a possibly rotated region of interest of an image, the crop
// that ImageToTensorCalculator turns into a model input (MediaPipe's
// NormalizedRect: landmark models run on a ROI found by a detector).
//
// Centre and size are normalised to the image (x by its width, y by its
// height); rotation is in radians, clockwise on screen (image y points down),
// about the centre. Rect is the same in pixels.
#pragma once

#include <nlohmann/json.hpp>

namespace edgepipe {

struct NormalizedRect {
  float x_center = 0.5f, y_center = 0.5f;
  float width = 1.0f, height = 1.0f;
  float rotation = 0.0f;
};

struct Rect {
  float x_center = 0.0f, y_center = 0.0f;  // pixels
  float width = 0.0f, height = 0.0f;       // pixels
  float rotation = 0.0f;                   // radians
};

inline void to_json(nlohmann::json& json, const NormalizedRect& rect) {
  json = nlohmann::json{{"x_center", rect.x_center}, {"y_center", rect.y_center}, {"width", rect.width},
                        {"height", rect.height},     {"rotation", rect.rotation}};
}
inline void to_json(nlohmann::json& json, const Rect& rect) {
  json = nlohmann::json{{"x_center", rect.x_center}, {"y_center", rect.y_center}, {"width", rect.width},
                        {"height", rect.height},     {"rotation", rect.rotation}};
}

}  // namespace edgepipe
