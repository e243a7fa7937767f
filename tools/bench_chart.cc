#include "tools/bench_chart.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

extern char** environ;

namespace edgepipe::tools {

std::string PlotScriptPath() {
  if (const char* env = std::getenv("EDGEPIPE_PLOT_SCRIPT"); env && *env) return env;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "share/edgepipe/plot.py";
  return (exe.parent_path().parent_path() / "share" / "edgepipe" / "plot.py").string();
}

Status DrawBenchChart(const std::string& json_path, const std::string& png_path) {
  const std::string script = PlotScriptPath();
  if (!std::filesystem::is_regular_file(script))
    return NotFoundError("--chart: plot script '{}' does not exist (set EDGEPIPE_PLOT_SCRIPT to bench/plot.py)",
                         script);
  std::vector<std::string> args = {"python3", script, json_path, "--out", png_path};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (const int err = posix_spawnp(&pid, "python3", nullptr, nullptr, argv.data(), environ); err != 0)
    return UnavailableError("--chart: cannot start python3: {}", std::strerror(err));
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return InternalError("--chart: waiting for python3 failed");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return InternalError("--chart: '{}' failed (exit status {}); it needs python3 with matplotlib "
                         "(python3-matplotlib)",
                         script, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return OkStatus();
}

}  // namespace edgepipe::tools
