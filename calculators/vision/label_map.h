// Label maps: text files with one label per line, line i naming class i
// (imagenet_labels.txt, coco_labels.txt, pascal_voc_segmentation_labels.txt).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace edgepipe {

// The file's lines, without line ends (a Windows "\r\n" counts as one); NotFound when it cannot be read.
Result<std::vector<std::string>> ReadLabelMap(const std::string& path);

}  // namespace edgepipe
