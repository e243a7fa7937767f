// edgepipe: run graphs, inspect and benchmark models, browse calculators.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "tools/commands.h"

namespace edgepipe::tools {
int& ExitCode() {
  static int code = 0;
  return code;
}
}  // namespace edgepipe::tools

int main(int argc, char** argv) {
  CLI::App app{"edgepipe: real-time on-device ML pipelines (graphs of calculators, TFLite on XNNPACK)"};
  app.set_version_flag("--version", std::string("edgepipe ") + EDGEPIPE_VERSION);
  app.require_subcommand(1);
  edgepipe::tools::AddRunCommand(app);
  edgepipe::tools::AddCatalogueCommands(app);
  edgepipe::tools::AddInspectCommand(app);
  edgepipe::tools::AddInferCommand(app);
  edgepipe::tools::AddBenchGraphCommand(app);
  edgepipe::tools::AddBenchCommand(app);
  edgepipe::tools::AddQuantizeCommand(app);
  edgepipe::tools::AddMotEvalCommand(app);
  edgepipe::tools::AddVizCommand(app);
  CLI11_PARSE(app, argc, argv);
  return edgepipe::tools::ExitCode();
}
