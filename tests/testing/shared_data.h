// Paths to ../shared/models and ../shared/media for tests. A user's clone may
// not have that folder: tests then skip with a message saying so. CI always
// has it, and there EDGEPIPE_REQUIRE_SHARED=1 turns the skip into a failure.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace edgepipe::testing {

inline std::filesystem::path SharedDir() {
  if (const char* env = std::getenv("EDGEPIPE_SHARED_DIR")) return env;
  return EDGEPIPE_SHARED_DIR;
}
inline std::string ModelPath(const std::string& name) { return (SharedDir() / "models" / name).string(); }
inline std::string MediaPath(const std::string& name) { return (SharedDir() / "media" / name).string(); }

inline bool SharedRequired() {
  const char* env = std::getenv("EDGEPIPE_REQUIRE_SHARED");
  return env != nullptr && std::string(env) == "1";
}

}  // namespace edgepipe::testing

// Use at the top of a test that reads `path` from ../shared.
#define EDGEPIPE_REQUIRE_SHARED_FILE(path)                                                 \
  do {                                                                                     \
    if (!std::filesystem::exists(path)) {                                                  \
      if (::edgepipe::testing::SharedRequired()) FAIL() << "missing shared file " << (path); \
      GTEST_SKIP() << "shared file " << (path)                                             \
                   << " is absent (clone without ../shared); skipping";                    \
    }                                                                                      \
  } while (0)
