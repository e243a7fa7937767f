// The label map a .tflite file carries: TFLite metadata stores associated files
// (imagenet_labels.txt, ...) in a zip archive appended to the model, uncompressed
// so they can be read in place. `edgepipe bench --accuracy` names classes with it
// when no --labels file is given.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace edgepipe::tools {

// Name → contents of the stored (uncompressed) files of the zip appended to
// `path`; empty when the file has none. Compressed entries are skipped.
Result<std::vector<std::pair<std::string, std::string>>> AppendedZipFiles(const std::string& path);

// The lines of the model's label file: the associated .txt file whose name holds
// "label" (or the only .txt file); empty when the model carries none.
Result<std::vector<std::string>> EmbeddedLabelMap(const std::string& model_path);

}  // namespace edgepipe::tools
