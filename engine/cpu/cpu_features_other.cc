// Every architecture but x86-64 (engine/CMakeLists.txt picks this file there).
#include <fstream>
#include <string>

#include "engine/cpu/cpu_features_arch.h"

namespace edgepipe::engine::arch {

bool X86HasAvxVnni() { return false; }

std::string CpuModelName() {
  // aarch64 kernels report no model name; "model name", "Hardware" or "CPU part" lines say what there is.
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  for (const char* key : {"model name", "Hardware", "CPU part"}) {
    in.clear();
    in.seekg(0);
    while (std::getline(in, line)) {
      if (line.rfind(key, 0) != 0) continue;
      const size_t colon = line.find(':');
      const size_t value = colon == std::string::npos ? colon : line.find_first_not_of(' ', colon + 1);
      if (value != std::string::npos) return line.substr(value);
    }
  }
  return "unknown";
}

}  // namespace edgepipe::engine::arch
