// Runs the `edgepipe` command line (EDGEPIPE_CLI_PATH) as a subprocess for the
// tests in tests/tools/.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace edgepipe {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

inline std::string Quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// A directory of the current test's own, created: ctest runs tests in parallel
// processes, so the name holds the test's name and the process id.
inline std::filesystem::path PerTestDir(const std::string& prefix) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      fmt::format("{}_{}_{}", prefix, ::testing::UnitTest::GetInstance()->current_test_info()->name(), getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs `edgepipe ARGS` from the source directory (graphs/ paths are relative to it).
inline CliResult RunCli(const std::vector<std::string>& args) {
  const std::filesystem::path dir = PerTestDir("edgepipe_cli");
  std::string command = std::string("cd ") + Quote(EDGEPIPE_SOURCE_DIR) + " && " + Quote(EDGEPIPE_CLI_PATH);
  for (const std::string& arg : args) command += " " + Quote(arg);
  command += " >" + Quote((dir / "out").string()) + " 2>" + Quote((dir / "err").string()) + " </dev/null";
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadFile(dir / "out");
  result.err = ReadFile(dir / "err");
  return result;
}

}  // namespace edgepipe
