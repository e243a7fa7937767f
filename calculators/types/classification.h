// Classification: one class of an image classifier's output, the payload of
// TensorsToClassificationsCalculator (a std::vector<Classification>, best
// first) for the overlay, JSON lines and Python.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgepipe {

struct Classification {
  int index = 0;       // class index in the model's output
  float score = 0.0f;  // the model's score (dequantized; a probability for softmax outputs)
  std::string label;   // from the label map; empty without one
};

// nlohmann conversion, found by ADL; std::vector<Classification> follows.
inline void to_json(nlohmann::json& json, const Classification& classification) {
  json = nlohmann::json{{"index", classification.index}, {"score", classification.score}, {"label", classification.label}};
}

}  // namespace edgepipe
