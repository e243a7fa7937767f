// Each `edgepipe` sub-command lives in its own tools/cmd_*.cc and adds itself
// to the CLI through one function declared here (called from main.cc).
#pragma once

#include <CLI/CLI.hpp>

namespace edgepipe::tools {

// Exit code a sub-command sets for main() to return.
int& ExitCode();

void AddInspectCommand(CLI::App& app);
void AddInferCommand(CLI::App& app);
void AddBenchGraphCommand(CLI::App& app);
void AddBenchCommand(CLI::App& app);
void AddRunCommand(CLI::App& app);
void AddCatalogueCommands(CLI::App& app);
void AddVizCommand(CLI::App& app);

}  // namespace edgepipe::tools
