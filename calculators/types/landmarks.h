// Landmarks: points a keypoint or landmark model found on an image (pose
// keypoints, hand or face landmarks), the payload of TensorsToLandmarks-
// Calculator, drawn by AnnotationOverlayCalculator (LANDMARKS), written by the
// JSON writer and received in Python as {"landmarks": [[x, y, z, score], …],
// "connections": [[a, b], …]}.
//
// x and y are normalised to the image the list refers to (as Detection); z is
// depth in the same units as x (model-specific, 0 when the model has none);
// score is the model's confidence or visibility for that point (1 when it has
// none). connections name the pairs of landmark indices a skeleton joins.
#pragma once

#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgepipe {

struct Landmark {
  float x = 0.0f, y = 0.0f, z = 0.0f;
  float score = 1.0f;
};

struct LandmarkList {
  std::vector<Landmark> landmarks;
  std::vector<std::pair<int, int>> connections;
};

inline void to_json(nlohmann::json& json, const Landmark& landmark) {
  json = nlohmann::json::array({landmark.x, landmark.y, landmark.z, landmark.score});
}
inline void to_json(nlohmann::json& json, const LandmarkList& list) {
  json = nlohmann::json{{"landmarks", list.landmarks}, {"connections", list.connections}};
}

}  // namespace edgepipe
