#include "tools/machine_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <google/protobuf/stubs/common.h>
#include <opencv2/core/version.hpp>

namespace edgepipe::tools {

using nlohmann::json;

long ProcStatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  const size_t n = std::strlen(field);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0 && line.size() > n && line[n] == ':') return std::atol(line.c_str() + n + 1);
  return 0;
}

namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

json MachineInfo() {
  json m;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon + 2 > line.size()) continue;
    const std::string value = line.substr(colon + 2);
    // x86 names the CPU "model name" and its features "flags"; arm64 says "Features" (and often no name).
    if (!m.contains("cpu_model") && (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0))
      m["cpu_model"] = value;
    if (!m.contains("cpu_flags") && (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0))
      m["cpu_flags"] = value;
  }
  if (!m.contains("cpu_model")) m["cpu_model"] = nullptr;
  if (!m.contains("cpu_flags")) m["cpu_flags"] = nullptr;
  m["cores"] = sysconf(_SC_NPROCESSORS_ONLN);
  const std::string governor = ReadFirstLine("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  m["governor"] = governor.empty() ? json(nullptr) : json(governor);
  utsname uts{};
  if (uname(&uts) == 0) m["kernel"] = fmt::format("{} {} {}", uts.sysname, uts.release, uts.machine);
  m["versions"] = {{"edgepipe", EDGEPIPE_VERSION},
                   {"opencv", CV_VERSION},
                   {"protobuf", google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION)},
                   {"fmt", fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
                   {"nlohmann_json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                                 NLOHMANN_JSON_VERSION_PATCH)},
                   {"compiler", __VERSION__}};
#ifdef EDGEPIPE_GIT_HASH
  m["versions"]["edgepipe_git"] = EDGEPIPE_GIT_HASH;
#endif
  return m;
}

}  // namespace edgepipe::tools
