#include "calculators/vision/label_map.h"

#include <fstream>

namespace edgepipe {

Result<std::vector<std::string>> ReadLabelMap(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open label map '{}'", path);
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  return labels;
}

}  // namespace edgepipe
